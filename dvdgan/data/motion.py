"""``motion``: one random elongated object; class = its motion (8 classes), invisible in any set of frames.

The scene (object kind, colour, size, aspect, angle, position) is drawn from ``(seed, index)`` independently of
the class and is the clip's *middle* state: every motion runs symmetrically through it, so the clips of opposite
classes (up/down, left/right, clockwise/counter-clockwise, zoom in/out) of one scene are each other played
backwards. Their frames, taken as an unordered set, are the same: a discriminator that scores frames one at a time
(D_S) cannot tell the class, only one that sees their order (D_T) can.
"""

from __future__ import annotations

import numpy as np

from dvdgan.data.analysis import clip_chunks, foreground, moments, slope
from dvdgan.data.judge import ObjectSpec
from dvdgan.data.objects import FrameObjects
from dvdgan.data.procedural import NO_CLASS, ProceduralVideos
from dvdgan.data.render import coverage, ellipse_sdf, paint, polygon_sdf, transform_points

MOTIONS = ("up", "down", "left", "right", "clockwise", "counter-clockwise", "zoom in", "zoom out")
OBJECTS = ("bar", "ellipse", "arrow")

# Full-strength motion over a clip, capped per frame so short clips do not jump: translation (fraction of the
# frame), rotation (radians), zoom (log of the scale factor).
_SHIFT, _SHIFT_STEP = 0.25, 0.06
_TURN, _TURN_STEP = np.pi / 2, np.pi / 12
_ZOOM, _ZOOM_STEP = np.log(1.6), np.log(1.12)
_LENGTH, _ASPECT, _LEVEL = (0.13, 0.17), (2.0, 3.0), 200.0  # half-length (of the frame), length / width, colour
_JUDGE_ELONGATION = (1.5, 4.5)  # the strict judge's range of the moments' aspect (real: 2.0-3.7)
_JUDGE_STRENGTH = 0.35  # least share of full strength of the label's motion (real: 0.7-1.0)
_JUDGE_WOBBLE = 0.04  # largest distance of the centroid from its straight line, fraction of the frame
_BAR = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]])  # local (across, along) corners
_ARROW = np.array([[0.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])


def motion_amounts(num_frames: int, size: int) -> tuple[float, float, float]:
    """Full-strength (shift in pixels, turn in radians, log zoom) over a clip of ``num_frames`` frames."""
    steps = max(num_frames - 1, 0)
    return (min(_SHIFT * size, _SHIFT_STEP * size * steps), min(_TURN, _TURN_STEP * steps),
            min(_ZOOM, _ZOOM_STEP * steps))


class MotionClasses(ProceduralVideos):
    """Motion classes: up, down, left, right, clockwise, counter-clockwise (on screen), zoom in, zoom out.

    A bar, ellipse or arrow (aspect 2-3, half-length 13-17% of the frame, random bright colour) within 15% of the
    frame of its centre; the motion's strength is 70-100% of ``motion_amounts``, half of it before the middle frame
    and half after. Objects stay inside the frame.
    """

    class_names = MOTIONS

    def render(self, rng: np.random.Generator, label: int) -> np.ndarray:
        h, w, t = self.height, self.width, self.num_frames
        size = min(h, w)
        # The scene: drawn before (and independently of) the motion.
        kind = OBJECTS[rng.integers(len(OBJECTS))]
        half_length = rng.uniform(*_LENGTH) * size
        half_width = half_length / rng.uniform(*_ASPECT)
        angle0 = rng.uniform(0, np.pi) if kind != "arrow" else rng.uniform(-np.pi, np.pi)
        # A wide spread of positions hides whether a single frame belongs to a translation; the object stays inside
        # the frame at every step.
        cy0, cx0 = (h - 1) / 2 + rng.uniform(-0.15, 0.15) * size, (w - 1) / 2 + rng.uniform(-0.15, 0.15) * size
        colour = rng.uniform(0, 255, 3)
        colour[rng.integers(3)] = rng.uniform(_LEVEL, 255)
        strength = rng.uniform(0.7, 1.0)

        progress = np.linspace(-0.5, 0.5, t, dtype=np.float32) if t > 1 else np.zeros(1, np.float32)
        shift, turn, zoom = (strength * a for a in motion_amounts(t, size))
        cy, cx = np.full(t, cy0, np.float32), np.full(t, cx0, np.float32)
        angle, scale = np.full(t, angle0, np.float32), np.ones(t, np.float32)
        name = MOTIONS[label]
        if name in ("up", "down"):
            cy += (shift if name == "down" else -shift) * progress
        elif name in ("left", "right"):
            cx += (shift if name == "right" else -shift) * progress
        elif name in ("clockwise", "counter-clockwise"):
            angle += (turn if name == "clockwise" else -turn) * progress
        else:
            scale = np.exp((zoom if name == "zoom in" else -zoom) * progress).astype(np.float32)

        if kind == "ellipse":
            sdf = ellipse_sdf(cy, cx, half_length * scale, half_width * scale, angle, h, w)
        else:
            local = (_BAR if kind == "bar" else _ARROW) * np.array([half_width, half_length])
            # Local points are (across, along); along the major axis is the object's angle.
            sdf = polygon_sdf(transform_points(local, cy, cx, scale, angle - np.pi / 2), h, w)
        return paint(coverage(sdf), colour)

    def classify(self, clips: np.ndarray) -> np.ndarray:
        """The exact class rule from several frames: centroid trend (translations), orientation trend
        (rotations), log-area trend (zooms), each relative to its full strength; the strongest one wins.

        Needs at least two frames with a visible object; otherwise it returns ``NO_CLASS`` (-1, matches no label).
        """
        out = []
        for _, chunk in clip_chunks(clips):
            n, t, h, w = chunk.shape[:4]
            m = moments(foreground(chunk.reshape(n * t, h, w, -1).max(axis=-1))[0])
            out += [self._decide(*(v.reshape(n, t)[i] for v in (m.area, m.cy, m.cx, m.angle)), min(h, w))
                    for i in range(n)]
        return np.array(out, dtype=np.int64)

    @staticmethod
    def _decide(area: np.ndarray, cy: np.ndarray, cx: np.ndarray, angle: np.ndarray, size: int) -> int:
        seen = np.flatnonzero(area > 0)
        if seen.size < 2:
            return NO_CLASS
        evidence = motion_evidence(area, cy, cx, angle, size, seen)
        return MOTIONS.index(max(evidence, key=evidence.get))

    # The strict judge [dvdgan.data.judge]
    def object_spec(self) -> ObjectSpec:
        size, t = min(self.height, self.width), self.num_frames
        zoom = np.exp(motion_amounts(t, size)[2])  # the largest area factor either side of the middle frame
        small, large = _LENGTH[0] * size, _LENGTH[1] * size
        # arrow: 2 * half_length * half_width; bar: 4 * half_length * half_width; half_width = length / aspect
        area = (2 * small * small / _ASPECT[1] / zoom, 4 * large * large / _ASPECT[0] * zoom)
        # Real objects keep their shape from one frame to the next at a persistence of >= 0.70 (thin bars turning
        # at 32x32, resampled bilinearly) and their area within 1.35x of its log-linear trend; a thin bar at an
        # angle can break at half brightness at 32x32 (3 of 400 clips), so pieces 1 pixel apart are one
        return ObjectSpec(level=_LEVEL, area=area, max_radius=large * np.sqrt(zoom), min_persistence=0.6,
                          max_area_swing=1.35, similarity=True, area_trend=True, join=1)

    def colour_wrong(self, objs: FrameObjects, label: int) -> bool:
        return False  # any bright colour is a real one; a colour that changes is caught by the judge itself

    def shape_wrong(self, objs: FrameObjects, label: int) -> bool:
        """Real objects are elongated (aspect 2-3; moments read 2.0-3.7) and keep their elongation."""
        e = objs.elongation
        return bool((e < _JUDGE_ELONGATION[0]).any() or (e > _JUDGE_ELONGATION[1]).any() or e.max() > 1.5 * e.min())

    def track_reason(self, objs: FrameObjects, label: int) -> str | None:
        """The label's motion must carry at least 35% of its full strength (real: 70-100%), be the strongest, no
        other motion may reach 35%, and the centroid must follow a straight line (a translation at constant speed,
        or none) to within 4% of the frame."""
        size = min(self.height, self.width)
        evidence = motion_evidence(objs.area, objs.cy, objs.cx, objs.angle, size, np.arange(len(objs.area)))
        own = evidence.pop(MOTIONS[label])
        other = max(evidence.values())  # the opposite motion included: moving the wrong way is a wrong motion
        if other >= _JUDGE_STRENGTH and other > own:
            return "wrong motion"
        if own < _JUDGE_STRENGTH:
            return "does not travel"
        if other >= _JUDGE_STRENGTH:
            return "wrong motion"  # a second motion on top of the right one
        t = np.arange(len(objs.cy))
        residual = [v - np.polyval(np.polyfit(t, v, 1), t) for v in (objs.cy, objs.cx)]
        return "wrong motion" if np.hypot(*residual).max() > _JUDGE_WOBBLE * size else None


def motion_evidence(area: np.ndarray, cy: np.ndarray, cx: np.ndarray, angle: np.ndarray, size: int,
                    seen: np.ndarray) -> dict[str, float]:
    """Each motion's fitted amount over the clip relative to its full strength, from the object's moments in the
    frames ``seen`` (of ``len(area)``): 1 for a full-strength real motion, about 0 for motions it does not make."""
    frames = len(area)
    shift, turn, zoom = motion_amounts(frames, size)
    area, cy, cx, angle = area[seen], cy[seen], cx[seen], angle[seen]
    # Orientation is defined modulo pi: unwrap frame-to-frame steps into (-pi/2, pi/2].
    steps = (np.diff(angle) + np.pi / 2) % np.pi - np.pi / 2
    turned = np.concatenate([[0.0], np.cumsum(steps)])
    span = frames - 1  # fitted change over the whole clip
    dy, dx = slope(cy, seen) * span, slope(cx, seen) * span
    d_angle, d_log_area = slope(turned, seen) * span, slope(np.log(area), seen) * span
    return {
        "down": dy / shift, "up": -dy / shift, "right": dx / shift, "left": -dx / shift,
        "clockwise": d_angle / turn, "counter-clockwise": -d_angle / turn,
        "zoom in": d_log_area / (2 * zoom), "zoom out": -d_log_area / (2 * zoom),
    }
