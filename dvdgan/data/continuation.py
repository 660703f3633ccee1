"""DVD-GAN-FP on the built-in data: does the prediction keep the context's object and continue its track?

For every predicted frame of a clip, with the data's own object measurements (``dvdgan.data.objects``):

- **colour kept**: one object is found, its chromaticity is within 0.15 (L1) of the context object's (the last
  context frame) and its brightness within [0.75, 1.33] of it;
- **shape kept**: its soft IoU with the real future frame's object, aligned on the centroid (and on orientation and
  scale for data whose objects turn or zoom), reaches the data's own least frame-to-frame persistence;
- **track error**: the distance in pixels from its centroid to the real future's; a frame with no object counts
  as the frame's diagonal (the prediction lost the object).

Two baselines on the same clips put the numbers in context: repeating the last context frame (keeps colour and
shape, does not move) and the real future itself (keeps everything, error 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dvdgan.data.judge import chroma, measure_clip
from dvdgan.data.objects import OK, FrameObjects, overlap

_HUE = 0.15
_BRIGHTNESS = (0.75, 1.0 / 0.75)


@dataclass(frozen=True)
class Continuation:
    """Per predicted frame: share with colour kept, with shape kept, with both, and the mean track error."""

    colour: tuple[float, ...]
    shape: tuple[float, ...]
    kept: tuple[float, ...]
    track_error: tuple[float, ...]

    def as_dict(self, prefix: str) -> dict[str, float | list[float]]:
        return {f"{prefix}_kept": float(np.mean(self.kept)), f"{prefix}_colour": float(np.mean(self.colour)),
                f"{prefix}_shape": float(np.mean(self.shape)),
                f"{prefix}_track_error": float(np.mean(self.track_error)),
                f"{prefix}_kept_per_frame": [round(v, 4) for v in self.kept],
                f"{prefix}_track_error_per_frame": [round(v, 3) for v in self.track_error]}


def continuation(dataset, context: np.ndarray, predicted: np.ndarray, future: np.ndarray) -> Continuation:
    """Score uint8 predictions ``[N, P, H, W, C]`` of contexts ``[N, C_t, H, W, C]`` against the real futures
    ``[N, P, H, W, C]`` of built-in data ``dataset``."""
    if not len(context) == len(predicted) == len(future) or predicted.shape != future.shape:
        raise ValueError(f"continuation needs matching contexts, predictions and futures, got {list(context.shape)}, "
                         f"{list(predicted.shape)} and {list(future.shape)}")
    spec = dataset.object_spec()
    rows = [_score(spec, measure_clip(spec, c[-1:]), measure_clip(spec, p), measure_clip(spec, f))
            for c, p, f in zip(context, predicted, future, strict=True)]
    colour, shape, error = (np.mean([r[k] for r in rows], axis=0) for k in range(3))
    kept = np.mean([r[0] & r[1] for r in rows], axis=0)
    return Continuation(*(tuple(float(v) for v in a) for a in (colour, shape, kept, error)))


def _score(spec, last: FrameObjects, pred: FrameObjects, real: FrameObjects) -> tuple[np.ndarray, ...]:
    """(colour kept, shape kept, track error) per predicted frame of one clip."""
    n = len(pred.area)
    h, w = pred.cover.shape[1:]
    found = pred.status == OK
    hue = np.abs(chroma(pred.colour) - chroma(last.colour)).sum(axis=1)
    brightness = pred.peak / max(float(last.peak[0]), 1e-6)
    colour = found & (hue <= _HUE) & (brightness >= _BRIGHTNESS[0]) & (brightness <= _BRIGHTNESS[1])
    shape = found & np.array([overlap(real[t : t + 1], pred[t : t + 1], spec.similarity) >= spec.min_persistence
                              for t in range(n)])
    error = np.where(found, np.hypot(pred.cy - real.cy, pred.cx - real.cx), np.hypot(h, w))
    return colour, shape, error


def continuation_with_baselines(dataset, context: np.ndarray, predicted: np.ndarray,
                                future: np.ndarray) -> dict[str, float | list[float]]:
    """The model's continuation and, on the same clips, repeating the last context frame and the real future."""
    repeat = np.repeat(context[:, -1:], predicted.shape[1], axis=1)
    out: dict[str, float | list[float]] = {}
    for name, clips in (("continuation", predicted), ("continuation_repeat", repeat),
                        ("continuation_real", future)):
        out.update(continuation(dataset, context, clips, future).as_dict(name))
    return out
