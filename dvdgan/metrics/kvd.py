"""Kernel Video Distance: unbiased polynomial-kernel MMD^2 (the KID estimator of Binkowski et al. 2018)
on the same I3D-400 logits as FVD (Unterthiner et al. 2018; docs/architecture.md section 7)."""

from __future__ import annotations

import numpy as np

from dvdgan.metrics.stats import FeatureStats


def _as_features(x: np.ndarray | FeatureStats) -> np.ndarray:
    return np.asarray(x.features if isinstance(x, FeatureStats) else x, np.float64)


def kernel_video_distance(features1: np.ndarray | FeatureStats, features2: np.ndarray | FeatureStats,
                          num_subsets: int = 100, max_subset_size: int = 1000, seed: int = 0) -> float:
    """Mean over `num_subsets` random subsets (size m = min(n1, n2, max_subset_size)) of the unbiased MMD^2
    with kernel k(x, y) = (x.y / d + 1)^3, as StyleGAN2-ADA's KID. Zero in expectation for equal
    distributions (can be slightly negative); symmetric in its arguments up to subset sampling."""
    x_all, y_all = _as_features(features1), _as_features(features2)
    if x_all.ndim != 2 or y_all.ndim != 2 or x_all.shape[1] != y_all.shape[1]:
        raise ValueError(f"feature shapes differ: {x_all.shape} vs {y_all.shape}")
    d = x_all.shape[1]
    m = min(len(x_all), len(y_all), max_subset_size)
    if m < 2:
        raise ValueError(f"KVD needs at least 2 samples per set, got {len(x_all)} and {len(y_all)}")
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(num_subsets):
        x = x_all[rng.choice(len(x_all), m, replace=False)]
        y = y_all[rng.choice(len(y_all), m, replace=False)]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        total += within - 2 * kxy.sum() / (m * m)
    return float(total / num_subsets)
