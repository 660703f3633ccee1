"""Trained models to share: `dvdgan export`, `from_pretrained` (folders, shipped models, the Hub, offline)."""

from __future__ import annotations

import json
import pickle
import shutil
import socket
import struct
from pathlib import Path

import pytest
import torch

import dvdgan
from _extras import require_extra
from _train_helpers import micro_cfg
from dvdgan.cli import main
from dvdgan.release import ExportError, format, hub, shipped
from dvdgan.training.loop import train

FILES = {"model.safetensors", "config.json", "README.md"}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A micro model trained for 2 steps, with class accuracy and motion in its metrics.jsonl."""
    out = tmp_path_factory.mktemp("release") / "run"
    train(micro_cfg("train.steps=2", "train.eval_every=2", "eval.metrics=[class_acc,motion]", "eval.num_samples=9"),
          out, quiet=True)
    return out


@pytest.fixture(scope="module")
def exported(run: Path) -> Path:
    out = run.parent / "export"
    assert main(["export", str(run), str(out), "--name", "micro", "--command", "dvdgan train --steps 2"]) == 0
    return out


def _samples(G: torch.nn.Module) -> torch.Tensor:
    z = torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(1))
    return G(z, torch.tensor([0, 3, 5, 8]))


def _no_pickle(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("an export was read with pickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)


def _one_line_error(capsys, argv: list[str], *expected: str) -> None:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    for text in expected:
        assert text in err, err


def test_export_round_trip_gives_identical_samples_without_pickle(run: Path, exported: Path, monkeypatch) -> None:
    assert {p.name for p in exported.iterdir()} == FILES
    raw = (exported / "model.safetensors").read_bytes()
    (header_size,) = struct.unpack("<Q", raw[:8])  # safetensors: a JSON header, then raw tensor bytes
    assert "levels.0.gru.gates.bias" in json.loads(raw[8 : 8 + header_size])
    doc = json.loads((exported / "config.json").read_text())
    assert doc["format"] == "dvdgan-generator" and doc["format_version"] == 1
    assert doc["model"]["resolution"] == 16 and doc["trained"]["step"] == 2
    expected = _samples(dvdgan.load_checkpoint(run).G_ema)
    _no_pickle(monkeypatch)
    G = dvdgan.from_pretrained(exported)
    assert not G.training and torch.equal(_samples(G), expected)
    # every file has the mode of any new file here (safetensors alone made its weights owner-only)
    probe = exported.parent / "probe.txt"
    probe.write_text("x")
    assert {(p.stat().st_mode & 0o777) for p in exported.iterdir()} == {probe.stat().st_mode & 0o777}


def test_model_card_tells_how_the_model_was_made(run: Path, exported: Path) -> None:
    card = (exported / "README.md").read_text()
    (record,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert card.startswith("---\nlibrary_name: dvdgan") and "# micro" in card
    for text in ("`dvdgan train --steps 2`", "- steps: 2", "- seed: 0", "`shapes`",
                 f"dvdgan sample {exported.resolve()} --out samples.gif",  # runs from any directory
                 f"rigid, on a track the data could produce) | {record['class_acc']:.4g} |",
                 "| motion energy ratio, smallest over frame steps (generated / real; counts deformation too) | "
                 f"{record['motion_ratio_min']:.4g} |"):
        assert text in card
    assert "FVD" not in card  # not measured: no row


def test_card_metrics_can_be_restated(exported: Path) -> None:
    """A re-measured model's card replaces its Metrics section, keeping the rest."""
    from dvdgan.release.card import restate_metrics

    card = (exported / "README.md").read_text()
    new = restate_metrics(card, {"class_acc": 0.125, "travel_net_ratio": 0.5}, "Measured again:")
    head = card.split("## Metrics")[0]
    assert new.startswith(head) and "Measured again:" in new and "| 0.125 |" in new
    assert "Measured during training" not in new and "net displacement" in new
    with pytest.raises(ValueError, match="Metrics"):
        restate_metrics("# no section", {}, "x")


def test_loading_refuses_another_architecture_and_damaged_files(exported: Path, tmp_path: Path, capsys) -> None:
    wider = tmp_path / "wider"
    shutil.copytree(exported, wider)
    doc = json.loads((wider / "config.json").read_text())
    doc["model"]["generator"]["ch"] = 4
    (wider / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="does not match this architecture"):
        dvdgan.from_pretrained(wider)
    _one_line_error(capsys, ["sample", str(wider), "--out", str(tmp_path / "x.gif")],
                    "does not match this architecture")
    bert = tmp_path / "bert"
    shutil.copytree(exported, bert)
    (bert / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 768}))
    _one_line_error(capsys, ["sample", str(bert), "--out", str(tmp_path / "x.gif")], "another architecture (bert)")
    (bert / "config.json").write_text(" " * (format.MAX_CONFIG_BYTES + 1))
    with pytest.raises(ExportError, match="not a dvdgan config"):
        dvdgan.from_pretrained(bert)  # refused by its size, never read into memory
    cut = tmp_path / "cut"
    shutil.copytree(exported, cut)
    weights = cut / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ExportError, match="not a readable safetensors file"):
        dvdgan.from_pretrained(cut)


def test_export_refuses_folders_of_other_files(run: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    _one_line_error(capsys, ["export", str(run), str(tmp_path / "mine")], "holds other files", "notes.txt")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_shipped_models_by_name(exported: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    package = tmp_path / "pretrained"
    shutil.copytree(exported, package / "micro-shapes")
    monkeypatch.setattr(shipped, "PRETRAINED_DIR", package)
    assert dvdgan.list_pretrained() == ["micro-shapes"]
    assert torch.equal(_samples(dvdgan.from_pretrained("micro-shapes")), _samples(dvdgan.from_pretrained(exported)))
    out = tmp_path / "s.gif"
    assert main(["sample", "pretrained:micro-shapes", "--out", str(out), "--n", "2"]) == 0
    assert out.stat().st_size > 0
    _one_line_error(capsys, ["sample", "pretrained:nope", "--out", str(out)],
                    "no shipped model named 'nope'; available: micro-shapes")
    with pytest.raises(ExportError, match="available: micro-shapes"):
        dvdgan.from_pretrained("nope")


def test_make_pretrained_ships_a_run_with_its_gif(run: Path, tmp_path: Path, monkeypatch) -> None:
    from dvdgan.release.make_pretrained import main as make_pretrained

    monkeypatch.setattr(shipped, "PRETRAINED_DIR", tmp_path / "pretrained")
    assert make_pretrained([str(run), "micro-shapes", "--command", "dvdgan train --steps 2", "--n", "2"]) == 0
    folder = tmp_path / "pretrained" / "micro-shapes"
    assert FILES | {"samples.gif"} <= {p.name for p in folder.iterdir()}
    assert dvdgan.list_pretrained() == ["micro-shapes"]
    assert "pretrained:micro-shapes" in (folder / "README.md").read_text()


# ----------------------------------------------------------------------------------------------------------------
# The Hub, offline: a local cache in the Hub's layout; any attempt to open a connection fails the test.
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _hub_cache(cache: Path, repo_id: str, files: Path) -> None:
    """What snapshot_download leaves: models--user--repo/{refs/main, snapshots/<commit>/<files>}."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(files, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)


def test_hub_download_from_a_local_cache(exported: Path, tmp_path: Path, offline, monkeypatch, capsys) -> None:
    require_extra("hub")
    import huggingface_hub.constants

    _hub_cache(tmp_path / "hub", "someone/micro", exported)
    G = dvdgan.from_pretrained("someone/micro", cache_dir=tmp_path / "hub", local_files_only=True)
    assert torch.equal(_samples(G), _samples(dvdgan.from_pretrained(exported)))
    with pytest.raises(ExportError, match="could not get someone/other from the Hugging Face Hub"):
        dvdgan.from_pretrained("someone/other", cache_dir=tmp_path / "hub", local_files_only=True)
    # The command line (hf:USER/REPO) with the Hub's own offline switch and cache location.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    out = tmp_path / "clips"
    assert main(["sample", "hf:someone/micro", "--outdir", str(out), "--classes", "2", "--n", "2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["00000-blue-square.mp4", "00001-blue-square.mp4"]


def test_push_to_hub_uploads_exactly_the_export(run: Path, exported: Path, tmp_path: Path, offline,
                                                monkeypatch) -> None:
    require_extra("hub")
    import huggingface_hub

    calls = []
    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo",
                        lambda self, repo_id, **kw: calls.append(("create", repo_id, kw.get("private"))))

    def upload_folder(self, folder_path, repo_id, allow_patterns, **kw):
        files = sorted(p.name for p in Path(folder_path).iterdir() if p.name in allow_patterns)
        _hub_cache(tmp_path / "hub", repo_id, folder_path)  # what the Hub would then serve
        calls.append(("upload", repo_id, files))
        return "https://huggingface.co/someone/micro/commit/0123"

    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    assert dvdgan.push_to_hub(exported, "someone/micro", private=True).endswith("/commit/0123")
    assert calls == [("create", "someone/micro", True), ("upload", "someone/micro", sorted(FILES))]
    G = dvdgan.from_pretrained("someone/micro", cache_dir=tmp_path / "hub", local_files_only=True)
    assert torch.equal(_samples(G), _samples(dvdgan.load_checkpoint(run).G_ema))
    # the card on the Hub loads the model from the Hub, not from a path on the uploader's disk
    served = (next((tmp_path / "hub" / "models--someone--micro" / "snapshots").iterdir()) / "README.md").read_text()
    assert "dvdgan sample hf:someone/micro " in served and 'from_pretrained("someone/micro")' in served
    assert str(exported.resolve()) not in served and str(exported.resolve()) in (exported / "README.md").read_text()
    calls.clear()
    dvdgan.push_to_hub(run, "someone/fromrun")  # a run directory is exported first
    assert calls[1] == ("upload", "someone/fromrun", sorted(FILES))
    with pytest.raises(ExportError, match="not a Hub repository id"):
        hub.upload(exported, "no-slash")
