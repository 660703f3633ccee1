"""Learning, not just running (slow: minutes on 2 CPU cores; run with `pytest -m slow`).

Figures from real runs are in the README. Each test trains a CPU preset from scratch and compares the analytic
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


def _metric(G, cfg, name: str = "class_acc", n: int = 270) -> float:
    """One result of the metric that reports ``name`` (e.g. ``continuation_kept`` of ``continuation``)."""
    ds = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=123)
    metric = name.split("_kept")[0]
    return evaluate_generator(G, cfg, ds, torch.device("cpu"), metrics=[metric], num_samples=n)[name]


# Targets of issue 22, judged strictly (dvdgan.data.judge). Not met yet: docs/results.md section 15 has the
# measurements (the shipped default run: strict accuracy 0.04, speed ratio 0.63-0.92, net displacement 0.54).
NOT_YET = pytest.mark.xfail(reason="issue 22's strict targets are not reached at this size yet (docs/results.md "
                                   "section 15)", strict=False)


@NOT_YET  # strict accuracy stays near 0 at 1,200 steps of `tiny` (0.04 at 3,000)
@pytest.mark.parametrize(
    ("preset", "steps"),
    [
        ("tiny", 1200),  # shapes: does a sample show the shape and colour it was conditioned on?
        ("tiny-fp", 3000),  # motion: do the predicted frames keep the context's object and continue its motion?
    ],
)
def test_training_raises_class_accuracy(preset: str, steps: int, tmp_path: Path) -> None:
    from dvdgan.training.checkpoint import load_checkpoint

    cfg = load_preset(preset).override([f"train.steps={steps}", "train.sample_every=0", "train.eval_every=0",
                                        "train.device=cpu"])
    untrained_G = Generator(cfg.model)
    untrained = _metric(untrained_G, cfg)
    result = train(cfg, tmp_path, quiet=True)
    trained_G = load_checkpoint(result.last_checkpoint).G_ema
    trained = _metric(trained_G, cfg)
    # 270 samples: the accuracy's standard error is ~0.02, so 0.08 is a clear margin.
    assert trained > untrained + 0.08, (untrained, trained)
    if cfg.model.context_frames:
        # DVD-GAN-FP's first stage: each prediction keeps its context's object (colour and shape).
        before, after = (_metric(G, cfg, "continuation_kept", n=128) for G in (untrained_G, trained_G))
        assert after > before + 0.3, (before, after)


@pytest.fixture(scope="module")
def default_run_metrics(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`dvdgan train` with no arguments (the `tiny` preset, its 3,000 steps), then G_ema on 270 held-out clips."""
    from dvdgan.training.checkpoint import load_checkpoint

    cfg = load_preset("tiny").override(["train.sample_every=0", "train.eval_every=0", "train.device=cpu"])
    result = train(cfg, tmp_path_factory.mktemp("default"), quiet=True)
    G = load_checkpoint(result.last_checkpoint).G_ema
    ds = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=123)
    return evaluate_generator(G, cfg, ds, torch.device("cpu"), metrics=["class_acc", "motion", "travel"],
                              num_samples=270)


@NOT_YET
def test_default_run_travels_like_its_data(default_run_metrics: dict) -> None:
    """The object's speed is 0.7-1.4x the data's at every frame step, it gets >= 0.7 as far over the clip, and its
    area varies at most 1.5x as much as a real object's."""
    m = default_run_metrics
    assert m["travel_speed_ratio_min"] >= 0.7 and m["travel_speed_ratio_max"] <= 1.4, m["travel_speed_ratio"]
    assert m["travel_net_ratio"] >= 0.7 and m["travel_area_swing_ratio"] <= 1.5, m


@NOT_YET
def test_default_run_shows_its_classes(default_run_metrics: dict) -> None:
    m = default_run_metrics
    assert m["class_acc"] >= 0.8 and m["class_acc_worst"] >= 0.5, m["class_acc_per_class"]


@NOT_YET
def test_temporal_discriminator_teaches_motion_classes(tmp_path: Path) -> None:
    """`tiny-motion`: classes exist only in time, so DVD-GAN must beat its D_S-only ablation at equal budget."""
    from dvdgan.training.checkpoint import load_checkpoint

    accuracy = {}
    for arm, parts in (("both", "[spatial, temporal]"), ("spatial", "[spatial]")):
        cfg = load_preset("tiny-motion").override(["train.steps=1200", "train.sample_every=0", "train.eval_every=0",
                                                   "train.device=cpu", f"model.discriminator.parts={parts}"])
        G = load_checkpoint(train(cfg, tmp_path / arm, quiet=True).last_checkpoint).G_ema
        accuracy[arm] = _metric(G, cfg, n=400)
    assert accuracy["both"] >= 0.6 and accuracy["both"] >= accuracy["spatial"] + 0.15, accuracy
