"""Inception Score from I3D softmax (Salimans et al. 2016; docs/architecture.md section 7).

Computed on the Kinetics-400 I3D logits, so it is an "IS (I3D-400)", not the paper's I3D-600 IS: label it so.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from dvdgan.metrics.stats import FeatureStats


def inception_score(logits: np.ndarray | FeatureStats, splits: int = 10) -> tuple[float, float]:
    """`exp(E_x KL(p(y|x) || p(y)))` over `splits` equal chunks of the samples; returns (mean, std).

    `logits`: `[N, num_classes]` pre-softmax scores (or FeatureStats with kept logits). Softmax is taken in
    float64. As the original IS code, leftover samples (N mod splits) are dropped.
    """
    if isinstance(logits, FeatureStats):
        logits = logits.features
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 2:
        raise ValueError(f"expected logits [N, C], got {logits.shape}")
    n = logits.shape[0]
    if splits < 1 or n < splits:
        raise ValueError(f"need at least one sample per split: {n} samples, {splits} splits")
    log_p = log_softmax(logits, axis=1)
    size = n // splits
    scores = []
    for k in range(splits):
        part = log_p[k * size:(k + 1) * size]
        log_py = np.log(np.exp(part).mean(axis=0))
        kl = (np.exp(part) * (part - log_py)).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))
