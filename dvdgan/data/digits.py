"""``digits``: one real MNIST digit moving with wall bounces; class = the digit (10 classes).

[docs/architecture.md section 6] Digits come from MNIST-5k (``dvdgan.data.mnist``), scaled to 44% of the
frame (28 px on 64x64). The class rule is nearest class-mean template by normalised correlation on a crop
centred at the digit's centre of mass; the dataset only uses digits that this rule gets right (most of them),
so ``classify`` is exact on real clips and meaningful on generated ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from dvdgan.data.analysis import foreground
from dvdgan.data.judge import ObjectSpec, bounce_track_reason, chroma
from dvdgan.data.mnist import load_mnist, split_mask
from dvdgan.data.objects import FrameObjects, measure_objects
from dvdgan.data.procedural import ProceduralVideos
from dvdgan.data.render import bounce, pixel_grid

_MARGIN = 0.02  # a kept digit beats the runner-up template by this much correlation
_SPEED = (0.03, 0.06)  # fraction of the frame per step
_GREY = 0.08  # the strict judge: a channel's share of the sum may differ from 1/3 by this much (real: 0)


def digit_size(frame_size: int) -> int:
    """Digit patch side for a frame side: 44% of it (28 on 64), at least 7 pixels."""
    return max(7, round(0.44 * frame_size))


def digit_crops(level: np.ndarray, patch: int) -> np.ndarray:
    """``[N, patch, patch]`` crops of the dominant bright region of grey frames ``[N, H, W]``, each centred at the
    region's centre of mass (all zeros for an empty frame)."""
    mask, fg = foreground(level, fraction=0.25, dilate=1)
    weight = np.where(mask, fg, 0.0).astype(np.float32)
    n, h, w = weight.shape
    y, x = pixel_grid(h, w)
    mass = np.maximum(weight.sum(axis=(1, 2)), 1e-6)
    cy, cx = (weight * y).sum(axis=(1, 2)) / mass, (weight * x).sum(axis=(1, 2)) / mass
    top = np.floor(cy - (patch - 1) / 2 + 0.5).astype(np.int64)
    left = np.floor(cx - (patch - 1) / 2 + 0.5).astype(np.int64)
    crops = np.zeros((n, patch, patch), np.float32)
    for i, (t, lf) in enumerate(zip(top, left, strict=True)):
        # The window may hang over the frame edge: copy only the part inside.
        y0, x0, y1, x1 = max(t, 0), max(lf, 0), min(t + patch, h), min(lf + patch, w)
        if y1 > y0 and x1 > x0:
            crops[i, y0 - t : y1 - t, x0 - lf : x1 - lf] = weight[i, y0:y1, x0:x1]
    return crops


def _normalise(x: np.ndarray) -> np.ndarray:
    x = x.reshape(x.shape[0], -1).astype(np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


@dataclass(frozen=True)
class DigitBank:
    """MNIST-5k at one patch size: patches, class templates and the digits the template rule classifies right."""

    patches: np.ndarray  # uint8 [5000, P, P]
    labels: np.ndarray  # int64 [5000]
    templates: np.ndarray  # float64 [10, P*P], zero-mean, unit norm
    usable: np.ndarray  # bool [5000]


@lru_cache(maxsize=8)
def digit_bank(patch: int) -> DigitBank:
    """Build (once per process and size) the digit patches and the class-mean templates of the class rule."""
    images, labels = load_mnist()
    x = torch.from_numpy(images.astype(np.float32))[:, None]
    x = F.interpolate(x, size=(patch, patch), mode="bilinear", antialias=True, align_corners=False)
    patches = x[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()
    # Crop every digit exactly as classify sees it in a clip (integer moves do not change the crop); the
    # canvas is large enough that its median is background, as in a frame.
    crops = np.empty((len(patches), patch, patch), np.float32)
    for start in range(0, len(patches), 500):
        chunk = patches[start : start + 500]
        canvas = np.zeros((len(chunk), 2 * patch, 2 * patch), np.float32)
        canvas[:, patch // 2 : patch // 2 + patch, patch // 2 : patch // 2 + patch] = chunk
        crops[start : start + 500] = digit_crops(canvas, patch)
    flat = _normalise(crops)
    templates = _normalise(np.stack([flat[labels == c].mean(axis=0) for c in range(10)]))
    scores = flat @ templates.T
    best = np.sort(scores, axis=1)
    usable = (scores.argmax(axis=1) == labels) & (best[:, -1] - best[:, -2] >= _MARGIN)
    return DigitBank(patches, labels, templates, usable)


@lru_cache(maxsize=8)
def digit_spec(patch: int) -> tuple[ObjectSpec, tuple[float, float]]:
    """The strict judge's spec at one digit size, measured on every usable digit of MNIST-5k as a clip shows it:
    the dimmest digit's brightness (digits shrunk to 14 pixels are dimmer than 255) and the range of areas; and
    how far from a wall a digit's centroid turns at a bounce (along y, x)."""
    bank = digit_bank(patch)
    patches = bank.patches[bank.usable].astype(np.float32)
    canvas = np.zeros((len(patches), 2 * patch, 2 * patch, 1), np.float32)
    canvas[:, patch // 2 : patch // 2 + patch, patch // 2 : patch // 2 + patch, 0] = patches
    level = float(patches.max(axis=(1, 2)).min())
    objs = measure_objects(canvas, level, 0.0, patch / 2, join=1)
    # The patch bounces off the walls: a digit's centroid turns as far from a wall as it lies from its patch's edge
    offset = np.stack([objs.cy, objs.cx], axis=1) - patch // 2
    reach = np.maximum(offset, patch - 1 - offset).max(axis=0)
    # Strokes of a digit may break at half brightness: pieces 1 pixel apart are one. A digit moves by whole
    # pixels, so its shape persists exactly (a persistence of 0.97 or more after resampling).
    spec = ObjectSpec(level=level, area=(float(objs.area.min()), float(objs.area.max())), max_radius=patch / 2,
                      min_persistence=0.75, max_area_swing=1.2, join=1)
    return spec, (float(reach[0]), float(reach[1]))


class MovingDigits(ProceduralVideos):
    """Moving MNIST digits, grey on black (replicated to RGB), 3-6% of the frame per step, bouncing off walls.

    ``split``: train = the first 400 digits of each class, test = the last 100 (unseen writers), all = both.
    """

    class_names = tuple(str(d) for d in range(10))

    def __init__(
        self,
        num_frames: int = 8,
        resolution: int | tuple[int, int] = 32,
        length: int = 50_000,
        seed: int = 0,
        split: str = "train",  # train | test | all: which MNIST-5k digits are drawn
    ) -> None:
        super().__init__(num_frames, resolution, length, seed)
        self.split = split
        self.patch = digit_size(min(self.height, self.width))
        self.bank = digit_bank(self.patch)
        chosen = split_mask(self.bank.labels, split) & self.bank.usable
        self.digits = [np.flatnonzero(chosen & (self.bank.labels == c)) for c in range(10)]
        if min(len(d) for d in self.digits) == 0:
            raise ValueError(f"no usable digit of some class at {self.patch}-pixel digits; use larger frames")

    def render(self, rng: np.random.Generator, label: int) -> np.ndarray:
        h, w, t, p = self.height, self.width, self.num_frames, self.patch
        patch = self.bank.patches[rng.choice(self.digits[label])]
        low = np.zeros(2, np.float32)
        high = np.array([h - p, w - p], np.float32)
        start = rng.random(2, dtype=np.float32) * high
        heading = rng.uniform(0, 2 * np.pi)
        velocity = rng.uniform(*_SPEED) * min(h, w) * np.array([np.sin(heading), np.cos(heading)], np.float32)
        corners = np.rint(bounce(start, velocity, low, high, t)).astype(np.int64)
        frames = np.zeros((t, h, w), np.uint8)
        for k, (y, x) in enumerate(corners):
            frames[k, y : y + p, x : x + p] = patch
        return np.repeat(frames[..., None], 3, axis=-1)

    def frame_scores(self, frames: np.ndarray) -> np.ndarray:
        """Normalised correlation of each frame's digit crop with the class templates (0 for empty frames)."""
        patch = digit_size(min(frames.shape[1:3]))
        crops = digit_crops(frames.mean(axis=-1), patch)
        scores = _normalise(crops) @ digit_bank(patch).templates.T
        scores[~crops.any(axis=(1, 2))] = 0.0
        return scores

    # The strict judge [dvdgan.data.judge]
    def object_spec(self) -> ObjectSpec:
        return digit_spec(self.patch)[0]

    def colour_wrong(self, objs: FrameObjects, label: int) -> bool:
        return bool((np.abs(chroma(objs.colour) - 1 / 3) > _GREY).any())  # grey

    def shape_wrong(self, objs: FrameObjects, label: int) -> bool:
        """The class template must match the digit best in every frame (real digits: by construction)."""
        return bool((self.frame_scores(objs.image[..., None]).argmax(axis=1) != label).any())

    def track_reason(self, objs: FrameObjects, label: int) -> str | None:
        size = min(self.height, self.width)
        return bounce_track_reason(objs, (_SPEED[0] * size, _SPEED[1] * size), digit_spec(self.patch)[1])
