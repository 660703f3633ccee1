"""uint8 clips -> I3D logits -> FeatureStats, with the original FVD preprocessing (docs/architecture.md section 7).

Preprocessing as google-research `frechet_video_distance`: uint8 frames -> float 0..255 -> TF1
`resize_bilinear` to 224x224 -> `2x/255 - 1` -> I3D; the embedding is the 400-d time-averaged logits.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import numpy as np
import torch
from tqdm import tqdm

from dvdgan.metrics.i3d import INPUT_SIZE, MIN_FRAMES, NUM_CLASSES
from dvdgan.metrics.resize import tf1_resize_bilinear
from dvdgan.metrics.stats import FeatureStats

Clip = np.ndarray | torch.Tensor


def check_num_frames(num_frames: int) -> None:
    if num_frames < MIN_FRAMES:
        raise ValueError(f"FVD is undefined for clips of {num_frames} frames: the I3D network needs at least "
                         f"{MIN_FRAMES} frames (16 is the standard FVD protocol)")


def as_clip_thwc(clip: Clip) -> torch.Tensor:
    """One uint8 clip `[T, H, W, C]` or `[T, C, H, W]` (C in {1, 3}) -> uint8 torch `[T, H, W, 3]`."""
    clip = torch.as_tensor(clip)
    if clip.dtype != torch.uint8:
        raise TypeError(f"clips must be uint8 in 0..255, got {clip.dtype} (convert generator output with "
                        "dvdgan.video.video_to_uint8)")
    if clip.ndim != 4:
        raise ValueError(f"a clip must be [T, H, W, C] or [T, C, H, W], got shape {tuple(clip.shape)}")
    if clip.shape[-1] not in (1, 3) and clip.shape[1] in (1, 3):
        clip = clip.permute(0, 2, 3, 1)
    if clip.shape[-1] == 1:  # grayscale: I3D is an RGB network
        clip = clip.expand(*clip.shape[:-1], 3)
    if clip.shape[-1] != 3:
        raise ValueError(f"cannot find a channel axis of size 1 or 3 in clip shape {tuple(clip.shape)}")
    check_num_frames(clip.shape[0])
    return clip


def preprocess_clips(clips: torch.Tensor, resize: str = "tf1") -> torch.Tensor:
    """uint8 `[B, T, H, W, 3]` -> I3D input `[B, T, 3, 224, 224]` float in [-1, 1] (FVD preprocessing)."""
    x = clips.permute(0, 1, 4, 2, 3).float()  # 0..255, [B, T, 3, H, W]
    x = tf1_resize_bilinear(x, INPUT_SIZE, method=resize)
    return x * (2.0 / 255.0) - 1.0


def _batches(clips: Iterable[Clip], batch_size: int, max_clips: int | None) -> Iterator[torch.Tensor]:
    it = iter(clips) if max_clips is None else itertools.islice(clips, max_clips)
    while batch := [as_clip_thwc(c) for c in itertools.islice(it, batch_size)]:
        shapes = {tuple(c.shape) for c in batch}
        if len(shapes) > 1:
            raise ValueError(f"clips in one batch differ in shape: {sorted(shapes)}")
        yield torch.stack(batch)


@torch.inference_mode()
def compute_statistics(clips: Iterable[Clip], i3d: torch.nn.Module, batch_size: int = 8, resize: str = "tf1",
                       max_clips: int | None = None, device: torch.device | str | None = None,
                       num_frames: int | None = None, keep_features: bool = True,
                       progress: bool = True, desc: str = "I3D") -> FeatureStats:
    """Stream uint8 clips (`[T, H, W, C]` or `[T, C, H, W]`, numpy or torch) through I3D into FeatureStats
    of the 400-d logits (kept per clip when `keep_features`, for IS/KVD).

    Reads at most `max_clips`; `num_frames`, if given, is required of every clip (a protocol's frame count).
    `device` defaults to the network's.
    """
    if device is None:
        device = next(i3d.parameters()).device
    stats = FeatureStats(NUM_CLASSES, keep_features=keep_features)
    total = len(clips) if hasattr(clips, "__len__") else None
    if max_clips is not None:
        total = max_clips if total is None else min(total, max_clips)
    with tqdm(total=total, desc=desc, unit="clip", disable=not progress) as bar:
        for batch in _batches(clips, batch_size, max_clips):
            if num_frames is not None and batch.shape[1] != num_frames:
                raise ValueError(f"expected clips of {num_frames} frames, got {batch.shape[1]}")
            logits, _ = i3d(preprocess_clips(batch.to(device), resize))
            stats.update(logits)
            bar.update(len(batch))
    return stats
