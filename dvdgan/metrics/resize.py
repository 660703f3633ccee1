"""Frame resizing for FVD: TF1 `tf.image.resize_bilinear` semantics (docs/architecture.md section 7).

The original FVD code (google-research `frechet_video_distance`) resizes frames in 0..255 to 224x224 with
TF1 defaults: align_corners=False, half_pixel_centers=False, i.e. the legacy mapping `src = dst * in / out`
(float32), no antialiasing, no crop. PyTorch's `interpolate` uses half-pixel centres instead, which moves FVD
by ~3% (docs/i3d.md section 6); it is available only as the explicit `"half_pixel"` method.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from dvdgan.protocols import RESIZE_METHODS


def _tf1_axis(in_size: int, out_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # TF computes scale and source coordinates in float32; doing the same keeps lerp weights bit-identical.
    scale = np.float32(in_size) / np.float32(out_size)
    src = np.arange(out_size, dtype=np.float32) * scale
    lower = np.floor(src)
    upper = np.minimum(np.ceil(src), in_size - 1)
    lerp = (src - lower).astype(np.float32)
    return (torch.from_numpy(lower.astype(np.int64)).to(device), torch.from_numpy(upper.astype(np.int64)).to(device),
            torch.from_numpy(lerp).to(device))


def tf1_resize_bilinear(images: torch.Tensor, size: tuple[int, int] | int = 224,
                        method: str = "tf1") -> torch.Tensor:
    """Bilinearly resize the last two dims (H, W) of `images` (any leading dims) to `size`.

    `method="tf1"` (default): TF1 `resize_bilinear(align_corners=False, half_pixel_centers=False)`, lerped
    first along W then along H in float32 as TF does. `method="half_pixel"`: PyTorch
    `interpolate(mode="bilinear", align_corners=False, antialias=False)` (not the FVD reference).
    Returns float32; values are not rescaled (FVD feeds 0..255).
    """
    out_h, out_w = (size, size) if isinstance(size, int) else size
    x = images.float()
    if method == "half_pixel":
        lead = x.shape[:-2]
        y = F.interpolate(x.reshape(-1, 1, *x.shape[-2:]), size=(out_h, out_w), mode="bilinear",
                          align_corners=False, antialias=False)
        return y.reshape(*lead, out_h, out_w)
    if method != "tf1":
        raise ValueError(f"unknown resize method {method!r}; choose from {RESIZE_METHODS}")
    in_h, in_w = x.shape[-2:]
    if (in_h, in_w) == (out_h, out_w):
        return x
    x0, x1, xl = _tf1_axis(in_w, out_w, x.device)
    y0, y1, yl = _tf1_axis(in_h, out_h, x.device)
    left, right = x.index_select(-1, x0), x.index_select(-1, x1)
    rows = left + (right - left) * xl  # [..., in_h, out_w]
    top, bottom = rows.index_select(-2, y0), rows.index_select(-2, y1)
    return top + (bottom - top) * yl.unsqueeze(-1)
