"""The one place where uint8 clips become model videos and back [docs/architecture.md section 1].

Datasets yield ``uint8 [T, H, W, C]``; models take and emit ``float [B, T, C, H, W]`` in [-1, 1].
"""

from __future__ import annotations

import torch


def uint8_to_video(x: torch.Tensor) -> torch.Tensor:
    """``uint8 [B, T, H, W, C]`` -> ``float32 [B, T, C, H, W]`` in [-1, 1] (0 -> -1, 255 -> 1)."""
    if x.dtype != torch.uint8 or x.dim() != 5:
        raise ValueError(f"expected a uint8 tensor [B, T, H, W, C], got {x.dtype} {tuple(x.shape)}")
    return x.permute(0, 1, 4, 2, 3).float().div_(127.5).sub_(1.0)


def video_to_uint8(video: torch.Tensor) -> torch.Tensor:
    """``float [B, T, C, H, W]`` in [-1, 1] -> ``uint8 [B, T, H, W, C]`` (rounded, clamped to 0..255)."""
    if not video.is_floating_point() or video.dim() != 5:
        raise ValueError(f"expected a float tensor [B, T, C, H, W], got {video.dtype} {tuple(video.shape)}")
    x = (video.detach().float() + 1.0).mul_(127.5).round_().clamp_(0, 255)
    return x.to(torch.uint8).permute(0, 1, 3, 4, 2).contiguous()
