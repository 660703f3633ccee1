"""Model-free image measurements behind the procedural datasets' ``classify`` rules, batched over frames.

They must also work on generated clips (noise, blur, wrong background), so everything starts from the
*dominant bright region*: pixels well above the frame's median level, largest connected component.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from dvdgan.data.render import pixel_grid

MIN_CONTRAST = 16.0  # below this peak-over-median difference a frame is treated as empty
_PLANAR = np.zeros((3, 3, 3), dtype=bool)
_PLANAR[1] = True  # 8-neighbourhood within a frame, never across frames of a stack


def clip_chunks(clips: np.ndarray, frames_per_chunk: int = 512) -> Iterator[tuple[slice, np.ndarray]]:
    """Validate uint8-like clips ``[N, T, H, W, C]`` (or one ``[T, H, W, C]``) and yield float32 chunks of them.

    Chunking bounds the float copy when a metric classifies thousands of clips at once.
    """
    arr = np.asarray(clips)
    if arr.ndim == 4:
        arr = arr[None]
    if arr.ndim != 5 or arr.shape[1] < 1:
        raise ValueError(f"classify expects clips [N, T, H, W, C], got shape {arr.shape}")
    step = max(1, frames_per_chunk // arr.shape[1])
    for start in range(0, arr.shape[0], step):
        yield slice(start, start + step), arr[start : start + step].astype(np.float32)


def foreground(level: np.ndarray, fraction: float = 0.5, dilate: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the dominant bright region of a stack of grey frames ``[N, H, W]``, and the
    background-subtracted frames.

    Per frame: subtract the median, keep pixels above ``fraction`` of the peak, dilate ``dilate`` pixels (joins
    broken strokes), then keep the connected component with the largest total brightness. Frames without
    contrast get an empty mask.
    """
    n = level.shape[0]
    fg = np.maximum(level - np.median(level.reshape(n, -1), axis=1)[:, None, None], 0.0)
    peak = fg.reshape(n, -1).max(axis=1)
    mask = fg > (fraction * peak)[:, None, None]
    mask[peak < MIN_CONTRAST] = False
    if dilate:
        mask = ndimage.binary_dilation(mask, structure=_PLANAR, iterations=dilate)
    labels, count = ndimage.label(mask, structure=_PLANAR)
    if count == 0:
        return mask, fg
    mass = np.bincount(labels.ravel(), weights=fg.ravel(), minlength=count + 1)[1:]
    owner = np.array([s[0].start for s in ndimage.find_objects(labels)])  # frame of each component
    best = np.zeros(n, dtype=np.int64)
    order = np.argsort(mass, kind="stable")
    best[owner[order]] = order + 1  # later (heavier) components overwrite lighter ones of the same frame
    keep = np.zeros(count + 1, dtype=bool)
    keep[best[best > 0]] = True
    return keep[labels], fg


@dataclass
class Moments:
    """Area, centroid and orientation of binary regions, one entry per frame (image coordinates, y down)."""

    area: np.ndarray
    cy: np.ndarray
    cx: np.ndarray
    angle: np.ndarray  # major-axis angle in (-pi/2, pi/2]; meaningless for round regions


def moments(mask: np.ndarray) -> Moments:
    """Second-moment description of masks ``[N, H, W]``; an empty mask gives area 0 at the frame centre."""
    n, h, w = mask.shape
    y, x = pixel_grid(h, w)
    m = mask.astype(np.float64)
    area = m.sum(axis=(1, 2))
    safe = np.maximum(area, 1.0)
    cy = np.where(area > 0, (m * y).sum(axis=(1, 2)) / safe, (h - 1) / 2)
    cx = np.where(area > 0, (m * x).sum(axis=(1, 2)) / safe, (w - 1) / 2)
    dy, dx = y[None] - cy[:, None, None], x[None] - cx[:, None, None]
    myy = (m * dy * dy).sum(axis=(1, 2)) / safe
    mxx = (m * dx * dx).sum(axis=(1, 2)) / safe
    mxy = (m * dx * dy).sum(axis=(1, 2)) / safe
    return Moments(area, cy, cx, 0.5 * np.arctan2(2.0 * mxy, mxx - myy))


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boolean mask stacks ``[N, H, W]`` -> ``[N]`` (0 where both are empty)."""
    union = np.logical_or(a, b).sum(axis=(1, 2))
    inter = np.logical_and(a, b).sum(axis=(1, 2))
    return inter / np.maximum(union, 1)


def slope(values: np.ndarray, times: np.ndarray) -> float:
    """Least-squares slope of ``values`` against ``times`` (0 with fewer than two distinct times)."""
    t = times.astype(np.float64) - times.mean()
    denom = float(np.dot(t, t))
    return float(np.dot(t, values - values.mean()) / denom) if denom > 0 else 0.0
