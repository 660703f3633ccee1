"""Streaming feature statistics for FVD/IS/KVD (docs/architecture.md section 7).

Accumulates count, sum and sum of outer products in float64, so statistics from batches, shards and DDP ranks
merge exactly; `cov` is the unbiased (N-1) covariance of TF-GAN's `frechet_classifier_distance`, which the
original FVD code uses. Optionally keeps the features themselves (IS and KVD need samples, not moments).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from dvdgan.metrics._io import atomic_write

STATS_FORMAT = 1


class FeatureStats:
    """Running moments of `dim`-dimensional features; `keep_features=True` also stores the rows."""

    def __init__(self, dim: int, keep_features: bool = False) -> None:
        self.dim = dim
        self.keep_features = keep_features
        self.count = 0
        self.sum = np.zeros(dim, np.float64)
        self.sum_outer = np.zeros((dim, dim), np.float64)
        self._chunks: list[np.ndarray] = []

    def update(self, features: np.ndarray | torch.Tensor) -> None:
        """Add a batch `[N, dim]`."""
        if isinstance(features, torch.Tensor):
            features = features.detach().cpu().numpy()
        x = np.asarray(features, np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected features [N, {self.dim}], got {x.shape}")
        self.count += x.shape[0]
        self.sum += x.sum(axis=0)
        self.sum_outer += x.T @ x
        if self.keep_features:
            self._chunks.append(x)

    @property
    def features(self) -> np.ndarray:
        if not self.keep_features:
            raise ValueError("these statistics were accumulated without keep_features=True")
        if len(self._chunks) != 1:
            self._chunks = [np.concatenate(self._chunks) if self._chunks else np.zeros((0, self.dim), np.float64)]
        return self._chunks[0]

    @property
    def mean(self) -> np.ndarray:
        if self.count < 1:
            raise ValueError("no features accumulated")
        return self.sum / self.count

    @property
    def cov(self) -> np.ndarray:
        """Unbiased covariance (divides by N-1), as TF-GAN / the original FVD."""
        if self.count < 2:
            raise ValueError(f"covariance needs at least 2 samples, got {self.count}")
        mu = self.mean
        cov = (self.sum_outer - self.count * np.outer(mu, mu)) / (self.count - 1)
        return (cov + cov.T) / 2  # exact symmetry; rounding in the sums can break it by ~1 ulp

    def merge(self, other: FeatureStats) -> FeatureStats:
        """Add `other`'s samples to these statistics (in place); returns self."""
        if other.dim != self.dim:
            raise ValueError(f"cannot merge statistics of dim {other.dim} into dim {self.dim}")
        self.count += other.count
        self.sum += other.sum
        self.sum_outer += other.sum_outer
        if self.keep_features:
            if not other.keep_features:
                raise ValueError("cannot merge statistics without kept features into ones that keep them")
            self._chunks.append(other.features)
        return self

    def all_reduce(self, device: torch.device | str | None = None) -> FeatureStats:
        """Sum the statistics of all ranks in place (no-op unless torch.distributed is initialised).

        Every rank ends with the totals; kept features are gathered in rank order. `device` is where the
        reduction tensors live (NCCL needs the rank's GPU; default: CPU, or the current CUDA device for NCCL).
        """
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return self
        if device is None:
            device = (torch.device("cuda", torch.cuda.current_device())
                      if dist.get_backend() == "nccl" else torch.device("cpu"))
        flat = np.concatenate([[float(self.count)], self.sum, self.sum_outer.ravel()])
        t = torch.from_numpy(flat).to(device)
        dist.all_reduce(t)
        flat = t.cpu().numpy()
        self.count = int(round(flat[0]))
        self.sum = flat[1:1 + self.dim].copy()
        self.sum_outer = flat[1 + self.dim:].reshape(self.dim, self.dim).copy()
        if self.keep_features:
            gathered: list[np.ndarray | None] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, self.features)
            self._chunks = [np.concatenate(gathered)]
        return self

    def save(self, path: str | os.PathLike) -> Path:
        """Write to `.npz` atomically."""
        arrays = {"format": np.array(STATS_FORMAT), "count": np.array(self.count), "sum": self.sum,
                  "sum_outer": self.sum_outer}
        if self.keep_features:
            arrays["features"] = self.features

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        return atomic_write(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike) -> FeatureStats:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != STATS_FORMAT:
                raise ValueError(f"{path}: unsupported statistics format {int(z['format'])}")
            stats = cls(int(z["sum"].shape[0]), keep_features="features" in z.files)
            stats.count = int(z["count"])
            stats.sum = z["sum"].astype(np.float64)
            stats.sum_outer = z["sum_outer"].astype(np.float64)
            if stats.keep_features:
                stats._chunks = [z["features"].astype(np.float64)]
        return stats

    def __repr__(self) -> str:
        return f"FeatureStats(dim={self.dim}, count={self.count}, keep_features={self.keep_features})"
