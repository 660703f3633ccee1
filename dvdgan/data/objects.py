"""Per-frame object measurements behind the strict judge of the built-in data (``dvdgan.data.judge``).

The lenient class rules (``analysis.foreground``) look for the brightest region *relative to the frame's own peak*,
so a clip a few grey levels above black still shows "an object". Here every threshold is relative to the data's
own objects: a pixel belongs to an object when it reaches half the brightness of the dimmest real object
(``level``), which is also where an anti-aliased real edge crosses. What is measured per frame:

- ``status``: OK, EMPTY (nothing above a fifth of ``level``), FAINT (something, but nothing object-bright),
  SPLIT (the object in pieces close together) or EXTRA (a second piece far from the first);
- the main object's coverage map (its pixels' brightness over its own 90th percentile, clipped to 1: an edge
  counts by its coverage, so areas and centroids are sub-pixel), area, centroid, orientation, elongation;
- its core colour (mean over its pixels within 25% of its peak) and the share of its pixels whose hue is far from
  that core (fringes of another colour);
- ``peak``: the 90th percentile of its brightness, to tell a faint object from a real one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

OK, EMPTY, FAINT, SPLIT, EXTRA = range(5)
_PLANAR = np.zeros((3, 3, 3), dtype=bool)
_PLANAR[1] = True  # 8-neighbourhood within a frame, never across frames of a stack
_FAINT_FRACTION = 0.2  # "something is there" below the object threshold
_OFF_HUE = 0.3  # L1 chromaticity distance from the core colour at which a pixel is of another colour


@dataclass
class FrameObjects:
    """The main object of each of ``M`` frames (all arrays have ``M`` rows)."""

    status: np.ndarray  # int [M]: OK, EMPTY, FAINT, SPLIT, EXTRA
    cover: np.ndarray  # float32 [M, H, W]: the main object's coverage, 0 elsewhere
    image: np.ndarray  # float32 [M, H, W]: the main object's brightness over the background, 0 elsewhere
    area: np.ndarray  # [M] sum of coverage, pixels
    cy: np.ndarray  # [M] coverage-weighted centroid (image coordinates, y down)
    cx: np.ndarray
    angle: np.ndarray  # [M] major-axis angle in (-pi/2, pi/2]
    elongation: np.ndarray  # [M] major / minor axis (1 for a disc or a square)
    colour: np.ndarray  # [M, 3] core colour over the background, uint8 units
    peak: np.ndarray  # [M] 90th percentile of the object's brightness over the background
    off_hue: np.ndarray  # [M] share of the object's pixels of another hue than its core

    def __getitem__(self, index) -> FrameObjects:
        return FrameObjects(**{k: v[index] for k, v in vars(self).items()})


def measure_objects(frames: np.ndarray, level: float, min_area: float, max_radius: float,
                    join: int = 0) -> FrameObjects:
    """Measure float frames ``[M, H, W, C]`` (uint8 units) against real objects of brightness >= ``level`` and area
    >= ``min_area`` pixels; a second piece whose centroid is more than ``2 * max_radius`` from the main one is an
    extra object, a nearer one a split. ``join``: pieces this many pixels apart are one (a digit's broken stroke)."""
    m, h, w, c = frames.shape
    rgb = frames if c == 3 else np.repeat(frames[..., :1], 3, axis=-1)
    diff = np.maximum(rgb - np.median(rgb.reshape(m, -1, 3), axis=1)[:, None, None, :], 0.0)
    bright = diff.max(axis=-1)
    above = bright >= 0.5 * level
    grown = ndimage.binary_dilation(above, structure=_PLANAR, iterations=join) if join else above
    labels, count = ndimage.label(grown, structure=_PLANAR)
    labels[~above] = 0
    faint_area = (bright >= _FAINT_FRACTION * level).sum(axis=(1, 2))
    pieces = _pieces(labels, count, m, max(2.0, 0.1 * min_area))
    out = _empty(m, h, w)
    for i in range(m):
        if not pieces[i]:
            out.status[i] = FAINT if faint_area[i] >= 0.25 * min_area else EMPTY
            continue
        main = pieces[i][0]
        _describe(out, i, labels[i] == main[0], bright[i], diff[i])
        for _, py, px in pieces[i][1:]:
            far = np.hypot(py - out.cy[i], px - out.cx[i]) > 2 * max_radius
            out.status[i] = max(out.status[i], EXTRA if far else SPLIT)
    return out


def _pieces(labels: np.ndarray, count: int, m: int, min_piece: float) -> list[list[tuple[int, float, float]]]:
    """Per frame, its pieces ``(label, cy, cx)`` of at least ``min_piece`` pixels, largest first."""
    out: list[list[tuple[int, float, float]]] = [[] for _ in range(m)]
    if count == 0:
        return out
    ids = np.arange(1, count + 1)
    areas = ndimage.sum_labels(np.ones_like(labels), labels, ids)
    centres = ndimage.center_of_mass(np.ones_like(labels), labels, ids)
    for (f, py, px), lab, area in sorted(zip(centres, ids, areas, strict=True), key=lambda p: -p[2]):
        if area >= min_piece:
            out[int(round(f))].append((int(lab), float(py), float(px)))
    return out


def _empty(m: int, h: int, w: int) -> FrameObjects:
    z, maps = np.zeros(m), np.zeros((m, h, w), np.float32)
    return FrameObjects(np.full(m, OK), maps, maps.copy(), z.copy(), np.full(m, (h - 1) / 2), np.full(m, (w - 1) / 2),
                        z.copy(), np.ones(m), np.zeros((m, 3)), z.copy(), z.copy())


def _describe(out: FrameObjects, i: int, mask: np.ndarray, bright: np.ndarray, diff: np.ndarray) -> None:
    """Fill row ``i`` of ``out`` from the main piece's ``mask`` and the frame's brightness and colour."""
    peak = float(np.percentile(bright[mask], 90))
    # Its edge pixels below the threshold belong to it too, by their coverage.
    near = ndimage.binary_dilation(mask, iterations=1)
    cover = np.where(near, np.clip(bright / max(peak, 1e-6), 0.0, 1.0), 0.0).astype(np.float32)
    area = float(cover.sum())
    y, x = np.indices(cover.shape, dtype=np.float64)
    cy, cx = (cover * y).sum() / area, (cover * x).sum() / area
    dy, dx = y - cy, x - cx
    myy, mxx, mxy = ((cover * a * b).sum() / area for a, b in ((dy, dy), (dx, dx), (dx, dy)))
    spread = np.sqrt(((mxx - myy) / 2) ** 2 + mxy**2)
    major, minor = (mxx + myy) / 2 + spread, max((mxx + myy) / 2 - spread, 1e-6)
    core = mask & (bright >= 0.75 * peak)
    colour = diff[core].mean(axis=0)
    hue = diff[mask] / np.maximum(diff[mask].sum(axis=1, keepdims=True), 1e-6)
    core_hue = colour / max(colour.sum(), 1e-6)
    out.cover[i], out.image[i] = cover, np.where(near, bright, 0.0)
    out.area[i], out.cy[i], out.cx[i] = area, cy, cx
    out.angle[i], out.elongation[i] = 0.5 * np.arctan2(2 * mxy, mxx - myy), np.sqrt(major / minor)
    out.colour[i], out.peak[i] = colour, peak
    out.off_hue[i] = float((np.abs(hue - core_hue).sum(axis=1) > _OFF_HUE).mean())


def persistence(objs: FrameObjects, similarity: bool = False) -> np.ndarray:
    """Shape persistence ``[M - 1]`` of one clip's object: ``overlap`` of frame ``t + 1`` with frame ``t``; 1 for a
    rigid object."""
    return np.array([overlap(objs[t : t + 1], objs[t + 1 : t + 2], similarity) for t in range(len(objs.area) - 1)])


def overlap(a: FrameObjects, b: FrameObjects, similarity: bool = False) -> float:
    """Soft IoU of the objects of one-frame measurements ``a`` and ``b`` after moving ``b``'s onto ``a``'s by the
    centroid shift (and, with ``similarity``, turning and scaling it by the change of orientation and area, for
    data whose objects rotate or zoom); 0 when either frame has no object."""
    if a.area[0] <= 0 or b.area[0] <= 0:
        return 0.0
    matrix = np.eye(2)
    if similarity:
        turn = (b.angle[0] - a.angle[0] + np.pi / 2) % np.pi - np.pi / 2
        scale = np.sqrt(b.area[0] / a.area[0])
        cos, sin = np.cos(turn), np.sin(turn)
        # a's pixel p samples b at c_b + scale * R (p - c_a), in (y, x) order, y down
        matrix = scale * np.array([[cos, sin], [-sin, cos]])
    c_a, c_b = np.array([a.cy[0], a.cx[0]]), np.array([b.cy[0], b.cx[0]])
    moved = ndimage.affine_transform(b.cover[0], matrix, offset=c_b - matrix @ c_a, order=1, mode="constant")
    return float(soft_iou(a.cover[:1], moved[None])[0])


def soft_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of coverage stacks ``[N, H, W]`` in [0, 1]: sum of the minimum over sum of the maximum -> ``[N]``."""
    return np.minimum(a, b).sum(axis=(1, 2)) / np.maximum(np.maximum(a, b).sum(axis=(1, 2)), 1e-6)
