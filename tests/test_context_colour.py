"""The DVD-GAN-FP colour-agreement diagnostic: 1 when predictions keep their context's colour, ~0 when they don't."""

from __future__ import annotations

import numpy as np
import pytest

from dvdgan.metrics.context_colour import chromaticity, colour_agreement


def _clips(colours: np.ndarray, frames: int) -> np.ndarray:
    """One square of each colour on black, [N, frames, 16, 16, 3]."""
    clips = np.zeros((len(colours), frames, 16, 16, 3), np.uint8)
    clips[:, :, 5:10, 5:10] = colours[:, None, None, None]
    return clips


def test_chromaticity_of_the_object_not_the_background() -> None:
    c = chromaticity(_clips(np.array([[200, 100, 100]]), 2))
    assert np.allclose(c, [[0.5, 0.25, 0.25]], atol=1e-3)


def test_agreement_tells_kept_colours_from_ignored_ones() -> None:
    rng = np.random.default_rng(0)
    colours = rng.integers(40, 256, (64, 3))
    context = _clips(colours, 2)
    assert colour_agreement(context, _clips(colours, 3)) == pytest.approx(1.0, abs=1e-6)
    unrelated = colour_agreement(context, _clips(rng.integers(40, 256, (64, 3)), 3))
    assert abs(unrelated) < 0.3
    assert colour_agreement(context, _clips(np.tile([[0, 255, 0]], (64, 1)), 3)) == 0.0  # one colour for all
    with pytest.raises(ValueError, match="same number"):
        colour_agreement(context, _clips(colours[:10], 3))
