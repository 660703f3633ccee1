"""FVD / IS / KVD between two sources of uint8 clips under a named protocol (docs/architecture.md section 7).

FVD as the original code (Unterthiner et al. 2018): TF1 resize to 224, I3D-400 logits, Fréchet distance with
unbiased covariances. IS and KVD use the same Kinetics-400 logits, so they are I3D-400 numbers, not the DVD-GAN
paper's I3D-600 ones; the result keys say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from dvdgan.metrics.features import Clip, compute_statistics
from dvdgan.metrics.frechet import frechet_distance
from dvdgan.metrics.inception_score import inception_score
from dvdgan.metrics.kvd import kernel_video_distance
from dvdgan.metrics.stats import FeatureStats
from dvdgan.protocols import Protocol, get_protocol

METRICS = ("fvd", "is", "kvd")


def _check_count(stats: FeatureStats, wanted: int, what: str, protocol: Protocol, strict: bool) -> None:
    if stats.count < wanted and strict:
        raise ValueError(f"{protocol.name} needs {wanted} {what} clips, got {stats.count}; use a protocol "
                         "matching your data or strict=False (and do not report the number under this name)")
    if stats.count < 2:
        raise ValueError(f"need at least 2 {what} clips, got {stats.count}")


def compute_video_metrics(real_clips: Iterable[Clip] | FeatureStats, fake_clips: Iterable[Clip] | FeatureStats,
                          i3d: torch.nn.Module | None, protocol: str | Protocol = "fvd2048_16f",
                          metrics: Sequence[str] = METRICS, batch_size: int = 8,
                          device: torch.device | str | None = None, strict: bool = True, progress: bool = True,
                          is_splits: int = 10) -> dict[str, float | int | str]:
    """FVD (and IS of the fake clips, KVD) between two sources of uint8 clips `[T, H, W, C]`.

    Either source may be precomputed FeatureStats (e.g. from `cached_statistics`; IS/KVD need kept
    features). At most the protocol's counts are read; fewer is an error when `strict`.
    Returns `{"protocol", "num_real", "num_fake", "fvd", "is_i3d400", "is_i3d400_std", "kvd_i3d400"}` (the
    ones asked for by `metrics`).
    """
    protocol = get_protocol(protocol)
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {METRICS}")
    keep = bool({"is", "kvd"} & set(metrics))

    def stats_of(src: Iterable[Clip] | FeatureStats, n: int, what: str) -> FeatureStats:
        if isinstance(src, FeatureStats):
            return src
        if i3d is None:
            raise ValueError("an I3D network is needed to compute statistics from clips")
        return compute_statistics(src, i3d, batch_size, resize=protocol.resize, max_clips=n, device=device,
                                  num_frames=protocol.num_frames, keep_features=keep, progress=progress,
                                  desc=f"I3D {what}")

    real = stats_of(real_clips, protocol.num_real, "real")
    fake = stats_of(fake_clips, protocol.num_fake, "fake")
    _check_count(real, protocol.num_real, "real", protocol, strict)
    _check_count(fake, protocol.num_fake, "fake", protocol, strict)
    out: dict[str, float | int | str] = {"protocol": protocol.name, "num_real": real.count, "num_fake": fake.count}
    if "fvd" in metrics:
        out["fvd"] = frechet_distance(real, fake)
    if "is" in metrics:
        out["is_i3d400"], out["is_i3d400_std"] = inception_score(fake, splits=min(is_splits, fake.count))
    if "kvd" in metrics:
        out["kvd_i3d400"] = kernel_video_distance(real, fake)
    return out
