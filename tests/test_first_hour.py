"""The first hour of a new user (issue 26), through the real command line: help and version, a short run that is
measured and shows its real data, a log line for files, export cards whose commands run from anywhere, `eval`'s
table, `save_video`, and `--help` that documents every option."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import dvdgan
from _train_helpers import MICRO
from dvdgan.cli import build_parser, main
from dvdgan.release import shipped

ROOT = Path(__file__).resolve().parents[1]
STEPS = 3  # shorter than train.eval_every: measured at its end all the same


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, str]:
    """A micro run trained through `dvdgan train` with stderr going to a file (not a terminal), and that stderr."""
    run = tmp_path_factory.mktemp("first-hour") / "run"
    sets = [*MICRO, "train.sample_every=3", "train.eval_every=250", "eval.metrics=[class_acc]", "eval.num_samples=9"]
    argv = ["train", "--steps", str(STEPS), "--out", str(run)]
    for value in sets:
        argv += ["--set", value]
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        assert main(argv) == 0, err.getvalue()
    return run, err.getvalue()


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "micro"
    assert main(["export", str(trained[0]), str(out)]) == 0
    return out


# ----------------------------------------------------------------------------------------------------------------
# 1. `dvdgan` alone, `--version`
# ----------------------------------------------------------------------------------------------------------------


def test_bare_dvdgan_prints_help_and_trains_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: dvdgan") and all(cmd in out for cmd in ("train", "sample", "eval", "export"))
    assert list(tmp_path.iterdir()) == []  # no runs/ in the current directory
    # `dvdgan train` alone still trains the tiny preset on built-in shapes (shown here by its resolved config)
    assert main(["train", "--dry-run"]) == 0
    config = capsys.readouterr().out
    assert re.search(r"source: shapes", config) and list(tmp_path.iterdir()) == []


def test_version(capsys) -> None:
    for flag in ("--version", "-V"):
        assert main([flag]) == 0
        assert capsys.readouterr().out == f"dvdgan {dvdgan.__version__}\n"
    assert "--version" in _help(capsys, [])


# ----------------------------------------------------------------------------------------------------------------
# 4. and 5. A short run: measured at its end, its real data beside its samples, a summary line in a log
# ----------------------------------------------------------------------------------------------------------------


def test_a_run_shorter_than_eval_every_is_measured_at_its_end(trained) -> None:
    run, _ = trained
    (record,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert record["step"] == STEPS and 0.0 <= record["class_acc"] <= 1.0


def test_a_new_run_writes_a_real_data_grid_beside_its_samples(trained) -> None:
    run, _ = trained
    reals, samples = run / "samples" / "reals.gif", run / "samples" / f"samples-{STEPS:08d}.gif"
    assert (run / "samples" / "reals.mp4").is_file() and samples.is_file()
    with Image.open(reals) as r, Image.open(samples) as s:
        assert r.size == s.size and r.n_frames == s.n_frames == 4  # the same layout: one row per class
        frame = np.asarray(r.convert("RGB"))
    cell = 16 + 2
    label_width = frame.shape[1] - 4 * cell - 2
    # every one of the 9 rows (classes) holds clips of its class: an object on the data's background
    rows = [frame[2 + i * cell : (i + 1) * cell, label_width + 2 :] for i in range(9)]
    assert all(row.std() > 5 for row in rows)


def test_a_log_file_gets_summary_lines_not_a_progress_bar(trained) -> None:
    _, err = trained
    lines = [line for line in err.splitlines() if line.startswith("step ")]
    assert lines, err
    assert re.fullmatch(rf"step {STEPS}/{STEPS} \(100%\)  \d+\.\d\d steps/s  ETA 0s  loss_d -?\d+\.\d{{3}}  "
                        r"loss_g -?\d+\.\d{3}", lines[-1]), lines[-1]
    assert "\r" not in err and "it/s" not in err  # no bar redraws in a file
    assert "at the last" in err  # the start-up line says when it measures


# ----------------------------------------------------------------------------------------------------------------
# 2. Export: the card's commands run from any directory
# ----------------------------------------------------------------------------------------------------------------


def _card_commands(card: str) -> tuple[list[str], str]:
    (sample,) = [line for line in card.splitlines() if line.startswith("dvdgan sample ")]
    (source,) = re.findall(r"dvdgan\.from_pretrained\((\".*?\")\)", card)
    return shlex.split(sample)[1:], json.loads(source)


def test_export_card_commands_run_from_another_directory(trained, tmp_path: Path, monkeypatch, capsys) -> None:
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(here)
    assert main(["export", str(trained[0]), "my-model"]) == 0  # a relative OUT
    card = (here / "my-model" / "README.md").read_text()
    assert "pretrained:my-model" not in card
    assert "No metrics were recorded" not in card and "| strict class accuracy" in card  # the final evaluation
    argv, source = _card_commands(card)
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main([*argv, "--n", "1"]) == 0, capsys.readouterr().err
    assert (elsewhere / "samples.gif").stat().st_size > 0
    G = dvdgan.from_pretrained(source)
    assert not G.training and G.cfg.resolution == 16


def test_export_folder_path_is_a_model_for_sample(exported: Path, tmp_path: Path) -> None:
    assert main(["sample", str(exported), "--out", str(tmp_path / "s.npz"), "--classes", "0", "--n", "2"]) == 0
    with np.load(tmp_path / "s.npz") as f:
        assert f["videos"].shape == (2, 4, 16, 16, 3)


# ----------------------------------------------------------------------------------------------------------------
# 3. `dvdgan eval`: a table, JSON on request, and where the file went
# ----------------------------------------------------------------------------------------------------------------


def test_eval_prints_a_table_and_says_where_its_json_went(trained, capsys) -> None:
    run, _ = trained
    capsys.readouterr()
    assert main(["eval", str(run), "--metrics", "class_acc", "--num-samples", "9"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    metrics, _, per_class = "\n".join(lines).partition("\n\n")  # the headline table, then one row per class
    assert len(metrics.splitlines()) < 10 and lines[1].split() == ["metric", "value", "protocol"]
    assert len(per_class.splitlines()) == 1 + 9  # a header and the nine shapes classes, by name
    assert per_class.splitlines()[1].startswith("red square ")
    (row,) = [line for line in lines if line.startswith("class_acc ")]
    saved = json.loads((run / f"eval-{STEPS:08d}.json").read_text())
    assert row.split()[1] == f"{saved['class_acc']:.4g}" and "9 generated clips" in row
    wrote = [line for line in captured.err.splitlines() if line.startswith("wrote ")]
    assert wrote == [f"wrote {run / f'eval-{STEPS:08d}.json'} (all results, JSON)"]
    # --json: the machine-readable results on stdout
    assert main(["eval", str(run), "--metrics", "class_acc", "--num-samples", "9", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["class_acc"] == saved["class_acc"]


def test_eval_of_a_shipped_model_leaves_the_current_directory_alone(exported: Path, tmp_path: Path, monkeypatch,
                                                                   capsys) -> None:
    package = tmp_path / "pretrained"
    shutil.copytree(exported, package / "micro-shapes")
    monkeypatch.setattr(shipped, "PRETRAINED_DIR", package)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    assert main(["eval", "pretrained:micro-shapes", "--metrics", "class_acc", "--num-samples", "9"]) == 0
    captured = capsys.readouterr()
    assert list(cwd.iterdir()) == [] and sorted(p.name for p in (package / "micro-shapes").iterdir()) == sorted(
        p.name for p in exported.iterdir())
    assert "class_acc " in captured.out and "--json-out FILE" in captured.err
    assert main(["eval", "pretrained:micro-shapes", "--metrics", "class_acc", "--num-samples", "9",
                 "--json-out", "e.json"]) == 0
    assert json.loads((cwd / "e.json").read_text())["step"] == STEPS
    assert "wrote e.json" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------------
# 6. dvdgan.save_video
# ----------------------------------------------------------------------------------------------------------------


def test_save_video_writes_what_the_generator_returns(exported: Path, tmp_path: Path) -> None:
    assert "save_video" in dvdgan.__all__ and "dvdgan.save_video(" in (ROOT / "README.md").read_text()
    G = dvdgan.from_pretrained(exported)
    with torch.no_grad():
        video = G(G.sample_z(4), torch.tensor([0, 1, 2, 3]))
    dvdgan.save_video(tmp_path / "v.npz", video)
    with np.load(tmp_path / "v.npz") as f:
        assert f["videos"].shape == (4, 4, 16, 16, 3) and f["videos"].dtype == np.uint8
    with Image.open(dvdgan.save_video(tmp_path / "grid.gif", video, rows=2)) as gif:
        assert gif.size == (2 * 18 + 2, 2 * 18 + 2) and gif.n_frames == 4
    assert dvdgan.save_video(tmp_path / "one.mp4", video[0]).stat().st_size > 0  # one clip [T, 3, H, W]
    assert dvdgan.save_video(tmp_path / "strip.png", video).stat().st_size > 0
    with pytest.raises(ValueError, match="save_video expects"):
        dvdgan.save_video(tmp_path / "x.gif", torch.zeros(4, 16, 16))


# ----------------------------------------------------------------------------------------------------------------
# 7. --help documents every option with its default
# ----------------------------------------------------------------------------------------------------------------


def _help(capsys, argv: list[str]) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse's wrapping undone


@pytest.mark.parametrize(("command", "options"), [
    ("sample", ["--seed", "--fps", "--device", "--batch-size", "--n", "--truncation"]),
    ("eval", ["--batch-size", "--device", "--seed", "--num-samples", "--json-out"]),
])
def test_help_describes_every_option_with_its_default(command: str, options: list[str], capsys) -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    actions = {s: a for a in sub._actions for s in a.option_strings}
    text = _help(capsys, [command])
    for option in options:
        help_text = actions[option].help or ""
        assert "default" in help_text, f"{command} {option}: {help_text!r}"
        assert "".join(help_text.split()) in "".join(text.split())  # wrapped at spaces or hyphens
    assert "frames per second" in _help(capsys, ["sample"])


def test_train_help_lists_every_data_form(capsys) -> None:
    text = _help(capsys, ["train"])
    for form in ("shapes", "motion", "digits", "folder:", "prepared:", "npz:"):
        assert form in text
