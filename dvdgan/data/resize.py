"""Spatial resizing of frames: short side to ``size`` with an area filter, then a centre crop.

[docs/architecture.md section 6]
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_crop(frame: np.ndarray, size: int) -> np.ndarray:
    """uint8 ``[H, W, C]`` -> ``[size, size, C]``: scale the short side to ``size``, centre-crop the long one.

    Downscaling uses PIL's BOX filter (area averaging, no aliasing of thin lines or small objects); upscaling,
    which area filters cannot do, uses bicubic. A frame whose short side already is ``size`` is only cropped.
    """
    h, w = frame.shape[:2]
    if (h, w) == (size, size):
        return frame
    if min(h, w) != size:
        scale = size / min(h, w)
        new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
        image = Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame)
        resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC
        frame = np.asarray(image.resize((new_w, new_h), resample=resample)).reshape(new_h, new_w, -1)
        h, w = new_h, new_w
    top, left = (h - size) // 2, (w - size) // 2
    return frame[top : top + size, left : left + size]


def resize_clip(clip: np.ndarray, size: int) -> np.ndarray:
    """``resize_crop`` every frame of a uint8 clip ``[T, H, W, C]``."""
    if clip.shape[1:3] == (size, size):
        return clip
    return np.stack([resize_crop(frame, size) for frame in clip])
