"""Exports for DVD-GAN-FP models of footage: example context clips (``contexts.npz``) that ``dvdgan sample``
continues when given none, and float16 weights that load as the network's float32 (issue 23: a shipped 64x64
model of the robot benchmark)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import dvdgan
from _train_helpers import micro_cfg
from dvdgan.cli import main
from dvdgan.release.format import read_header
from dvdgan.training.checkpoint import load_checkpoint
from dvdgan.training.loop import train


@pytest.fixture(scope="module")
def fp_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fp_export") / "run"
    cfg = micro_cfg("train.steps=2", "model.context_frames=1", "data.source=motion", preset="tiny-fp")
    train(cfg, out, quiet=True)
    return out


def _as_footage(export: Path) -> None:
    """Make ``export`` a model of the user's own footage: no built-in data to take held-out contexts from."""
    doc = json.loads((export / "config.json").read_text())
    doc["trained"]["data"]["source"] = "folder:/elsewhere"
    (export / "config.json").write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, np.ndarray]:
    arr = np.random.default_rng(3).integers(0, 256, (20, 6, 16, 16, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("ctx") / "clips.npz"
    np.savez(path, videos=arr)
    return path, arr


def test_an_fp_export_carries_example_contexts_that_sample_continues(fp_run, clips, tmp_path, capsys) -> None:
    path, arr = clips
    out = tmp_path / "export"
    assert main(["export", str(fp_run), str(out), "--contexts", str(path)]) == 0
    assert "contexts.npz" in capsys.readouterr().out
    _as_footage(out)
    with np.load(out / "contexts.npz", allow_pickle=False) as f:
        stored = f["videos"]
    assert np.array_equal(stored, arr[:16, :4])  # at most 16 clips, the model's 4 frames
    assert "continues the example clips in contexts.npz" in (out / "README.md").read_text()
    grid = tmp_path / "g.npz"
    assert main(["sample", str(out), "--n", "2", "--out", str(grid)]) == 0
    assert "continuing the example clips of" in capsys.readouterr().err
    videos = np.load(grid)["videos"]
    assert videos.shape == (10 * 3, 4, 16, 16, 3) and np.array_equal(videos[0], stored[0])  # real clip, 2 futures
    assert np.array_equal(videos[1, :1], stored[0, :1])  # a future keeps its context frame


def test_an_fp_export_without_contexts_still_asks_for_them(fp_run, clips, tmp_path, capsys) -> None:
    out = tmp_path / "export"
    assert main(["export", str(fp_run), str(out), "--contexts", str(clips[0])]) == 0
    assert main(["export", str(fp_run), str(out)]) == 0  # again without: the old examples go
    assert not (out / "contexts.npz").exists()
    _as_footage(out)
    capsys.readouterr()
    assert main(["sample", str(out), "--out", str(tmp_path / "x.gif")]) == 2
    assert "pass --context" in capsys.readouterr().err


def test_contexts_are_refused_for_synthesis_models_and_wrong_shapes(fp_run, tmp_path, capsys) -> None:
    synthesis = tmp_path / "syn"
    train(micro_cfg("train.steps=1"), synthesis, quiet=True)
    good = tmp_path / "c.npy"
    np.save(good, np.zeros((2, 4, 16, 16, 3), np.uint8))
    capsys.readouterr()
    assert main(["export", str(synthesis), str(tmp_path / "e1"), "--contexts", str(good)]) == 2
    assert "example contexts are for DVD-GAN-FP models" in capsys.readouterr().err
    wrong = tmp_path / "w.npy"
    np.save(wrong, np.zeros((2, 4, 32, 32, 3), np.uint8))
    assert main(["export", str(fp_run), str(tmp_path / "e2"), "--contexts", str(wrong)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "example contexts must be uint8 [N, T >= 1, 16, 16, 3], got uint8 [2, 4, 32, 32, 3]" in err[0]
    assert main(["export", str(fp_run), str(tmp_path / "e3"), "--contexts", str(tmp_path / "none.mp4")]) == 2
    assert "expected an existing .npy or .npz file" in capsys.readouterr().err


def test_fp16_weights_halve_the_file_and_load_as_float32(fp_run, tmp_path) -> None:
    full, half = tmp_path / "full", tmp_path / "half"
    assert main(["export", str(fp_run), str(full)]) == 0
    assert main(["export", str(fp_run), str(half), "--fp16"]) == 0
    declared = read_header(half / "model.safetensors")
    assert {t.dtype for t in declared.values() if t.is_floating_point()} == {torch.float16}
    assert (half / "model.safetensors").stat().st_size < 0.6 * (full / "model.safetensors").stat().st_size
    G16, G32 = dvdgan.from_pretrained(half), dvdgan.from_pretrained(full)
    assert all(p.dtype == torch.float32 for p in G16.state_dict().values() if p.is_floating_point())
    reference = load_checkpoint(fp_run).G_ema.state_dict()
    for name, value in G16.state_dict().items():  # each weight is the fp32 one rounded to fp16
        if value.is_floating_point():
            assert torch.equal(value, reference[name].half().float()), name
    context = torch.rand(2, 1, 3, 16, 16) * 2 - 1
    z = G32.sample_z(2)
    with torch.no_grad():
        gap = (G16(z, context=context) - G32(z, context=context)).abs().max()
    assert 0 < gap < 0.05  # rounded, not another model
    assert json.loads((half / "config.json").read_text())["model"]["context_frames"] == 1
