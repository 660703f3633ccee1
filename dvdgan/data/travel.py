"""Motion as travel, for the built-in data: does the generated object move like a real one, as one rigid object?

The motion energy (``dvdgan.metrics.motion``) counts every changed pixel, so an object that pinches, flickers or
grows stripes scores as much "motion" as one that travels. Here the data's own object measurements
(``dvdgan.data.objects``, thresholds from the data's ``object_spec``) give, for generated and real clips:

- ``speed``: the object's centroid displacement per time step (pixels), averaged over clips;
- ``net``: the median distance between the object's first and last centroid;
- ``area_swing``: how much the object's area (its pixels at half its brightness or more) varies within a clip
  (standard deviation over mean), averaged;
- ``persistence``: per time step, the soft IoU of the object with itself in the next frame, aligned on its
  centroid (and, for data whose objects turn or zoom, on orientation and scale): 1 for a rigid object.

Only steps where the object is found in both frames count toward speed and persistence; clips with no object in
some frame are left out of ``net`` and ``area_swing`` (the strict judge counts them as empty or faint).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from dvdgan.data.judge import measure_clip
from dvdgan.data.objects import OK, SPLIT, persistence


@dataclass(frozen=True)
class TravelStats:
    speed: tuple[float, ...]  # [T-1]
    net: float
    area_swing: float
    persistence: tuple[float, ...]  # [T-1]


def travel_stats(dataset, clips: Iterable[np.ndarray]) -> TravelStats:
    """``TravelStats`` of uint8 clips ``[T, H, W, C]`` of built-in data ``dataset`` (it supplies ``object_spec``)."""
    spec = dataset.object_spec()
    speeds, persist, nets, swings = [], [], [], []
    for clip in clips:
        objs = measure_clip(spec, clip)
        seen = (objs.status == OK) | (objs.status == SPLIT)
        both = seen[1:] & seen[:-1]
        step = np.hypot(np.diff(objs.cy), np.diff(objs.cx))
        speeds.append(np.where(both, step, np.nan))
        persist.append(np.where(both, persistence(objs, spec.similarity), np.nan))
        if seen.all():
            nets.append(np.hypot(objs.cy[-1] - objs.cy[0], objs.cx[-1] - objs.cx[0]))
            # Pixels at half the object's brightness or more: a rasterised real object's count wobbles by a few
            # percent as it moves by sub-pixel steps, which the eye does not see; its coverage sum would not, so
            # the ratio to the data would measure invisible changes.
            pixels = (objs.cover >= 0.5).sum(axis=(1, 2))
            swings.append(pixels.std() / pixels.mean())
    if not speeds:
        raise ValueError("travel needs at least one clip")
    return TravelStats(_column_means(speeds), float(np.median(nets)) if nets else float("nan"),
                       float(np.mean(swings)) if swings else float("nan"), _column_means(persist))


def _column_means(rows: list[np.ndarray]) -> tuple[float, ...]:
    table = np.stack(rows)
    counts = np.isfinite(table).sum(axis=0)
    sums = np.nansum(table, axis=0)
    return tuple(float(s / n) if n else float("nan") for s, n in zip(sums, counts, strict=True))


@dataclass(frozen=True)
class TravelComparison:
    """Generated (``fake``) against real travel statistics."""

    fake: TravelStats
    real: TravelStats

    @property
    def speed_ratio(self) -> tuple[float, ...]:
        return tuple(f / r for f, r in zip(self.fake.speed, self.real.speed, strict=True))

    @property
    def net_ratio(self) -> float:
        return self.fake.net / self.real.net

    @property
    def area_swing_ratio(self) -> float:
        return self.fake.area_swing / self.real.area_swing

    def as_dict(self, prefix: str = "travel") -> dict[str, float | list[float]]:
        ratio = self.speed_ratio
        return {
            f"{prefix}_speed_ratio_min": min(ratio), f"{prefix}_speed_ratio_max": max(ratio),
            f"{prefix}_speed_ratio": _rounded(ratio), f"{prefix}_speed_fake": _rounded(self.fake.speed),
            f"{prefix}_speed_real": _rounded(self.real.speed), f"{prefix}_net_ratio": self.net_ratio,
            f"{prefix}_net_fake": self.fake.net, f"{prefix}_net_real": self.real.net,
            f"{prefix}_area_swing_ratio": self.area_swing_ratio, f"{prefix}_area_swing_fake": self.fake.area_swing,
            f"{prefix}_area_swing_real": self.real.area_swing,
            f"{prefix}_persistence_fake": _rounded(self.fake.persistence),
            f"{prefix}_persistence_real": _rounded(self.real.persistence),
        }


def _rounded(values: tuple[float, ...]) -> list[float]:
    return [round(v, 4) for v in values]


def compare_travel(dataset, fake: Iterable[np.ndarray], real: Iterable[np.ndarray]) -> TravelComparison:
    """Travel statistics of generated and real uint8 clips of the same length, of built-in data ``dataset``."""
    f, r = travel_stats(dataset, fake), travel_stats(dataset, real)
    if len(f.speed) != len(r.speed):
        raise ValueError(f"travel: generated clips have {len(f.speed) + 1} frames, real ones {len(r.speed) + 1}")
    return TravelComparison(f, r)
