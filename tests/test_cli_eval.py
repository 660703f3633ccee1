"""`dvdgan eval` and `dvdgan fvd` end to end on tiny inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from _extras import require_extra
from _train_helpers import micro_cfg
from dvdgan.cli import main
from dvdgan.training.loop import train


def test_eval_class_accuracy_writes_json(tmp_path: Path, capsys) -> None:
    run = train(micro_cfg("train.steps=2"), tmp_path / "run", quiet=True)
    out = tmp_path / "eval.json"
    assert main(["eval", str(run.last_checkpoint), "--metrics", "class_acc,motion", "--num-samples", "18",
                 "--json-out", str(out), "--json"]) == 0
    result = json.loads(out.read_text())
    assert result["step"] == 2 and 0.0 <= result["class_acc"] <= 1.0
    assert len(result["class_acc_per_class"]) == 9 and result["class_acc_samples"] == 18
    # Motion: a profile per frame step (4 frames: 3 steps) for generated and real clips, and their ratio.
    assert len(result["motion_fake"]) == len(result["motion_real"]) == 3 and result["motion_samples"] == 18
    assert min(result["motion_real"]) > 0
    assert result["motion_ratio_min"] == pytest.approx(min(result["motion_ratio"]), abs=1e-4)
    assert json.loads(capsys.readouterr().out)["class_acc"] == result["class_acc"]
    # FVD on 4-frame clips is undefined: a one-line error saying so.
    assert main(["eval", str(run.last_checkpoint), "--metrics", "fvd"]) == 2
    assert "FVD is undefined" in capsys.readouterr().err


def test_in_loop_evaluation_logs_motion(tmp_path: Path) -> None:
    run = train(micro_cfg("train.steps=2", "train.eval_every=2", "eval.metrics=[class_acc,motion]",
                          "eval.num_samples=9"), tmp_path / "run", quiet=True)
    (record,) = [json.loads(line) for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert record["step"] == 2 and len(record["motion_ratio"]) == 3
    assert record["motion_ratio_max"] >= record["motion_ratio_min"] > 0


def test_fvd_cli_between_arrays(tmp_path: Path, capsys) -> None:
    require_extra("fvd")
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    smooth = np.repeat(np.repeat(rng.integers(0, 256, (3, 16, 4, 4, 3), dtype=np.uint8), 8, 2), 8, 3)
    noise = rng.integers(0, 256, (3, 16, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", videos=smooth)
    np.save(tmp_path / "b.npy", noise)
    assert main(["fvd", str(tmp_path / "a.npz"), str(tmp_path / "a.npz"), "--protocol", "fvd64_16f", "--json"]) == 0
    captured = capsys.readouterr()
    same = json.loads(captured.out)
    assert "not comparable" in captured.err and same["comparable"] is False
    assert abs(same["fvd"]) < 1e-3 and same["num_first"] == same["num_second"] == 3
    assert main(["fvd", str(tmp_path / "a.npz"), str(tmp_path / "b.npy"), "--protocol", "fvd64_16f", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fvd"] > 10.0
    assert main(["fvd", str(tmp_path / "a.npz"), str(tmp_path / "missing.npy")]) == 2
    assert "missing.npy" in capsys.readouterr().err
