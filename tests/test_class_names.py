"""Class names travel from the data to grids, ``dvdgan sample --classes``, exports and cards (issue 26): a store
prepared from class folders ``a``/``b`` labels grid rows ``a``/``b``, ``--classes b`` is accepted, an unknown name is
a one-line error listing the known ones, and an export keeps the names (``config.json``, card, ``G.class_names``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import dvdgan
from _train_helpers import MICRO
from _video_helpers import clips, write_video
from dvdgan.cli import main
from dvdgan.config import ConfigError, ModelConfig
from dvdgan.training import checkpoint as ckpt

TRAIN = [s for s in MICRO if not s.startswith("train.sample_every=")] + [
    "train.sample_every=2", "train.eval_every=0", "train.extra_terms.class_loss=0"]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    for i, frames in enumerate(clips(4, num_frames=8, size=24, seed=5)):
        write_video(root / ("a", "b")[i % 2] / f"v{i}.avi", frames)
    out = root / "store"
    assert main(["prepare", str(root), str(out), "--size", "16", "--quiet", "--workers", "1"]) == 0
    return out


@pytest.fixture(scope="module")
def trained(store, tmp_path_factory) -> tuple[Path, list[list[str] | None]]:
    """A 2-step run on the store, and the row labels of every grid it wrote (reals, samples)."""
    import dvdgan.training.snapshot as snapshot

    run = tmp_path_factory.mktemp("run") / "run"
    seen: list[list[str] | None] = []
    real_make_grid = snapshot.make_grid

    def spy(videos, rows, pad=2, row_labels=None):
        seen.append(row_labels)
        return real_make_grid(videos, rows, pad, row_labels)

    argv = ["train", "--preset", "tiny", "--data", f"prepared:{store}", "--out", str(run), "--steps", "2", "--quiet"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(snapshot, "make_grid", spy)
        assert main([*argv, *(a for s in TRAIN for a in ("--set", s))]) == 0
    return run, seen


@pytest.fixture
def grid_labels(monkeypatch) -> list[list[str] | None]:
    """Row labels of the grids ``dvdgan sample`` writes."""
    import dvdgan.sampling as sampling

    seen: list[list[str] | None] = []
    real_make_grid = sampling.make_grid

    def spy(videos, rows, pad=2, row_labels=None):
        seen.append(row_labels)
        return real_make_grid(videos, rows, pad, row_labels)

    monkeypatch.setattr(sampling, "make_grid", spy)
    return seen


def test_a_run_records_its_stores_class_names_and_labels_its_grids(trained) -> None:
    run, seen = trained
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["class_names"] == ["a", "b"]
    assert ckpt.read_checkpoint(ckpt.checkpoint_path(run, 2))["config"]["model"]["class_names"] == ["a", "b"]
    assert (run / "samples" / "reals.gif").is_file() and (run / "samples" / "samples-00000002.gif").is_file()
    assert seen and all(labels == ["a", "b"] for labels in seen)  # reals and samples, not 0/1


def test_sample_takes_class_names_and_ids(trained, tmp_path, grid_labels) -> None:
    run, _ = trained
    out = tmp_path / "b.npz"
    assert main(["sample", str(run), "--out", str(out), "--classes", "b", "--n", "2"]) == 0
    assert np.load(out)["labels"].tolist() == [1, 1]
    assert main(["sample", str(run), "--out", str(tmp_path / "g.gif"), "--classes", "b, 0", "--n", "1"]) == 0
    assert grid_labels[-1] == ["b", "a"]  # rows labelled with names; ids keep working
    assert main(["sample", str(run), "--out", str(tmp_path / "all.gif"), "--n", "1"]) == 0
    assert grid_labels[-1] == ["a", "b"]


def test_an_unknown_class_name_is_a_one_line_error_listing_the_known_names(trained, tmp_path, capsys) -> None:
    run, _ = trained
    capsys.readouterr()
    assert main(["sample", str(run), "--out", str(tmp_path / "x.gif"), "--classes", "c"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("dvdgan sample: error: --classes: unknown class 'c'; known classes: a, b (or ids 0..1)")
    assert not (tmp_path / "x.gif").exists()
    assert main(["sample", str(run), "--out", str(tmp_path / "x.gif"), "--classes", "2"]) == 2
    assert "out of range: this model has classes 0..1" in capsys.readouterr().err


def test_export_keeps_the_names_in_config_card_and_from_pretrained(trained, tmp_path, grid_labels) -> None:
    run, _ = trained
    out = tmp_path / "export"
    assert main(["export", str(run), str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["model"]["class_names"] == ["a", "b"]
    card = (out / "README.md").read_text()
    assert "## Classes" in card and "0 `a`, 1 `b`" in card
    G = dvdgan.from_pretrained(out)
    assert G.class_names == ["a", "b"] and G.cfg.class_names == ["a", "b"]
    assert main(["sample", str(out), "--out", str(tmp_path / "s.gif"), "--classes", "a", "--n", "1"]) == 0
    assert grid_labels[-1] == ["a"]


def test_an_export_without_names_keeps_working_with_ids(trained, tmp_path, capsys, grid_labels) -> None:
    run, _ = trained
    out = tmp_path / "old"
    assert main(["export", str(run), str(out)]) == 0
    doc = json.loads((out / "config.json").read_text())
    del doc["model"]["class_names"]  # as written before dvdgan kept the names
    (out / "config.json").write_text(json.dumps(doc))
    assert dvdgan.from_pretrained(out).class_names == []
    assert main(["sample", str(out), "--out", str(tmp_path / "s.gif"), "--classes", "1", "--n", "1"]) == 0
    assert grid_labels[-1] == ["1"]
    capsys.readouterr()
    assert main(["sample", str(out), "--out", str(tmp_path / "t.gif"), "--classes", "b"]) == 2
    assert "records no class names" in capsys.readouterr().err


def test_class_names_are_checked_against_num_classes() -> None:
    assert ModelConfig(num_classes=2, class_names=["a", "b"]).class_names == ["a", "b"]
    with pytest.raises(ConfigError, match="has 1 names for model.num_classes=2"):
        ModelConfig(num_classes=2, class_names=["a"])
    with pytest.raises(ConfigError, match="distinct non-empty"):
        ModelConfig(num_classes=2, class_names=["a", "a"])


def test_a_run_from_before_the_names_resumes_and_gains_them(trained, tmp_path, capsys) -> None:
    import shutil

    import torch

    run = tmp_path / "run"
    shutil.copytree(trained[0], run)
    for path in ckpt.list_checkpoints(run):  # as written before dvdgan kept the names
        data = torch.load(path, map_location="cpu", weights_only=True)
        del data["config"]["model"]["class_names"]
        torch.save(data, path)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    del cfg["model"]["class_names"]
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", "--resume", "--out", str(run), "--steps", "3", "--quiet"]) == 0
    assert ckpt.read_checkpoint(ckpt.checkpoint_path(run, 3))["config"]["model"]["class_names"] == ["a", "b"]


def test_eval_table_names_each_class_and_its_commonest_rejection(capsys) -> None:
    assert main(["eval", "pretrained:tiny-shapes", "--metrics", "class_acc", "--num-samples", "18"]) == 0
    out = capsys.readouterr().out.splitlines()
    header = out.index(next(line for line in out if line.startswith("class ")))
    rows = out[header + 1: header + 10]
    assert [r.split("  ")[0].strip() for r in rows] == [
        "red square", "green square", "blue square", "red circle", "green circle", "blue circle", "red triangle",
        "green triangle", "blue triangle"]
    assert all(float(r.split()[2]) <= 1.0 for r in rows)  # the class_acc column
    assert any("(" in r for r in rows)  # at least one class has a reason of rejection beside it


def test_eval_table_without_names_shows_ids_and_a_json_list_of_names() -> None:
    from dvdgan.cli.eval import format_table

    results = {"checkpoint": "m", "step": 1, "data": "shapes", "class_acc": 0.5,
               "class_acc_per_class": [1.0, 0.0], "class_names": ["0", "1"],
               "class_acc_rejected": {"faint": [0.0, 0.25], "splits": [0.0, 0.75]}}
    lines = format_table(results).splitlines()
    assert lines[-2].split() == ["0", "1.000"] and lines[-1].split() == ["1", "0.000", "splits", "(0.75)"]
    assert "class_acc_per_class" not in format_table({**results, "class_names": []})  # a list: JSON only


@pytest.mark.parametrize("name", ["tiny-shapes", "tiny-motion"])
def test_shipped_conditional_models_carry_their_datas_class_names(name) -> None:
    from dvdgan.data import build_dataset
    from dvdgan.release import load_pretrained
    from dvdgan.release.shipped import shipped_path

    exported = load_pretrained(f"pretrained:{name}")
    m = exported.config.model
    data = build_dataset(exported.config.data, m.num_frames, m.resolution, seed=1)
    assert exported.G_ema.class_names == list(data.class_names) and len(data.class_names) == m.num_classes
    card = (shipped_path(name) / "README.md").read_text()
    assert card.count("## Classes") == 1 and f"0 `{data.class_names[0]}`" in card


def test_restate_classes_adds_or_replaces_the_section() -> None:
    from dvdgan.release.card import restate_classes

    card = "# m\n\nintro\n\n## Use\n\nrun it\n\n## Metrics\n\nnone\n"
    once = restate_classes(card, ["a", "b"])
    assert once.index("## Classes") < once.index("## Use") and "0 `a`, 1 `b`" in once
    twice = restate_classes(once, ["c", "d"])
    assert twice.count("## Classes") == 1 and "0 `c`, 1 `d`" in twice and "`a`" not in twice
    assert twice.endswith("## Use\n\nrun it\n\n## Metrics\n\nnone\n")
