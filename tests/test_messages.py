"""Issue 25: unclear messages and values accepted silently. Each bad input gets, through the real command line, exit
status 2 and one line naming the key, flag or file and what was expected, before anything is written.
docs/bad-inputs.md ("Unclear messages and silent acceptance") lists each case with its message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_bad_inputs import _one_line_error

from _train_helpers import MICRO, micro_cfg
from _video_helpers import clips, write_video
from dvdgan.cli import main
from dvdgan.models import Generator
from dvdgan.release.shipped import shipped_path
from dvdgan.training import checkpoint as ckpt

MICRO_ARGS = [arg for item in MICRO for arg in ("--set", item)]


def _payload(**changes) -> dict:
    cfg = micro_cfg()
    return {"format_version": ckpt.FORMAT_VERSION, "config": cfg.to_dict(), "step": 2,
            "G_ema": Generator(cfg.model).state_dict(), **changes}


@pytest.fixture(scope="module")
def micro_ckpt(tmp_path_factory) -> Path:
    """A loadable checkpoint of the micro model (DVD-GAN, context_frames 0), G_ema only, no training."""
    path = tmp_path_factory.mktemp("ckpt") / "micro.pt"
    torch.save(_payload(), path)
    return path


def _export(tmp_path: Path, edit=None) -> Path:
    """A copy of the shipped tiny-shapes export, its config.json changed by ``edit(doc)``."""
    folder = tmp_path / "export"
    shutil.copytree(shipped_path("tiny-shapes"), folder)
    if edit is not None:
        doc = json.loads((folder / "config.json").read_text())
        edit(doc)
        (folder / "config.json").write_text(json.dumps(doc))
    return folder


# ------------------------------------------------------------------------------------------------------------------
# Config values
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("setting, needle", [
    ("train.lr_g=.nan", "train.lr_g must be a finite number >= 0, got nan"),
    ("train.lr_d=-0.001", "train.lr_d must be a finite number >= 0, got -0.001"),
    ("train.lr_d=inf", "train.lr_d must be a finite number >= 0, got inf"),
    ("train.seed=-1", "train.seed must be an integer in [0, 2**32), got -1"),
    (f"train.seed={2**70}", f"train.seed must be an integer in [0, 2**32), got {2**70}"),
    ("train.threads=-1", "train.threads must be >= 0 (0 = torch's default), got -1"),
])
def test_config_values_name_their_key(tmp_path, capsys, setting, needle) -> None:
    _one_line_error(capsys, ["train", *MICRO_ARGS, "--set", setting, "--out", str(tmp_path / "run")], needle)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("content, needle", [
    (b"train:\n  log_to: ['caf\xe9']\n", "is not UTF-8 text (byte 0xe9 at offset 22); expected a YAML file"),
    (bytes(range(256)), "is not UTF-8 text (byte 0x80 at offset 128); expected a YAML file"),
])
def test_a_config_file_in_another_encoding_is_named(tmp_path, capsys, content, needle) -> None:
    (tmp_path / "c.yaml").write_bytes(content)
    line = _one_line_error(capsys, ["train", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "run")],
                           needle)
    assert f"config file {tmp_path / 'c.yaml'}" in line and not (tmp_path / "run").exists()


def test_a_directory_or_fifo_as_config_is_not_called_missing(tmp_path, capsys) -> None:
    argv = ["train", "--out", str(tmp_path / "run"), "--config"]
    _one_line_error(capsys, [*argv, str(tmp_path)], f"config file {tmp_path} is a directory; expected a YAML file")
    os.mkfifo(tmp_path / "fifo.yaml")  # never opened: reading it would wait for a writer forever
    _one_line_error(capsys, [*argv, str(tmp_path / "fifo.yaml")],
                    "fifo.yaml is not a regular file (a FIFO, socket or device); expected a YAML file")
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------------------------------------------
# Checkpoints and exports
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step, shown", [("abc", "'abc'"), (1e20, "1e+20"), (10**20, str(10**20)), (-1, "-1")])
@pytest.mark.parametrize("command", ["sample", "export"])
def test_a_checkpoint_step_must_be_an_integer(tmp_path, capsys, command, step, shown) -> None:
    path = tmp_path / "bad.pt"
    torch.save(_payload(step=step), path)
    out = tmp_path / ("x.gif" if command == "sample" else "out")
    argv = ["sample", str(path), "--out", str(out)] if command == "sample" else ["export", str(path), str(out)]
    _one_line_error(capsys, argv, f"{path}: step must be an integer in [0, 2**63), got {shown}")
    assert not out.exists()


def _nan_bn_eps(doc: dict) -> None:
    doc["model"]["generator"]["bn_eps"] = float("nan")  # json writes NaN, which Python's json reads back


@pytest.mark.parametrize("edit, needle", [
    (lambda d: d["trained"].update(step="abc"), "config.json: trained.step must be an integer in [0, 2**63), "
                                                "got 'abc'"),
    (lambda d: d["trained"].update(step=1e20), "config.json: trained.step must be an integer in [0, 2**63), "
                                               "got 1e+20"),
    (lambda d: d.update(format_version=-1), "config.json has format version -1; this dvdgan reads versions 1 to 1"),
    (_nan_bn_eps, "config.json: stored config is invalid: model.generator.bn_eps must be > 0 and finite, "
                  "got nan"),
])
def test_export_config_values_are_checked_when_loading(tmp_path, capsys, edit, needle) -> None:
    folder = _export(tmp_path, edit)
    _one_line_error(capsys, ["sample", str(folder), "--out", str(tmp_path / "x.gif")], needle)
    assert not (tmp_path / "x.gif").exists()


def test_nan_weights_in_an_export_are_refused(tmp_path, capsys) -> None:
    from safetensors.torch import load_file, save_file

    folder = _export(tmp_path)
    tensors = load_file(str(folder / "model.safetensors"))
    name = sorted(k for k, v in tensors.items() if v.is_floating_point())[0]
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "dvdgan-generator"})
    _one_line_error(capsys, ["sample", str(folder), "--out", str(tmp_path / "x.gif")],
                    f"model.safetensors: {name!r} holds NaN or infinite values; expected the finite weights")
    assert not (tmp_path / "x.gif").exists()


def test_an_export_without_weights_is_named_as_such(tmp_path, capsys) -> None:
    folder = _export(tmp_path)
    (folder / "model.safetensors").unlink()
    _one_line_error(capsys, ["sample", str(folder), "--out", str(tmp_path / "x.gif")],
                    f"{folder} is an incomplete dvdgan export: it has no model.safetensors (expected "
                    "model.safetensors, config.json, README.md")


# ------------------------------------------------------------------------------------------------------------------
# dvdgan sample and prepare options
# ------------------------------------------------------------------------------------------------------------------


def test_sample_fps_must_be_a_whole_number(tmp_path, capsys, micro_ckpt) -> None:
    # argparse's complaint as one line, exit 2, before anything is loaded
    assert main(["sample", str(micro_ckpt), "--out", str(tmp_path / "x.gif"), "--fps", "nan"]) == 2
    assert capsys.readouterr().err.strip() == \
        "dvdgan sample: error: argument --fps: invalid int value: 'nan' (see dvdgan sample --help)"


@pytest.mark.parametrize("argv, needle", [
    (["--classes", ","], "--classes ',' names no class; expected comma-separated class ids in 0..8"),
    (["--truncation", "-1"], "--truncation must be a finite number >= 0 (0 = off), got -1.0"),
    (["--truncation", "nan"], "--truncation must be a finite number >= 0 (0 = off), got nan"),
    (["--context", "clips.npy"], "--context is for DVD-GAN-FP models (model.context_frames > 0); "),
])
def test_sample_options_are_checked(tmp_path, capsys, micro_ckpt, argv, needle) -> None:
    _one_line_error(capsys, ["sample", str(micro_ckpt), "--out", str(tmp_path / "x.gif"), *argv], needle)
    assert not (tmp_path / "x.gif").exists()


def test_prepare_refuses_a_frame_size_beyond_the_pixel_limit_up_front(tmp_path, capsys) -> None:
    src = tmp_path / "src"
    write_video(src / "a" / "v.avi", clips(1, 4, 32)[0])
    _one_line_error(capsys, ["prepare", str(src), str(tmp_path / "out"), "--size", "100000", "--quiet"],
                    "--size 100000: store frames of 100000x100000 are larger than the 67 M pixels (8192x8192)")
    assert not (tmp_path / "out").exists()


def test_an_unknown_split_is_refused(tmp_path, capsys) -> None:
    src = tmp_path / "src"
    write_video(src / "a" / "v.avi", clips(1, 4, 32)[0])
    argv = ["prepare", str(src), str(tmp_path / "out"), "--size", "16", "--quiet", "--split", "bogus"]
    _one_line_error(capsys, argv, f"split 'bogus' is unknown: {src} has no split files")
    csv = tmp_path / "k.csv"
    csv.write_text("label,youtube_id,time_start,time_end,split\na,v,0,10,train\na,w,0,10,val\n")
    _one_line_error(capsys, [*argv, "--annotations", str(csv)],
                    f"split 'bogus' is not in {csv}; expected all or one of its splits: train, val")
    assert not (tmp_path / "out").exists()


def test_mixed_frame_sizes_in_a_frame_folder_name_the_folder(tmp_path, capsys) -> None:
    video = tmp_path / "src" / "a" / "v1"
    video.mkdir(parents=True)
    for i in range(6):
        side = 40 if i == 3 else 32
        Image.fromarray(np.full((side, side, 3), 30 * i, np.uint8)).save(video / f"frame_{i}.png")
    needle = f"frame folder {video}: frame_3.png is 40x40 but frame_"
    _one_line_error(capsys, ["prepare", str(tmp_path / "src"), str(tmp_path / "out"), "--size", "16", "--quiet",
                             "--workers", "1"], needle)
    assert not (tmp_path / "out" / "index.json").exists()
    _one_line_error(capsys, ["train", *MICRO_ARGS, "--set", "train.steps=1", "--data", f"folder:{tmp_path / 'src'}",
                             "--out", str(tmp_path / "run"), "--quiet"], needle)  # was "all input arrays must ..."


# ------------------------------------------------------------------------------------------------------------------
# Warnings
# ------------------------------------------------------------------------------------------------------------------


def test_warnings_print_as_one_line(tmp_path) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    torch.save(_payload(), run / "checkpoints" / "ckpt-00000002.pt")
    (run / "checkpoints" / "ckpt-00000004.pt").write_bytes(b"x" * 100)  # skipped with a warning
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "dvdgan", "sample", str(run), "--out", str(tmp_path / "x.gif")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "skipping checkpoint" in line]
    assert lines == [f"warning: skipping checkpoint {run}/checkpoints/ckpt-00000004.pt is unreadable (truncated or "
                     "not a checkpoint: not a complete torch archive, 100 bytes)"], proc.stderr
    assert "warnings.warn" not in proc.stderr and "UserWarning" not in proc.stderr


def test_an_unknown_option_names_the_command(capsys) -> None:
    assert main(["train", "--stepz", "3"]) == 2
    assert capsys.readouterr().err.strip() == \
        "dvdgan train: error: unrecognized arguments: --stepz 3 (see dvdgan train --help)"
