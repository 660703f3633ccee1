"""Colour agreement between a DVD-GAN-FP model's context and its prediction [ours; a diagnostic, not a paper metric].

On data of coloured objects on a dark background (the built-in procedural sets), a predictor that keeps the
context's objects gives each clip's prediction that clip's colour; one that ignores the context does not. The
agreement is the correlation across clips of the chromaticity (r, g, b over r + g + b) of the brightest 10% of
pixels, averaged over the three channels: about 0 when the context is ignored, 1 when every clip keeps its colour.
"""

from __future__ import annotations

import numpy as np


def chromaticity(frames: np.ndarray) -> np.ndarray:
    """uint8 ``[N, M, H, W, 3]`` (M frames per clip) -> ``[N, 3]``: mean chromaticity of each clip's brightest 10%."""
    if frames.ndim != 5 or frames.shape[-1] != 3:
        raise ValueError(f"chromaticity expects RGB clips [N, M, H, W, 3], got {list(frames.shape)}")
    flat = frames.reshape(len(frames), -1, 3).astype(np.float64)
    k = max(1, flat.shape[1] // 10)
    top = np.argsort(-flat.max(axis=-1), axis=1, kind="stable")[:, :k]
    colour = np.take_along_axis(flat, top[..., None], axis=1).mean(axis=1)
    return colour / (colour.sum(axis=1, keepdims=True) + 1e-6)


def colour_agreement(context: np.ndarray, predicted: np.ndarray) -> float:
    """Mean over r, g, b of the across-clip correlation of the last context frame's and the prediction's colour.

    ``context`` and ``predicted`` are uint8 ``[N, *, H, W, 3]``; a channel whose colour does not vary across the
    clips (no signal to agree on) counts as 0.
    """
    if len(context) != len(predicted) or len(context) < 2:
        raise ValueError(f"colour_agreement needs the same number (>= 2) of contexts and predictions, got "
                         f"{len(context)} and {len(predicted)}")
    real, fake = chromaticity(context[:, -1:]), chromaticity(predicted)
    corr = []
    for j in range(3):
        if real[:, j].std() < 1e-9 or fake[:, j].std() < 1e-9:
            corr.append(0.0)
        else:
            corr.append(float(np.corrcoef(real[:, j], fake[:, j])[0, 1]))
    return float(np.mean(corr))
