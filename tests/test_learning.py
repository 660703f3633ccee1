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
FP_STEPS = 2000  # tiny-fp: colour agreement 0.13 at step 1,000, 0.81 at 1,500 in the README's run


def _metric(G, cfg, name: str = "class_acc", n: int = 270) -> float:
    ds = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=123)
    return evaluate_generator(G, cfg, ds, torch.device("cpu"), metrics=[name], num_samples=n)[name]


@pytest.mark.parametrize(
    "preset",
    [
        "tiny",  # shapes: does a sample show the shape and colour it was conditioned on?
        pytest.param(
            "tiny-fp",  # motion: do the predicted frames continue the context's motion?
            marks=pytest.mark.xfail(reason="not reached yet: ~chance on held-out contexts after 1,500 steps (README)"),
        ),
    ],
)
def test_training_raises_class_accuracy(preset: str, tmp_path: Path) -> None:
    from dvdgan.training.checkpoint import load_checkpoint

    cfg = load_preset(preset).override(["train.steps=1200", "train.sample_every=0", "train.eval_every=0",
                                        "train.device=cpu"])
    untrained = _metric(Generator(cfg.model), cfg)
    result = train(cfg, tmp_path, quiet=True)
    trained = _metric(load_checkpoint(result.last_checkpoint).G_ema, cfg)
    # 270 samples: the accuracy's standard error is ~0.02, so 0.08 is a clear margin.
    assert trained > untrained + 0.08, (untrained, trained)


def test_fp_predictions_keep_the_context(tmp_path: Path) -> None:
    """tiny-fp's first stage: predictions keep each context's object (its colour), before they continue its motion."""
    from dvdgan.training.checkpoint import load_checkpoint

    cfg = load_preset("tiny-fp").override([f"train.steps={FP_STEPS}", "train.sample_every=0", "train.eval_every=0",
                                           "train.device=cpu"])
    untrained = _metric(Generator(cfg.model), cfg, "context_colour", n=128)
    result = train(cfg, tmp_path, quiet=True)
    trained = _metric(load_checkpoint(result.last_checkpoint).G_ema, cfg, "context_colour", n=128)
    assert trained > 0.5 and trained > untrained + 0.3, (untrained, trained)
