"""The first hour of a new user (issue 26), second part, through the real command line: `dvdgan fvd` names its two
inputs (and which one is wrong), `eval` and `fvd` show progress with totals, `dvdgan plot RUN`, and one size policy
for prepared stores, folders and arrays."""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import dvdgan.metrics
from _train_helpers import MICRO
from _video_helpers import clips, write_video
from dvdgan.cli import main
from dvdgan.config import DataConfig
from dvdgan.data import build_dataset

RAW_WARNING = re.compile(r"\.py:\d+")  # Python's own warning format: FILE.py:LINE: Category: message


class FakeI3D(torch.nn.Module):
    """Stands in for the Kinetics-400 I3D (whose weights and CPU time these tests do not need): 400 logits of the
    pooled pixels, the same interface (``(logits, features)``, ``weights_sha256``)."""

    weights_sha256 = "fake-i3d-of-test-first-hour-2"

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(3 * 16, 400)

    def forward(self, x: torch.Tensor):  # [B, T, 3, 224, 224]
        pooled = torch.nn.functional.adaptive_avg_pool2d(x.mean(1), (4, 4)).flatten(1)
        return self.proj(pooled), None


def _run(argv: list[str]) -> tuple[int, str, str]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _one_line_error(argv: list[str], code: int = 2) -> str:
    got, _, err = _run(argv)
    assert got == code, err
    *before, line = err.strip().splitlines()
    assert line.startswith(f"dvdgan {argv[0]}: error: ") and all(x.startswith("warning: ") for x in before), err
    assert "Traceback" not in err and not RAW_WARNING.search(err), err
    return line


# ----------------------------------------------------------------------------------------------------------------
# 1. `dvdgan fvd A B`: inputs called by their place and path; a wrong one named in a one-line error
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture
def fvd_inputs(tmp_path: Path) -> dict[str, Path]:
    """8-frame clips in an .npz (too short for a 16-frame protocol), 16-frame clips in another, and a folder of
    16-frame videos with one of 8 frames among them."""
    np.savez(tmp_path / "gen8.npz", clips=np.stack(clips(4, num_frames=8, size=16)))
    np.savez(tmp_path / "a.npz", clips=np.stack(clips(3, num_frames=16, size=16, seed=1)))
    folder = tmp_path / "videos"
    for i, frames in enumerate(clips(3, num_frames=16, size=16, seed=2)):
        write_video(folder / f"v{i}.avi", frames)
    write_video(folder / "short.avi", clips(1, num_frames=8, size=16, seed=3)[0])
    return {"gen8": tmp_path / "gen8.npz", "a": tmp_path / "a.npz", "folder": folder}


def test_fvd_names_the_input_with_the_wrong_clip_length(fvd_inputs, monkeypatch) -> None:
    def no_network(**kwargs):
        raise AssertionError("the I3D network is not needed to find a wrong input")

    monkeypatch.setattr(dvdgan.metrics, "load_i3d", no_network)
    gen8, folder = str(fvd_inputs["gen8"]), str(fvd_inputs["folder"])
    line = _one_line_error(["fvd", gen8, folder])
    assert line.startswith(f"dvdgan fvd: error: first input {gen8}: ")
    assert "at most 8 frames" in line and "fvd2048_16f expects clips of 16 frames" in line
    assert "warning" not in line and not re.search(r"\b(real|fake)\b", line)
    code, _, err = _run(["fvd", folder, gen8, "--protocol", "fvd64_16f"])
    warning, line = err.strip().splitlines()  # the folder's one short video is skipped, and said so
    assert warning == f"warning: first input {folder}: 1 of 4 videos skipped: 1 shorter than 16 frames (16 at " \
                      "stride 1), 0 unreadable"
    assert line.startswith(f"dvdgan fvd: error: second input {gen8}: ") and "fvd64_16f expects clips of 16" in line
    missing = str(fvd_inputs["a"].with_name("missing.npy"))
    assert _one_line_error(["fvd", str(fvd_inputs["a"]), missing]).startswith(
        f"dvdgan fvd: error: second input {missing}: ")


def test_fvd_output_progress_and_warnings_name_the_inputs(fvd_inputs, monkeypatch) -> None:
    monkeypatch.setattr(dvdgan.metrics, "load_i3d", lambda **kwargs: FakeI3D())
    a, folder = str(fvd_inputs["a"]), str(fvd_inputs["folder"])
    code, out, err = _run(["fvd", a, folder, "--protocol", "fvd64_16f", "--json"])
    assert code == 0, err
    result = json.loads(out)
    assert result["first"] == a and result["second"] == folder and result["protocol"] == "fvd64_16f"
    assert result["num_first"] == 3 and result["num_second"] == 3 and result["comparable"] is False
    assert np.isfinite(result["fvd"])
    # the short video of the folder: a one-line warning that says which input it is in
    assert f"warning: second input {folder}: 1 of 4 videos skipped" in err and not RAW_WARNING.search(err)
    # progress bars with a total, in clips, labelled by the input
    bars = err.replace("\r", "\n")
    assert re.search(r"I3D \S*a\.npz: 100%.*3/3 \[", bars) and re.search(r"I3D \S*videos: 100%.*3/3 \[", bars)
    assert not re.search(r"\b(real|fake)\b", out + err), out + err
    code, out, err = _run(["fvd", a, a, "--protocol", "fvd64_16f"])
    assert code == 0 and out.startswith(f"FVD (fvd64_16f) between {a} (3 clips) and {a} (3 clips): ")


# ----------------------------------------------------------------------------------------------------------------
# 2. `dvdgan eval`: generating the clips and the I3D bars show a total and an ETA; the in-loop evaluation shows none
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nine_frame_run(tmp_path_factory) -> tuple[Path, str]:
    """A micro run of 9-frame clips (FVD needs 9+) through `dvdgan train`, evaluated at its end; and its stderr."""
    run = tmp_path_factory.mktemp("first-hour-2") / "run"
    sets = [*MICRO, "model.num_frames=9", "eval.metrics=[class_acc]", "eval.num_samples=9"]
    argv = ["train", "--steps", "2", "--out", str(run)]
    for value in sets:
        argv += ["--set", value]
    code, _, err = _run(argv)
    assert code == 0, err
    return run, err


def test_eval_shows_progress_with_totals(nine_frame_run, tmp_path: Path, monkeypatch) -> None:
    import dvdgan.training.evaluate as evaluate
    import dvdgan.training.metric_plan as metric_plan

    run, train_err = nine_frame_run
    assert "generating" not in train_err and "I3D" not in train_err  # the in-loop evaluation: no bars
    code, _, err = _run(["eval", str(run), "--metrics", "class_acc", "--num-samples", "6", "--json-out",
                         str(tmp_path / "e.json")])
    assert code == 0, err
    assert re.search(r"generating: 100%.*6/6 \[.*clip/s", err.replace("\r", "\n")), err

    monkeypatch.setenv("DVDGAN_CACHE", str(tmp_path / "cache"))  # the real statistics of the fake network
    monkeypatch.setattr(evaluate, "load_i3d", lambda **kwargs: FakeI3D())
    monkeypatch.setattr(metric_plan, "_i3d_problem", lambda: None)  # the weights' package is not needed
    code, _, err = _run(["eval", str(run), "--metrics", "fvd", "--protocol", "fvd5_9f", "--json-out",
                         str(tmp_path / "f.json")])
    assert code == 0, err
    bars = err.replace("\r", "\n")
    for what in ("real", "generated"):
        assert re.search(rf"I3D {what}: 100%.*5/5 \[", bars), err  # a total, not "5clip [00:01]"
    assert json.loads((tmp_path / "f.json").read_text())["num_fake"] == 5


# ----------------------------------------------------------------------------------------------------------------
# 3. `dvdgan plot RUN`
# ----------------------------------------------------------------------------------------------------------------


def _fake_run(root: Path) -> Path:
    run = root / "run"
    run.mkdir()
    stats = [{"step": s, "time": 1e9 + s, "loss_d": 2.0 - 0.01 * s, "loss_g": 0.5 + 0.01 * s} for s in range(1, 60)]
    metrics = [{"step": s, "time": 1e9 + s, "fvd": 900.0 - s, "protocol": "fvd64_16f", "class_acc": s / 100,
                "motion_ratio_min": 0.5, "motion_ratio_max": 1.5, "motion_ratio": [0.5, 1.5], "class_acc_samples": 9,
                "ok": True} for s in (20, 40, 59)]
    (run / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in stats) + '{"step": 60, "loss')  # cut off
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in metrics))
    return run


def test_plot_writes_a_png_of_losses_and_metrics(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from dvdgan.cli.plot import metric_keys, read_log

    run = _fake_run(tmp_path)
    assert metric_keys(read_log(run / "metrics.jsonl")) == ["fvd", "class_acc", "motion_ratio_min",
                                                           "motion_ratio_max"]  # numeric, less counts and flags
    code, out, err = _run(["plot", str(run)])
    assert code == 0, err
    assert out.strip().startswith(f"wrote {run / 'curves.png'}") and "4 metric(s) over 59 logged steps" in out
    with Image.open(run / "curves.png") as img:
        assert img.format == "PNG" and img.width > 600 and len(img.getcolors(1 << 20)) > 50
    target = tmp_path / "elsewhere" / "run.png"
    assert _run(["plot", str(run), "--out", str(target)])[0] == 0 and target.is_file()
    (run / "metrics.jsonl").unlink()  # no evaluation yet: the losses alone, and a line saying so
    code, out, err = _run(["plot", str(run), "--out", str(tmp_path / "losses.png")])
    assert code == 0 and "losses only" in err and "0 metric(s)" in out


def test_plot_of_a_bad_run_or_without_matplotlib_is_one_line(tmp_path: Path, monkeypatch) -> None:
    assert "has no stats.jsonl" in _one_line_error(["plot", str(tmp_path)])
    assert "does not exist" in _one_line_error(["plot", str(tmp_path / "nothing")])
    run = _fake_run(tmp_path)
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    line = _one_line_error(["plot", str(run)])
    assert "pip install matplotlib" in line and "'plot' extra" in line
    assert not (run / "curves.png").exists()


def test_plot_is_in_the_help(capsys) -> None:
    assert main([]) == 0
    assert re.search(r"^\s+plot\s+PNG of a run's losses", capsys.readouterr().out, re.M)


# ----------------------------------------------------------------------------------------------------------------
# 4. One size policy: a store, a folder and an array of another size than the model's are all resized, and say so
# ----------------------------------------------------------------------------------------------------------------


def test_stores_folders_and_arrays_of_another_size_are_resized_alike(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "videos"
    for i, frames in enumerate(clips(4, num_frames=8, size=32, seed=4)):
        write_video(folder / ("ab"[i % 2]) / f"v{i}.avi", frames)
    store = tmp_path / "store"
    assert main(["prepare", str(folder), str(store), "--size", "32", "--workers", "1"]) == 0
    np.savez(tmp_path / "c.npz", clips=np.stack(clips(4, num_frames=8, size=32, seed=5)))
    capsys.readouterr()
    for spec, native in ((f"prepared:{store}", "32x32"), (f"folder:{folder}", "32x32 frames (its first video)"),
                         (str(tmp_path / "c.npz"), "32x32")):
        # `train --dry-run --data` builds the data (to count its classes): a store was refused here before
        code, out, err = _run(["train", "--dry-run", "--data", spec, "--set", "model.resolution=16"])
        assert code == 0, err
        line = next(x for x in err.splitlines() if x.startswith("data: "))
        assert line.startswith(f"data: {spec} has {native}") and "resized to the model's 16x16" in line, line
        assert ("dvdgan prepare" in line) == (not spec.endswith(".npz"))
        assert build_dataset(DataConfig(source=spec), 8, 16)[0][0].shape == (8, 16, 16, 3)
        assert build_dataset(DataConfig(source=spec), 8, 32)[0][0].shape == (8, 32, 32, 3)
    store_line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("data: ")]
    assert store_line == []  # said once per source and size in a process (training builds its data twice)
    code, _, err = _run(["train", "--dry-run", "--data", f"prepared:{store}", "--set", "model.resolution=64"])
    assert code == 0 and "upscaled (blurred)" in err and "--size 64" in err and "model.resolution=32" in err
