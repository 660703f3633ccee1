"""Optional Weights & Biases logging (train.log_to), in wandb's offline mode: nothing leaves the machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from _extras import require_extra
from _train_helpers import micro_cfg
from dvdgan.cli import main
from dvdgan.config import ConfigError
from dvdgan.training.loop import train


@pytest.fixture
def wandb_offline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home"))


def test_wandb_mirrors_stats_offline_beside_tensorboard_and_jsonl(tmp_path: Path, wandb_offline) -> None:
    require_extra("wandb")
    run = train(micro_cfg("train.steps=2", "train.sample_every=2", "train.log_to=[tensorboard,wandb]"),
                tmp_path / "run", quiet=True).run_dir
    (record, *_) = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))  # the defaults stay
    (log,) = (run / "wandb").glob("offline-run-*/run-*.wandb")  # one offline run, kept in the run directory
    data = log.read_bytes()
    stat = next(key for key in record if key not in ("step", "time"))
    assert f"train/{stat}".encode() in data and b"samples" in data and run.name.encode() in data
    run_id = (run / "wandb" / "dvdgan-run-id").read_text()
    assert run_id.encode() in log.name.encode()  # a resumed run continues this wandb run


def test_wandb_is_off_by_default_and_checked(tmp_path: Path, monkeypatch, capsys) -> None:
    run = train(micro_cfg("train.steps=1"), tmp_path / "run", quiet=True).run_dir
    assert not (run / "wandb").exists()
    with pytest.raises(ConfigError, match="train.log_to"):
        micro_cfg("train.log_to=[mlflow]")
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if the extra were not installed
    assert main(["train", "--out", str(tmp_path / "other"), "--steps", "1", "--quiet",
                 "--set", "train.log_to=[wandb]", "--set", "train.device=cpu"]) == 2
    assert "install the 'wandb' extra" in capsys.readouterr().err
