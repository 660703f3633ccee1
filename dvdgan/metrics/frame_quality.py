"""Per-frame PSNR and SSIM between predicted and real future frames (DVD-GAN-FP's secondary table).

SSIM follows Wang et al. 2004: 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, dynamic range 255,
'valid' filtering, computed per RGB channel and averaged.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _as_float(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dim() != 5 or t.shape[-1] not in (1, 3):
        raise ValueError(f"expected uint8 clips [N, T, H, W, C], got {list(t.shape)}")
    return t.to(torch.float64)


def psnr_per_frame(pred: np.ndarray | torch.Tensor, real: np.ndarray | torch.Tensor) -> np.ndarray:
    """Mean over clips of each frame's PSNR in dB (range 0..255); identical frames give +inf."""
    p, r = _as_float(pred), _as_float(real)
    if p.shape != r.shape:
        raise ValueError(f"prediction {list(p.shape)} and real {list(r.shape)} clips differ in shape")
    mse = ((p - r) ** 2).mean(dim=(2, 3, 4))  # [N, T]
    with np.errstate(divide="ignore"):
        psnr = 10 * np.log10(255.0**2 / mse.numpy())
    return psnr.mean(axis=0)


def _gaussian(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim_per_frame(pred: np.ndarray | torch.Tensor, real: np.ndarray | torch.Tensor) -> np.ndarray:
    """Mean over clips of each frame's SSIM (1 = identical)."""
    p, r = _as_float(pred), _as_float(real)
    if p.shape != r.shape:
        raise ValueError(f"prediction {list(p.shape)} and real {list(r.shape)} clips differ in shape")
    n, t, h, w, c = p.shape
    size = min(11, h, w)
    g = _gaussian(size)
    kernel = (g[:, None] * g[None, :])[None, None].repeat(c, 1, 1, 1)

    def filt(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, kernel, groups=c)

    a = p.reshape(n * t, h, w, c).permute(0, 3, 1, 2)
    b = r.reshape(n * t, h, w, c).permute(0, 3, 1, 2)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = filt(a), filt(b)
    var_a = filt(a * a) - mu_a**2
    var_b = filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    ssim = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return ssim.mean(dim=(1, 2, 3)).view(n, t).mean(dim=0).numpy()
