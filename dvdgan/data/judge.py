"""The strict judge of the built-in data: does a clip show class ``c`` the way the data shows it?

The procedural datasets render their clips themselves, so they know what a real object looks like: its
brightness, colour, size, shape, and the tracks it can follow. A clip counts as class ``c`` only if, in every
frame, one object is visible at the data's own contrast, has the data's colour and size and c's shape, and moves
as one rigid object along a track the data could produce. A rejected clip gets the first reason it fails, in the
order of ``REASONS``. The thresholds are the data's own ranges with a margin, chosen so that real clips pass
(tests/test_judge.py checks real clips and one corruption per reason).

Each dataset supplies an ``ObjectSpec`` and three checks (colour, shape, track); ``judge_clip`` runs the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dvdgan.data.objects import EMPTY, EXTRA, FAINT, SPLIT, FrameObjects, measure_objects, persistence

REASONS = ("empty", "faint", "extra objects", "splits", "wrong colour", "wrong size", "wrong shape", "deforms",
           "does not travel", "wrong motion")
_FAINT_PEAK = 0.75  # an object whose 90th-percentile brightness is below this share of the dimmest real one
_AREA_MARGIN = (0.7, 1.4)  # sizes outside the data's range by more than this are wrong
_HUE_DRIFT = 0.15  # L1 chromaticity range over a clip: a real object keeps its colour
_OFF_HUE_SHARE = 0.2  # share of an object's pixels of another hue (a fringe) that makes its colour wrong


@dataclass(frozen=True)
class ObjectSpec:
    """What the data's real objects are, at one frame size (uint8 brightness units and pixels)."""

    level: float  # the dimmest real object's brightest channel over the background
    area: tuple[float, float]  # smallest and largest real object area (coverage, pixels)
    max_radius: float  # half the largest real object's extent
    min_persistence: float  # least shape persistence of a real object from one frame to the next
    max_area_swing: float  # largest ratio of an object's area to itself within a clip, around its trend
    similarity: bool = False  # real objects rotate and zoom (persistence aligns orientation and scale)
    area_trend: bool = False  # real objects' area changes log-linearly over a clip (zoom)
    join: int = 0  # pieces this many pixels apart are one object (strokes of a digit)


def measure_clip(spec: ObjectSpec, clip: np.ndarray) -> FrameObjects:
    """Object measurements of one clip ``[T, H, W, C]`` against ``spec``."""
    return measure_objects(np.asarray(clip, np.float32), spec.level, spec.area[0], spec.max_radius, spec.join)


def presence_reason(spec: ObjectSpec, objs: FrameObjects) -> str | None:
    """empty / faint / extra objects / splits, from the worst frame; None when each frame shows one object."""
    for code, reason in ((EMPTY, "empty"), (FAINT, "faint")):
        if (objs.status == code).any():
            return reason
    if (objs.peak < _FAINT_PEAK * spec.level).any():
        return "faint"
    for code, reason in ((EXTRA, "extra objects"), (SPLIT, "splits")):
        if (objs.status == code).any():
            return reason
    return None


def chroma(colour: np.ndarray) -> np.ndarray:
    """Chromaticity ``[..., 3]`` (each channel's share of the sum) of colours ``[..., 3]``."""
    return colour / np.maximum(colour.sum(axis=-1, keepdims=True), 1e-6)


def colour_unsteady(objs: FrameObjects) -> bool:
    """True when the object's hue changes within the clip or part of it has another hue than its core."""
    hue = chroma(objs.colour)
    drift = (hue.max(axis=0) - hue.min(axis=0)).sum()
    return bool(drift > _HUE_DRIFT or (objs.off_hue > _OFF_HUE_SHARE).any())


def deforms(spec: ObjectSpec, objs: FrameObjects) -> bool:
    """True when the object changes shape from frame to frame (persistence) or its area swings, beyond the data."""
    if len(objs.area) < 2:
        return False
    if persistence(objs, spec.similarity).min() < spec.min_persistence:
        return True
    log_area = np.log(objs.area)
    if spec.area_trend:
        t = np.arange(len(log_area))
        log_area = log_area - np.polyval(np.polyfit(t, log_area, 1), t)
    return bool(np.exp(log_area.max() - log_area.min()) > spec.max_area_swing)


def judge_clip(dataset, clip: np.ndarray, label: int) -> str | None:
    """The first reason (``REASONS``) why ``clip`` is not a real-looking clip of class ``label``; None if it is."""
    spec = dataset.object_spec()
    objs = measure_clip(spec, clip)
    reason = presence_reason(spec, objs)
    if reason:
        return reason
    if colour_unsteady(objs) or dataset.colour_wrong(objs, label):
        return "wrong colour"
    low, high = spec.area[0] * _AREA_MARGIN[0], spec.area[1] * _AREA_MARGIN[1]
    if ((objs.area < low) | (objs.area > high)).any():
        return "wrong size"
    if dataset.shape_wrong(objs, label):
        return "wrong shape"
    if deforms(spec, objs):
        return "deforms"
    return dataset.track_reason(objs, label)


def judge_clips(dataset, clips: np.ndarray, labels: np.ndarray) -> list[str | None]:
    """``judge_clip`` of each uint8 clip ``[N, T, H, W, C]`` with its label."""
    clips = np.asarray(clips)
    if clips.ndim != 5 or len(clips) != len(labels):
        raise ValueError(f"the judge needs clips [N, T, H, W, C] and N labels, got {list(clips.shape)} and "
                         f"{len(labels)} labels")
    return [judge_clip(dataset, clip, int(label)) for clip, label in zip(clips, labels, strict=True)]


def bounce_track_reason(objs: FrameObjects, speed: tuple[float, float], reach: tuple[float, float]) -> str | None:
    """Track check for data whose objects move at a constant velocity with elastic wall bounces (``speed``: the
    data's range in pixels per step; ``reach``: the farthest a real object's centroid is from the wall it bounces
    off, along y and x): ``does not travel`` when the object moves less than half the slowest real speed on
    average; ``wrong motion`` when it jumps, or changes velocity other than by a bounce: a reversal along one axis
    near a wall."""
    centre = np.stack([objs.cy, objs.cx], axis=1)
    if len(centre) < 2:
        return None
    v = np.diff(centre, axis=0)
    step = np.hypot(v[:, 0], v[:, 1])
    if step.mean() < 0.5 * speed[0]:
        return "does not travel"
    if step.max() > 1.5 * speed[1] + 0.5:
        return "wrong motion"
    tol = 0.25 * speed[1] + 0.6  # sub-pixel centroid noise
    h, w = objs.cover.shape[1:]
    limit = np.array([h - 1, w - 1], np.float64)
    margin = np.asarray(reach) + speed[1] + 1.0
    near = (centre <= margin) | (centre >= limit - margin)  # [T, 2]
    flips = np.sign(v[1:]) != np.sign(v[:-1])  # [T-2, 2]: reversal between steps t and t+1
    for t in range(len(v) - 1):
        for axis in range(2):
            if abs(v[t + 1, axis] - v[t, axis]) <= tol:
                continue
            # A bounce spreads over two steps (the one that reaches the wall is partial); at the clip's first or last
            # step the reversal itself may lie outside the clip
            edge = t == 0 or t + 2 == len(v)
            bounce = (edge or flips[max(t - 1, 0) : t + 2, axis].any()) and near[t : t + 3, axis].any()
            if not bounce:
                return "wrong motion"
    return None
