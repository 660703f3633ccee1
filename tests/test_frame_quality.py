"""PSNR / SSIM for DVD-GAN-FP's secondary table."""

from __future__ import annotations

import numpy as np

from dvdgan.metrics.frame_quality import psnr_per_frame, ssim_per_frame


def test_psnr_matches_formula_and_ssim_bounds() -> None:
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (3, 4, 16, 16, 3), dtype=np.uint8)
    pred = real.copy()
    pred[:, 1] = np.clip(real[:, 1].astype(int) + 10, 0, 255)  # frame 1 shifted by (at most) 10 levels
    psnr = psnr_per_frame(pred, real)
    mse = ((pred[:, 1].astype(float) - real[:, 1]) ** 2).mean(axis=(1, 2, 3))
    assert np.isinf(psnr[0]) and np.isclose(psnr[1], np.mean(10 * np.log10(255**2 / mse)))
    ssim = ssim_per_frame(pred, real)
    assert np.allclose(ssim[[0, 2, 3]], 1.0) and 0.5 < ssim[1] < 1.0
    noise = rng.integers(0, 256, real.shape, dtype=np.uint8)
    assert ssim_per_frame(noise, real).max() < 0.1
