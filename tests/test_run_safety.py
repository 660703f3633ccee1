"""A run never loses more than the work since its last checkpoint, and says what it does: failing evaluations,
crashes, signals, full disks, locks, foreign directories, resume messages and log.txt."""

from __future__ import annotations

import errno
import json
import os
import signal
from pathlib import Path

import pytest
import torch

from _train_helpers import load_payload, micro_cfg
from dvdgan.cli import main
from dvdgan.training import checkpoint as ckpt
from dvdgan.training import loop
from dvdgan.training.loop import train
from dvdgan.training.rundir import RunDirError, RunLock

MICRO_ARGS = ["--quiet", "--set", "model.resolution=16", "--set", "model.num_frames=4", "--set", "model.generator.ch=2",
              "--set", "model.discriminator.ch=4", "--set", "model.discriminator.k_frames=2",
              "--set", "train.batch_size=4", "--set", "train.checkpoint_every=2", "--set", "train.sample_every=0",
              "--set", "train.eval_every=0", "--set", "train.device=cpu", "--set", "train.log_every=1"]


def _steps(path: Path, name: str = "stats.jsonl") -> list[int]:
    return [json.loads(line)["step"] for line in (path / name).read_text().splitlines()]


def _last_line(err: str) -> str:
    assert "Traceback" not in err, err
    return err.strip().splitlines()[-1]


def test_failing_evaluation_and_snapshot_are_logged_and_the_run_goes_on(tmp_path, monkeypatch, capsys) -> None:
    import dvdgan.training.evaluate as evaluate

    seen = []

    def broken_metric(G, cfg, dataset, device, **kwargs):
        seen.append(ckpt.checkpoint_path(tmp_path, 2).is_file())  # the checkpoint of the same step came first
        raise RuntimeError("metric exploded")

    def broken_writer(self, G, step, logger=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(evaluate, "evaluate_generator", broken_metric)
    monkeypatch.setattr(loop.Snapshotter, "write", broken_writer)
    result = train(micro_cfg("train.steps=4", "train.eval_every=2", "train.sample_every=2"), tmp_path, quiet=True)
    assert result.step == 4 and not result.stopped_early and seen == [True, True]
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["ckpt-00000002.pt", "ckpt-00000004.pt"]
    err = capsys.readouterr().err
    assert "warning: evaluation at step 2 failed (RuntimeError: metric exploded)" in err
    assert "warning: sample snapshot at step 4 failed (OSError: [Errno 28] No space left on device)" in err
    assert "Traceback" not in err  # the console gets one line each ...
    log = (tmp_path / "log.txt").read_text()
    assert "Traceback (most recent call last)" in log and "RuntimeError: metric exploded" in log  # ... log.txt all


def test_crash_saves_the_steps_since_the_last_checkpoint(tmp_path, monkeypatch, capsys) -> None:
    real_step = loop.Trainer.train_step

    def failing_step(self):
        if self.step == 3:
            raise RuntimeError("data went away")
        return real_step(self)

    monkeypatch.setattr(loop.Trainer, "train_step", failing_step)
    with pytest.raises(RuntimeError, match="data went away"):
        train(micro_cfg("train.steps=6", "train.checkpoint_every=10"), tmp_path / "a", quiet=True)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "a")] == ["ckpt-00000003.pt"]
    assert load_payload(ckpt.checkpoint_path(tmp_path / "a", 3))["step"] == 3
    assert "saved step 3" in capsys.readouterr().err
    assert "RuntimeError: data went away" in (tmp_path / "a" / "log.txt").read_text()  # with its traceback

    def poisoned_step(self):  # a broken (non-finite) state is never saved
        if self.step == 3:
            with torch.no_grad():
                next(self.G.parameters()).fill_(float("nan"))
            raise RuntimeError("data went away")
        return real_step(self)

    monkeypatch.setattr(loop.Trainer, "train_step", poisoned_step)
    with pytest.raises(RuntimeError):
        train(micro_cfg("train.steps=6", "train.checkpoint_every=10"), tmp_path / "b", quiet=True)
    assert ckpt.list_checkpoints(tmp_path / "b") == []


def test_resume_says_where_it_starts_cuts_logs_back_and_takes_new_rates(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--steps", "3", *MICRO_ARGS]) == 0
    ckpt.checkpoint_path(run, 3).unlink()  # as if killed after step 3 was logged but before it was saved
    assert _steps(run) == [1, 2, 3]
    capsys.readouterr()
    assert main(["train", "--resume", "--out", str(run), "--steps", "4", "--set", "train.lr_d=1e-3"]) == 0
    err = capsys.readouterr().err
    assert f"resumed from step 2 ({ckpt.checkpoint_path(run, 2)})" in err
    assert "finished at step 4" in err
    assert _steps(run) == [1, 2, 3, 4]  # step 3 is logged once, by the run that kept it
    state = load_payload(ckpt.checkpoint_path(run, 4))
    assert [g["lr"] for g in state["opt_D"]["param_groups"]] == [1e-3]  # the --set wins over the saved rate
    log = (run / "log.txt").read_text()
    assert "starting at step 0" in log and "resumed from step 2" in log and "finished at step 4" in log
    assert main(["train", "--resume", "--out", str(run)]) == 0  # already at its last step: says where it is
    assert f"finished at step 4; checkpoint {ckpt.checkpoint_path(run, 4)}" in capsys.readouterr().err


def test_progress_total_is_the_work_of_this_run(tmp_path, capsys) -> None:
    train(micro_cfg("train.steps=10"), tmp_path, max_steps=2, quiet=False)
    err = capsys.readouterr().err
    assert "2/2" in err and "/10" not in err
    assert "\r" not in (tmp_path / "log.txt").read_text()  # the bar's redraws are not kept, its last state is
    assert "2/2" in (tmp_path / "log.txt").read_text()


def test_sigterm_saves_and_exits_non_zero(tmp_path, monkeypatch, capsys) -> None:
    real_step = loop.Trainer.train_step

    def step_then_term(self):
        values = real_step(self)
        if self.step == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # what a scheduler sends before the wall-time limit
        return values

    monkeypatch.setattr(loop.Trainer, "train_step", step_then_term)
    assert main(["train", "--out", str(tmp_path / "run"), "--steps", "5", *MICRO_ARGS]) == 128 + signal.SIGTERM
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "run")] == ["ckpt-00000001.pt"]
    err = capsys.readouterr().err
    assert "stopped by SIGTERM at step 1" in err and "dvdgan train --resume --out" in err


def test_full_disk_while_saving_leaves_no_tmp_and_says_so(tmp_path, monkeypatch, capsys) -> None:
    real_save = ckpt.torch.save

    def full_disk(obj, f):
        if obj["step"] == 4:
            f.write(b"PK\x03\x04 partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(obj, f)

    monkeypatch.setattr(ckpt.torch, "save", full_disk)
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--steps", "6", *MICRO_ARGS]) == 2
    line = _last_line(capsys.readouterr().err)
    assert line == (f"dvdgan train: error: could not write {ckpt.checkpoint_path(run, 4)} (No space left on device); "
                    "earlier checkpoints are intact")
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["ckpt-00000002.pt"]  # no .tmp
    assert ckpt.read_checkpoint(ckpt.checkpoint_path(run, 2))["step"] == 2


def test_run_directory_is_locked_and_never_foreign(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    lock = RunLock(run)  # another `dvdgan train --out run` is writing
    with pytest.raises(RunDirError, match=rf"{run} is in use by another dvdgan train \(pid {os.getpid()}\)"):
        train(micro_cfg("train.steps=2"), run, quiet=True)
    assert main(["train", "--out", str(run), "--steps", "2", *MICRO_ARGS]) == 2
    assert "is in use by another dvdgan train" in _last_line(capsys.readouterr().err)
    lock.release()
    assert not (run / "config.yaml").exists()  # the refused runs wrote nothing
    train(micro_cfg("train.steps=2"), run, quiet=True)
    assert main(["train", "--out", str(run), "--steps", "2", *MICRO_ARGS]) == 2
    assert "already holds checkpoints; add --resume" in _last_line(capsys.readouterr().err)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    assert main(["train", "--out", str(mine), "--steps", "2", *MICRO_ARGS]) == 2
    assert "not empty and not a dvdgan run directory (e.g. it holds 'notes.txt')" in _last_line(capsys.readouterr().err)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_a_run_killed_before_its_first_checkpoint_starts_again_cleanly(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    train(micro_cfg("train.steps=2"), run, quiet=True)
    for path in ckpt.list_checkpoints(run):
        path.unlink()
    capsys.readouterr()
    train(micro_cfg("train.steps=3"), run, quiet=True)  # a new run in what the killed one left
    assert _steps(run) == [1, 2, 3] and _steps(run, "stats.1.jsonl") == [1, 2]  # the killed run's log kept aside
    for path in ckpt.list_checkpoints(run):
        path.unlink()
    with pytest.raises(ckpt.CheckpointError, match="holds no checkpoint to resume; to start a run there from step 0"):
        train(micro_cfg("train.steps=3"), run, resume=True, quiet=True)  # issue 25: never a silent step 0
    assert _steps(run) == [1, 2, 3]


def test_unreadable_checkpoints_never_mean_step_0(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    train(micro_cfg("train.steps=2"), run, quiet=True)
    path = ckpt.checkpoint_path(run, 2)
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    capsys.readouterr()
    with pytest.warns(UserWarning, match="skipping checkpoint .* is unreadable"):  # the "warnings" the error cites
        assert main(["train", "--resume", "--out", str(run)]) == 2
    line = _last_line(capsys.readouterr().err)
    assert "none of the 1 checkpoints" in line and "move them away to start again from step 0" in line
    with pytest.raises(ckpt.CheckpointError, match="truncated or not a checkpoint: not a complete torch archive"):
        ckpt.read_checkpoint(path)


def test_pruning_keeps_the_new_checkpoint_whatever_corrupt_files_are_named(tmp_path) -> None:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for step in (2, 4):
        torch.save({"step": step}, ckpt.checkpoint_path(tmp_path, step))
    (folder / "ckpt-00001000.pt").write_bytes(b"not a checkpoint")  # sorts last by name
    ckpt.prune_checkpoints(tmp_path, keep=1, newest=ckpt.checkpoint_path(tmp_path, 4))
    assert sorted(p.name for p in folder.iterdir()) == ["ckpt-00000004.pt", "ckpt-00001000.pt"]


def test_metrics_that_cannot_apply_fail_before_step_1(tmp_path, capsys) -> None:
    with pytest.raises(ValueError) as info:
        train(micro_cfg("train.steps=2", "train.eval_every=2", "eval.metrics=[motion, fvd]"), tmp_path, quiet=True)
    message = str(info.value)
    assert message.startswith("fvd: FVD is undefined for 4-frame clips") and "\n" not in message
    assert message.endswith("Metrics that apply to this model and data: class_acc, motion, travel")
    assert not (tmp_path / "stats.jsonl").exists()  # not one step trained
    assert "error: ValueError: fvd: FVD is undefined" in (tmp_path / "log.txt").read_text()


def test_only_rank_0_prints_start_and_end(capsys) -> None:
    from dvdgan.training.distributed import DistInfo

    trainer = loop.Trainer.__new__(loop.Trainer)  # just what the two printers read
    trainer.dist = DistInfo(rank=1, local_rank=1, world_size=2)
    trainer._announce(10)
    trainer._report(loop.TrainResult(10, Path("run"), False, None))
    assert capsys.readouterr().err == ""  # under torchrun, rank 1 printed "checkpoint None"
