"""Which in-loop metrics a preset gets on given data (`adapt_metrics`) and what an explicit choice is told."""

from __future__ import annotations

import numpy as np
import pytest

from dvdgan.config import load_preset
from dvdgan.data import build_dataset
from dvdgan.training.metric_plan import _i3d_problem, adapt_metrics, check_metrics


def _fit(preset: str, source: str, *sets: str):
    cfg = load_preset(preset).override(["model.resolution=16", *sets]).with_values({"data.source": source})
    dataset = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution)
    return adapt_metrics(cfg, dataset), dataset


@pytest.fixture
def videos(tmp_path):
    path = tmp_path / "clips.npz"
    np.savez(path, clips=np.random.default_rng(0).integers(0, 256, (3, 16, 16, 16, 3), dtype=np.uint8))
    return str(path)


def test_built_in_data_keeps_the_preset_choice() -> None:
    cfg, _ = _fit("small", "shapes")  # 16 frames, but procedural: class accuracy and travel, not FVD
    assert cfg.eval.metrics == ["class_acc", "motion", "travel"] and cfg.eval.protocol == "fvd2048_16f"


def test_video_data_gets_motion_and_a_small_fvd(videos) -> None:
    fvd = _i3d_problem() is None
    cfg, _ = _fit("tiny", videos)  # 8 frames: FVD is undefined
    assert cfg.eval.metrics == ["motion"] and cfg.eval.protocol == "fvd2048_16f"
    cfg, _ = _fit("small", videos)
    assert cfg.eval.metrics == (["motion", "fvd"] if fvd else ["motion"])
    assert cfg.eval.protocol == ("fvd64_16f" if fvd else "fvd2048_16f")
    # A preset asking for FVD and IS on 12-frame clips names its protocol: it must fit (never switched silently,
    # tests/test_paper_presets.py), and is kept
    cfg, _ = _fit("tiny", videos, "model.num_frames=12", "model.discriminator.k_frames=4", "eval.metrics=[fvd, is]",
                  "eval.protocol=fvd64_12f")
    assert cfg.eval.metrics == (["fvd", "is", "motion"] if fvd else ["motion"])
    assert cfg.eval.protocol == "fvd64_12f"


def test_explicit_metrics_are_told_what_applies(videos) -> None:
    cfg = load_preset("tiny").override(["model.resolution=16", "eval.metrics=[class_acc]"])
    cfg = cfg.with_values({"data.source": videos})
    dataset = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution)
    with pytest.raises(ValueError) as info:
        check_metrics(cfg, dataset)
    assert str(info.value) == (f"class_acc needs built-in data with a class rule (shapes, motion, digits), not "
                               f"{videos!r}. Metrics that apply to this model and data: motion")
