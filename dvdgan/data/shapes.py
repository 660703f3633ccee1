"""``shapes``: one bouncing RGB shape on a black background; class = shape x colour (9 classes).

[docs/architecture.md section 6] Shapes of one clip share an area whatever their kind, so only the outline
tells them apart; squares are axis-aligned and triangles point up. The class shows in every frame.
"""

from __future__ import annotations

import numpy as np

from dvdgan.data.analysis import foreground, iou, moments
from dvdgan.data.judge import ObjectSpec, bounce_track_reason
from dvdgan.data.objects import FrameObjects, soft_iou
from dvdgan.data.procedural import ProceduralVideos
from dvdgan.data.render import bounce, circle_sdf, coverage, paint, polygon_sdf

SHAPES = ("square", "circle", "triangle")
COLOURS = ("red", "green", "blue")

# Sizes relative to a circle of radius r with the same area.
_SQUARE_HALF = np.sqrt(np.pi) / 2  # half side
_TRIANGLE_R = np.sqrt(4 * np.pi / np.sqrt(3)) / np.sqrt(3)  # circumradius of the equilateral triangle
_TRIANGLE = np.array([[-1.0, 0.0], [0.5, -np.sqrt(3) / 2], [0.5, np.sqrt(3) / 2]])  # unit circumradius, (y, x)
_SQUARE = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]])

# The class rule's floor for "there is an object": a region of at least a quarter of the smallest shape's area
# (radius 16% of the frame) whose mean colour reaches a third of the dimmest object colour (180). Generated clips
# with a speck or a faint smudge (a peak of 20-50 over one pixel) are empty to the eye, and must not score as the
# class whose outline their one pixel happens to fit best.
_MIN_AREA = 0.25 * np.pi * 0.16**2  # fraction of the frame
_MIN_LEVEL = 60.0
# ... and whose outline overlaps its best-fitting ideal shape by IoU >= 0.5. Real frames fit at 0.95 or more,
# generated objects at 0.65 or more; a bright line along the edge of an otherwise empty frame (a generator
# artefact) at 0.2.
_MIN_FIT = 0.5
_RADIUS = (0.16, 0.22)  # equal-area radius, fraction of the frame
_SPEED = (0.04, 0.08)  # fraction of the frame per step
_LEVEL, _OTHER_LEVEL = 180.0, 60.0  # the colour's channel is >= 180, the other two <= 60
# The strict judge [dvdgan.data.judge]: its class shape must fit the object better than the other two, at IoU
# >= 0.8 in every frame (real objects fit at >= 0.9 at 32x32, see tests/test_judge.py); the other two channels stay
# below 0.45 of the colour's (real: <= 0.33).
_JUDGE_FIT = 0.85
_JUDGE_OTHER = 0.45


def shape_sdf(shape: int, cy: np.ndarray, cx: np.ndarray, radius: np.ndarray, height: int,
              width: int) -> np.ndarray:
    """Signed distance ``[N, H, W]`` of shape ``shape`` (index into SHAPES) with equal-area radius ``radius``."""
    if SHAPES[shape] == "circle":
        return circle_sdf(cy, cx, radius, height, width)
    unit, scale = (_SQUARE, _SQUARE_HALF) if SHAPES[shape] == "square" else (_TRIANGLE, _TRIANGLE_R)
    centre = np.stack([cy, cx], axis=-1)[:, None, :]
    return polygon_sdf(centre + unit[None] * (scale * radius)[:, None, None], height, width)


class BouncingShapes(ProceduralVideos):
    """Bouncing shapes: ``class = 3 * shape + colour`` with shapes (square, circle, triangle) and colours (r, g, b).

    Radius 16-22% of the frame, speed 4-8% of the frame per step, elastic wall bounces; the colour's channel is
    180-255 and the other two 0-60.
    """

    class_names = tuple(f"{colour} {shape}" for shape in SHAPES for colour in COLOURS)

    def render(self, rng: np.random.Generator, label: int) -> np.ndarray:
        shape, colour = divmod(label, len(COLOURS))
        h, w, t = self.height, self.width, self.num_frames
        size = min(h, w)
        radius = max(rng.uniform(*_RADIUS) * size, 2.5)
        extent = radius * {"square": _SQUARE_HALF, "circle": 1.0, "triangle": _TRIANGLE_R}[SHAPES[shape]]
        low = np.array([extent, extent], np.float32)
        high = np.array([h - 1 - extent, w - 1 - extent], np.float32)
        start = low + rng.random(2, dtype=np.float32) * (high - low)
        heading = rng.uniform(0, 2 * np.pi)
        velocity = rng.uniform(*_SPEED) * size * np.array([np.sin(heading), np.cos(heading)], np.float32)
        path = bounce(start, velocity, low, high, t)
        rgb = rng.uniform(0, _OTHER_LEVEL, 3)
        rgb[colour] = rng.uniform(_LEVEL, 255)
        sdf = shape_sdf(shape, path[:, 0], path[:, 1], np.full(t, radius, np.float32), h, w)
        return paint(coverage(sdf), rgb)

    def frame_scores(self, frames: np.ndarray) -> np.ndarray:
        """Colour share of the region's mean colour times the IoU with an equal-area ideal of each shape; 0 for a
        frame whose region is too small, too faint or too unlike every shape to be an object (``_MIN_AREA``,
        ``_MIN_LEVEL``, ``_MIN_FIT``)."""
        m_frames, h, w, c = frames.shape
        mask, _ = foreground(frames.max(axis=-1))
        m = moments(mask)
        background = np.median(frames.reshape(m_frames, -1, c), axis=1)
        mean = (frames * mask[..., None]).sum(axis=(1, 2)) / np.maximum(m.area, 1)[:, None] - background
        rgb = np.maximum(np.repeat(mean, 3, axis=1) if c == 1 else mean[:, :3], 0.0)
        colour_share = rgb / np.maximum(rgb.sum(axis=1, keepdims=True), 1e-6)
        radius = np.sqrt(m.area / np.pi)
        visible = (m.area >= _MIN_AREA * h * w) & (rgb.max(axis=1) >= _MIN_LEVEL)
        scores = np.zeros((m_frames, self.num_classes))
        fits = np.stack([iou(mask, shape_sdf(shape, m.cy, m.cx, radius, h, w) > 0) for shape in range(len(SHAPES))])
        visible &= fits.max(axis=0) >= _MIN_FIT
        for shape, fit in enumerate(fits):
            scores[:, shape * len(COLOURS) : (shape + 1) * len(COLOURS)] = fit[:, None] * colour_share
        return scores * visible[:, None]

    def object_spec(self) -> ObjectSpec:
        size = min(self.height, self.width)
        low, high = (max(f * size, 2.5) for f in _RADIUS)
        # A real object keeps its area to within 1.2x of itself (rasterised outlines) and its shape from one
        # frame to the next at a persistence of >= 0.86 at 32x32 (bilinear resampling of sub-pixel moves)
        return ObjectSpec(level=_LEVEL, area=(np.pi * low**2, np.pi * high**2), max_radius=_TRIANGLE_R * high,
                          min_persistence=0.75, max_area_swing=1.2)

    def colour_wrong(self, objs: FrameObjects, label: int) -> bool:
        colour = objs.colour.mean(axis=0)
        others = np.delete(colour, label % len(COLOURS))
        return bool(colour.argmax() != label % len(COLOURS) or others.max() > _JUDGE_OTHER * colour.max())

    def shape_wrong(self, objs: FrameObjects, label: int) -> bool:
        h, w = self.height, self.width
        radius = np.sqrt(objs.area / np.pi)
        fits = np.stack([soft_iou(objs.cover, coverage(shape_sdf(k, objs.cy, objs.cx, radius, h, w)))
                         for k in range(len(SHAPES))])
        own = fits[label // len(COLOURS)]
        return bool((own < _JUDGE_FIT).any() or (own < fits.max(axis=0)).any())

    def track_reason(self, objs: FrameObjects, label: int) -> str | None:
        size = min(self.height, self.width)
        reach = self.object_spec().max_radius  # a triangle's centroid bounces at its circumradius from a wall
        return bounce_track_reason(objs, (_SPEED[0] * size, _SPEED[1] * size), (reach, reach))
