"""Learning, not just running (slow: minutes on 2 CPU cores; run with `pytest -m slow`).

Figures from a real run are in the README. Each test trains a CPU preset from scratch and compares the analytic
class accuracy of the trained G_ema with the untrained generator's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dvdgan.config import load_preset
from dvdgan.data import build_dataset
from dvdgan.models import Generator
from dvdgan.training.evaluate import evaluate_generator
from dvdgan.training.loop import train

pytestmark = pytest.mark.slow


def _class_acc(G, cfg, n: int = 270) -> float:
    ds = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=123)
    return evaluate_generator(G, cfg, ds, torch.device("cpu"), metrics=["class_acc"], num_samples=n)["class_acc"]


def test_tiny_learns_the_classes_of_shapes(tmp_path: Path) -> None:
    cfg = load_preset("tiny").override(["train.steps=1000", "train.sample_every=0", "train.eval_every=0",
                                        "train.device=cpu"])
    untrained = _class_acc(Generator(cfg.model), cfg)
    result = train(cfg, tmp_path, quiet=True)
    from dvdgan.training.checkpoint import load_checkpoint

    trained = _class_acc(load_checkpoint(result.last_checkpoint).G_ema, cfg)
    assert trained > untrained + 0.1, (untrained, trained)


def test_tiny_fp_continues_the_motion(tmp_path: Path) -> None:
    cfg = load_preset("tiny-fp").override(["train.steps=1000", "train.sample_every=0", "train.eval_every=0",
                                           "train.device=cpu"])
    untrained = _class_acc(Generator(cfg.model), cfg)
    result = train(cfg, tmp_path, quiet=True)
    from dvdgan.training.checkpoint import load_checkpoint

    trained = _class_acc(load_checkpoint(result.last_checkpoint).G_ema, cfg)
    assert trained > untrained + 0.1, (untrained, trained)
