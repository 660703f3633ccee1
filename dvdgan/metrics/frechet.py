"""Fréchet distance between Gaussians, in float64 (FVD: Unterthiner et al. 2018; docs/architecture.md section 7).

d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), with `scipy.linalg.sqrtm` as pytorch-fid / StyleGAN-V.
The original FVD code (TF-GAN) takes the trace of the square root via SVDs instead; the two agree to ~1e-6
relative on full-rank covariances (docs/i3d.md section 1).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from dvdgan.metrics.stats import FeatureStats


def _sqrtm(mat: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return linalg.sqrtm(mat)


def frechet_distance(mu1: np.ndarray | FeatureStats, sigma1: np.ndarray | FeatureStats | None = None,
                     mu2: np.ndarray | None = None, sigma2: np.ndarray | None = None,
                     eps: float = 1e-6, imag_tol: float = 1e-3) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2); also `frechet_distance(stats1, stats2)`.

    Near-singular products (e.g. fewer clips than feature dims) can make `sqrtm` non-finite or give it a
    large imaginary part; then `eps * I` is added to both covariances, as pytorch-fid does. A remaining
    imaginary part larger than `imag_tol` (relative to the trace scale) is an error; otherwise the real part is
    used. Rounding can make the value slightly negative; it is clamped at 0.
    """
    if isinstance(mu1, FeatureStats):
        if not isinstance(sigma1, FeatureStats) or mu2 is not None or sigma2 is not None:
            raise TypeError("pass either two FeatureStats or mu1, sigma1, mu2, sigma2")
        mu1, sigma1, mu2, sigma2 = mu1.mean, mu1.cov, sigma1.mean, sigma1.cov
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")

    scale = max(1.0, (np.trace(sigma1) + np.trace(sigma2)) / (2 * len(mu1)))

    def imag_error(m: np.ndarray) -> float:
        return float(np.abs(np.diagonal(m).imag).max()) / scale if np.iscomplexobj(m) else 0.0

    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all() or imag_error(covmean) > imag_tol:
        offset = np.eye(len(mu1)) * eps * scale
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
        if not np.isfinite(covmean).all():
            raise ValueError("matrix square root is not finite even after adding eps*I to the covariances")
    if imag_error(covmean) > imag_tol:
        raise ValueError(f"matrix square root has an imaginary part of {imag_error(covmean) * scale:.3g}")
    covmean = covmean.real
    diff = mu1 - mu2
    fd = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)
    return float(max(fd, 0.0))
