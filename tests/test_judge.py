"""The strict judge of the built-in data (dvdgan.data.judge): real clips pass, and each way a clip can be wrong is
rejected with its own reason. Corruptions are made from real clips, so the only fault is the one added."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import ndimage

from dvdgan.data.continuation import continuation
from dvdgan.data.digits import MovingDigits
from dvdgan.data.judge import REASONS, measure_clip
from dvdgan.data.motion import MOTIONS, MotionClasses
from dvdgan.data.shapes import COLOURS, SHAPES, BouncingShapes
from dvdgan.data.travel import compare_travel
from dvdgan.metrics.class_accuracy import judged_accuracy

SHAPES_DATA = BouncingShapes(num_frames=8, resolution=32, seed=5)
MOTION_DATA = MotionClasses(num_frames=8, resolution=32, seed=5)


def _real(data, n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.stack([data.clip(i) for i in range(n)]), np.arange(n) % data.num_classes


@pytest.mark.parametrize(
    ("data", "n"),
    [(SHAPES_DATA, 180), (BouncingShapes(num_frames=16, resolution=64, seed=6), 45), (MOTION_DATA, 160),
     (MotionClasses(num_frames=4, resolution=32, seed=7), 80), (MovingDigits(num_frames=8, resolution=32), 100),
     (MovingDigits(num_frames=8, resolution=64, split="test"), 40)],
    ids=["shapes-32", "shapes-64", "motion-32", "motion-4f", "digits-32", "digits-64-test"],
)
def test_real_clips_pass(data, n: int) -> None:
    clips, labels = _real(data, n)
    verdicts = data.judge(clips, labels)
    assert np.mean([v is None for v in verdicts]) >= 0.98, Counter(verdicts)


def _shape_clips(shape: str, colour: str, n: int = 12) -> tuple[np.ndarray, int]:
    label = SHAPES.index(shape) * len(COLOURS) + COLOURS.index(colour)
    return np.stack([SHAPES_DATA.clip(i, label) for i in range(n)]), label


def _verdicts(data, clips: np.ndarray, label: int) -> Counter:
    return Counter(data.judge(clips, np.full(len(clips), label)))


def _assert_rejected(data, clips: np.ndarray, label: int, reason: str, share: float = 0.9) -> None:
    verdicts = _verdicts(data, clips, label)
    assert verdicts[reason] >= share * len(clips), verdicts


def test_faint_and_empty_clips() -> None:
    clips, label = _shape_clips("circle", "red")
    _assert_rejected(SHAPES_DATA, (clips * 0.35).astype(np.uint8), label, "faint")  # the look of a dim smudge
    empty = np.zeros_like(clips)
    empty[:, :, 3:5, 3:5] = 200  # a speck is not an object
    _assert_rejected(SHAPES_DATA, empty, label, "empty")
    one_dark_frame = clips.copy()
    one_dark_frame[:, 5] = 0  # every frame must show the object
    _assert_rejected(SHAPES_DATA, one_dark_frame, label, "empty")


def test_recoloured_clips() -> None:
    clips, label = _shape_clips("square", "red")
    _assert_rejected(SHAPES_DATA, clips[..., [1, 0, 2]], label, "wrong colour")  # now green: not the class's
    fringe = clips.copy()
    fringe[..., 2] = ndimage.shift(clips[..., 0], (0, 0, 2, 2), order=0)  # a blue copy offset: magenta fringes
    _assert_rejected(SHAPES_DATA, fringe, label, "wrong colour")
    moving, labels = _real(MOTION_DATA, 40)
    # Any colour is a real one in `motion`, but not one that changes halfway; near-grey objects (which a channel
    # rotation hardly changes, to the eye too) are left out.
    peak = moving.reshape(len(moving), -1, 3).max(axis=1).astype(float)
    vivid = (peak.max(axis=1) - peak.min(axis=1)) > 0.4 * peak.max(axis=1)
    drifting = moving[vivid].copy()
    drifting[:, 4:] = drifting[:, 4:, :, :, [2, 0, 1]]
    assert vivid.sum() >= 10 and Counter(MOTION_DATA.judge(drifting, labels[vivid]))["wrong colour"] == vivid.sum()


def _scaled(clip: np.ndarray, factor: float) -> np.ndarray:
    """Each frame scaled by ``factor`` about its object's centroid."""
    spec = SHAPES_DATA.object_spec()
    objs = measure_clip(spec, clip)
    out = np.empty_like(clip)
    for t, frame in enumerate(clip):
        centre = np.array([objs.cy[t], objs.cx[t]])
        for c in range(3):
            out[t, ..., c] = ndimage.affine_transform(frame[..., c].astype(np.float32), np.eye(2) / factor,
                                                      offset=centre - centre / factor, order=1)
    return out


def test_deforming_clips() -> None:
    clips, label = _shape_clips("circle", "blue")
    pulsing = clips.copy()
    pulsing[:, 1::2] = np.stack([_scaled(c, 1.15) for c in clips])[:, 1::2]  # still a circle, not the same one
    _assert_rejected(SHAPES_DATA, pulsing, label, "deforms")
    squashed = np.stack([ndimage.zoom(c, (1, 0.7, 1, 1), order=1) for c in clips])  # an ellipse, not a circle
    pad = (32 - squashed.shape[2]) // 2
    squashed = np.pad(squashed, ((0, 0), (0, 0), (pad, 32 - squashed.shape[2] - pad), (0, 0), (0, 0)))
    verdicts = _verdicts(SHAPES_DATA, squashed, label)
    assert verdicts["wrong shape"] + verdicts["wrong size"] >= 11, verdicts


def test_split_and_extra_objects() -> None:
    clips, label = _shape_clips("square", "green")
    spec = SHAPES_DATA.object_spec()
    split = clips.copy()
    for i, clip in enumerate(clips):
        objs = measure_clip(spec, clip)
        for t in range(len(clip)):
            y = int(round(objs.cy[t]))
            split[i, t, y - 1 : y + 2] = 0  # a 3-pixel cut through the middle
    _assert_rejected(SHAPES_DATA, split, label, "splits")
    far = []
    for clip in clips:
        objs = measure_clip(spec, clip)
        corner = (2, 2) if objs.cy.min() > 16 or objs.cx.min() > 16 else (24, 24)  # away from the object
        extra = clip.copy()
        extra[:, corner[0] : corner[0] + 6, corner[1] : corner[1] + 6] = clip.max(axis=(0, 1, 2))
        far.append(extra)
    _assert_rejected(SHAPES_DATA, np.stack(far), label, "extra objects", share=0.8)


def test_frozen_and_jittering_clips() -> None:
    clips, label = _shape_clips("triangle", "red")
    _assert_rejected(SHAPES_DATA, np.repeat(clips[:, :1], 8, axis=1), label, "does not travel")
    jitter = clips.copy()
    for t in range(1, 8, 2):
        jitter[:, t] = ndimage.shift(clips[:, t], (0, 2, 2, 0), order=0)  # every other frame 2 pixels off
    verdicts = _verdicts(SHAPES_DATA, jitter, label)
    assert verdicts["wrong motion"] >= 10, verdicts


def test_wrong_class() -> None:
    clips, label = _shape_clips("circle", "green")
    square = SHAPES.index("square") * len(COLOURS) + COLOURS.index("green")
    _assert_rejected(SHAPES_DATA, clips, square, "wrong shape")
    up = np.stack([MOTION_DATA.clip(i, MOTIONS.index("up")) for i in range(12)])
    _assert_rejected(MOTION_DATA, up, MOTIONS.index("down"), "wrong motion")
    _assert_rejected(MOTION_DATA, up, MOTIONS.index("clockwise"), "wrong motion")
    still = np.repeat(up[:, 3:4], 8, axis=1)
    _assert_rejected(MOTION_DATA, still, MOTIONS.index("up"), "does not travel")
    digits = MovingDigits(num_frames=8, resolution=32)
    sevens = np.stack([digits.clip(i, 7) for i in range(10)])
    assert _verdicts(digits, sevens, 7)[None] == 10
    _assert_rejected(digits, sevens, 1, "wrong shape")
    _assert_rejected(digits, sevens[..., [0, 0, 0]] * np.array([1.0, 0.3, 0.3]), 7, "wrong colour")  # red, not grey


def test_judged_accuracy_counts_reasons_per_class() -> None:
    acc = judged_accuracy([None, "empty", "faint", None, "empty"], np.array([0, 0, 1, 1, 1]), num_classes=3)
    assert acc.per_class[:2] == (0.5, 1 / 3) and np.isnan(acc.per_class[2])
    assert acc.reasons == {"empty": (1, 1, 0), "faint": (0, 1, 0)} and acc.no_object == 0.4
    assert acc.as_dict()["class_acc_reject/empty"] == 0.4
    assert set(acc.reasons) <= set(REASONS)


def test_travel_tells_travel_from_deformation() -> None:
    clips, _ = _real(SHAPES_DATA, 36)
    same = compare_travel(SHAPES_DATA, clips, _real(BouncingShapes(8, 32, seed=9), 36)[0])
    assert all(0.8 <= r <= 1.25 for r in same.speed_ratio), same.speed_ratio
    frozen = compare_travel(SHAPES_DATA, np.repeat(clips[:, :1], 8, axis=1), clips)
    assert max(frozen.speed_ratio) < 0.1 and frozen.net_ratio < 0.1
    pulsing = clips.copy()
    pulsing[:, 1::2] = np.stack([_scaled(c, 1.15) for c in clips])[:, 1::2]
    deformed = compare_travel(SHAPES_DATA, pulsing, clips)
    assert deformed.area_swing_ratio > 3 and min(deformed.fake.persistence) < min(deformed.real.persistence) - 0.05


def test_continuation_baselines_and_a_recoloured_prediction() -> None:
    clips, _ = _real(MOTION_DATA, 24)
    context, future = clips[:, :4], clips[:, 4:]
    real = continuation(MOTION_DATA, context, future, future)
    assert min(real.kept) == 1.0 and max(real.track_error) == 0.0
    repeat = continuation(MOTION_DATA, context, np.repeat(context[:, -1:], 4, axis=1), future)
    assert min(repeat.colour) == 1.0 and np.mean(repeat.track_error) > 0.5
    recoloured = continuation(MOTION_DATA, context, future[..., [1, 2, 0]], future)
    assert max(recoloured.colour) <= 0.2 and min(recoloured.shape) == 1.0
    lost = continuation(MOTION_DATA, context, np.zeros_like(future), future)
    assert max(lost.kept) == 0.0 and min(lost.track_error) > 40
