"""TF1 resize_bilinear semantics (align_corners=False, half_pixel_centers=False), docs/architecture.md section 7."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dvdgan.metrics.resize import tf1_resize_bilinear


def legacy_bilinear(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """TF1 resize_bilinear written out pixel by pixel: src = dst * in / out (float32), neighbours floor and
    min(ceil, in-1), lerp along x then y. Independent of the vectorised implementation."""
    in_h, in_w = img.shape
    sy, sx = np.float32(in_h) / np.float32(out_h), np.float32(in_w) / np.float32(out_w)
    out = np.zeros((out_h, out_w), np.float32)
    for i in range(out_h):
        fy = np.float32(i) * sy
        y0, y1 = int(np.floor(fy)), min(int(np.ceil(fy)), in_h - 1)
        ly = np.float32(fy - np.floor(fy))
        for j in range(out_w):
            fx = np.float32(j) * sx
            x0, x1 = int(np.floor(fx)), min(int(np.ceil(fx)), in_w - 1)
            lx = np.float32(fx - np.floor(fx))
            top = img[y0, x0] + (img[y0, x1] - img[y0, x0]) * lx
            bottom = img[y1, x0] + (img[y1, x1] - img[y1, x0]) * lx
            out[i, j] = top + (bottom - top) * ly
    return out


def test_ramp_4_to_7_by_hand() -> None:
    # Columns sample x = j * 4/7: 0, .571, 1.143, 1.714, 2.286, 2.857, 3.429 (the last clamps to pixel 3).
    ramp = torch.tensor([0.0, 10.0, 20.0, 30.0]).expand(4, 4)
    out = tf1_resize_bilinear(ramp, (4, 7))
    expected = torch.tensor([0.0, 40 / 7, 80 / 7, 120 / 7, 160 / 7, 200 / 7, 30.0])
    torch.testing.assert_close(out[0], expected, atol=1e-4, rtol=0)
    # Half-pixel centres (PyTorch interpolate) sample (j + .5) * 4/7 - .5 instead: 0 (clamped), 3.57, ...
    hp = tf1_resize_bilinear(ramp, (4, 7), method="half_pixel")
    assert abs(float(hp[0, 1]) - 25 / 7) < 1e-4
    assert (hp[0] - out[0]).abs().max() > 1.0


def test_4x4_to_7x7_matches_formula() -> None:
    img = np.arange(16, dtype=np.float32).reshape(4, 4) ** 1.5
    out = tf1_resize_bilinear(torch.from_numpy(img), 7).numpy()
    np.testing.assert_allclose(out, legacy_bilinear(img, 7, 7), atol=1e-4)
    # Legacy mapping: the first output pixel is the first input pixel; the last ones clamp to the last input.
    assert out[0, 0] == img[0, 0] and out[-1, -1] == img[-1, -1]


@pytest.mark.parametrize(("in_hw", "out_hw"), [((64, 64), (224, 224)), ((48, 80), (224, 224)),
                                               ((300, 260), (224, 224))])
def test_matches_formula_on_random_frames(in_hw: tuple[int, int], out_hw: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, in_hw).astype(np.float32)
    out = tf1_resize_bilinear(torch.from_numpy(img), out_hw).numpy()
    assert out.shape == out_hw and out.dtype == np.float32
    np.testing.assert_allclose(out, legacy_bilinear(img, *out_hw), atol=1e-3)
    hp = tf1_resize_bilinear(torch.from_numpy(img), out_hw, method="half_pixel").numpy()
    assert np.abs(hp - out).mean() > 1.0


def test_leading_dims_identity_and_errors() -> None:
    x = torch.randint(0, 256, (2, 3, 3, 64, 64), dtype=torch.uint8)
    out = tf1_resize_bilinear(x, 224)
    assert out.shape == (2, 3, 3, 224, 224)
    torch.testing.assert_close(out[1, 2, 0], tf1_resize_bilinear(x[1, 2, 0].float(), 224))
    # dst 7k samples src 2k for 64 -> 224 (up to float32 rounding of 64/224, as in TF: lerp ~3e-6).
    torch.testing.assert_close(out[..., ::7, ::7], x.float()[..., ::2, ::2], atol=1e-2, rtol=0)
    same = torch.rand(2, 224, 224)
    assert torch.equal(tf1_resize_bilinear(same, 224), same)
    with pytest.raises(ValueError, match="unknown resize method"):
        tf1_resize_bilinear(same, 224, method="bicubic")
