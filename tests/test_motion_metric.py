"""The motion-energy metric: per-step mean |x[t+1] - x[t]| against clips whose motion is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from dvdgan.config import DataConfig
from dvdgan.data import build_dataset
from dvdgan.metrics import compare_motion, motion_profile


def _sliding_square(speeds: list[int], size: int = 32, side: int = 6, value: int = 200) -> np.ndarray:
    """One grey square per clip on black that moves right by speeds[t] pixels at step t: [1, T, H, W, 3]."""
    frames, x = [], 2
    for step in [0, *speeds]:
        x += step
        frame = np.zeros((size, size, 3), np.uint8)
        frame[10 : 10 + side, x : x + side] = value
        frames.append(frame)
    return np.stack(frames)[None]


def test_profile_matches_closed_form() -> None:
    side, value, size = 6, 200, 32
    speeds = [1, 2, 0, 3, 6]
    profile = motion_profile(_sliding_square(speeds, size, side, value))
    # A shift by s < side uncovers s columns and covers s others; s >= side moves the whole square.
    expected = [2 * min(s, side) * side * value / (size * size) for s in speeds]
    assert profile == pytest.approx(expected)
    assert profile[2] == 0.0  # the frozen step


def test_profile_averages_over_clips_and_streams() -> None:
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (70, 5, 8, 8, 3), dtype=np.uint8)  # more than one internal chunk
    expected = np.abs(np.diff(clips.astype(float), axis=1)).mean(axis=(0, 2, 3, 4))
    assert motion_profile(clips) == pytest.approx(expected)
    assert motion_profile(iter(list(clips))) == pytest.approx(expected)


def test_comparison_flags_a_generator_that_freezes() -> None:
    real = np.concatenate([_sliding_square([2, 2, 2, 2])] * 3)
    frozen = np.concatenate([_sliding_square([4, 2, 0, 0])] * 3)
    cmp = compare_motion(frozen, real)
    assert cmp.ratio == pytest.approx((2.0, 1.0, 0.0, 0.0))
    assert (cmp.min_ratio, cmp.max_ratio) == (0.0, 2.0)
    d = cmp.as_dict()
    assert d["motion_ratio_min"] == 0.0 and d["motion_ratio_max"] == 2.0 and len(d["motion_fake"]) == 4
    same = compare_motion(real, real)
    assert same.min_ratio == same.max_ratio == 1.0


def test_real_procedural_data_moves_at_every_step() -> None:
    for source in ("shapes", "motion"):
        ds = build_dataset(DataConfig(source=source), 8, 32, seed=0)
        profile = motion_profile(iter(np.asarray(ds[i][0]) for i in range(40)))
        assert profile.min() > 0.5 and profile.max() / profile.min() < 1.5, (source, profile)


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="T>=2"):
        motion_profile(np.zeros((2, 1, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\[N, T, H, W, C\]"):
        motion_profile(np.zeros((4, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="frames"):
        compare_motion(np.zeros((2, 4, 8, 8, 3), np.uint8), np.zeros((2, 5, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="at least one clip"):
        motion_profile(iter([]))
