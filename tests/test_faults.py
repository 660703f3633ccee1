"""Issue 25: no fault silently drops data or reuses stale numbers. Full disks and kills during `dvdgan prepare`,
resuming a directory with no checkpoint, a second Ctrl-C during a save, the FVD statistics cache, ' #' in paths,
one clip given as many, and a broken --context video; docs/bad-inputs.md lists each with its test."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from _train_helpers import load_payload
from _video_helpers import clips, write_video
from dvdgan.cli import main
from dvdgan.config import ConfigError, DataConfig, load_preset
from dvdgan.data import PreparedStore
from dvdgan.data import prepare as prepare_module
from dvdgan.data.fingerprint import real_stats_key
from dvdgan.training import checkpoint as ckpt
from dvdgan.training import loop

MICRO_ARGS = ["--quiet", "--set", "model.resolution=16", "--set", "model.num_frames=4", "--set", "model.generator.ch=2",
              "--set", "model.discriminator.ch=4", "--set", "model.discriminator.k_frames=2",
              "--set", "train.batch_size=4", "--set", "train.checkpoint_every=2", "--set", "train.sample_every=0",
              "--set", "train.eval_every=0", "--set", "train.device=cpu", "--set", "train.log_every=1"]
TESTS = str(Path(__file__).parent)


def _error_line(capsys, argv: list[str], needle: str, code: int = 2) -> str:
    """Run the CLI: exit ``code`` and a last stderr line ``dvdgan CMD: error: ...`` holding ``needle``."""
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"dvdgan {argv[0]}: error: ") and needle in line, line
    return line


def _videos(root: Path, frames: dict[str, int]) -> Path:
    """``root/<class>/<name>.avi`` of ``frames[class/name]`` 32x32 frames each (lossless, distinct)."""
    for k, (rel, t) in enumerate(sorted(frames.items())):
        write_video(root / f"{rel}.avi", clips(1, t, 32, seed=k)[0])
    return root


def _cli(*argv: str, limit: int | None = None, script: str | None = None) -> subprocess.Popen:
    """``python -m dvdgan ARGV`` (or ``script``) in a new process; ``limit``: the largest file it may write, in
    bytes (RLIMIT_FSIZE, with SIGXFSZ ignored so that a write fails with EFBIG as on a full disk)."""

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    cmd = [sys.executable, "-c", script, *argv] if script else [sys.executable, "-m", "dvdgan", *argv]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": TESTS}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=limited if limit else None)


# 4: a write failure during prepare ---------------------------------------------------------------------------------


def test_4_a_full_disk_during_prepare_is_a_failure_and_the_rerun_retries(tmp_path, monkeypatch, capsys) -> None:
    src = _videos(tmp_path / "vids", {"a/v0": 6, "a/v1": 6, "b/v0": 6, "b/v1": 6})
    (src / "a" / "broken.avi").write_bytes(b"not a video")  # unreadable input: skipped, not a failure
    out = tmp_path / "store"
    real = prepare_module._write_npy
    calls = []

    def full_disk(path: Path, array: np.ndarray) -> None:
        calls.append(path)
        if len(calls) == 3:  # the third video written, b/v0: half a file, then the disk is full
            path.write_bytes(b"\x93NUMPY partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, array)

    monkeypatch.setattr(prepare_module, "_write_npy", full_disk)
    line = _error_line(capsys, ["prepare", str(src), str(out), "--size", "16", "--workers", "1", "--quiet"],
                       "(No space left on device) while saving the frames of b/v0.avi; no store was assembled")
    assert f"could not write {calls[2]} " in line and f"kept in {out / '.work'}" in line
    assert "rerun the same command to resume" in line
    assert not (out / "index.json").exists()  # nothing that loads while missing b/v0
    assert not list((out / ".work").glob("*.tmp*"))  # the partial shard does not keep the space
    monkeypatch.setattr(prepare_module, "_write_npy", real)  # space freed
    assert main(["prepare", str(src), str(out), "--size", "16", "--workers", "1", "--quiet"]) == 0
    assert "kept 4 videos" in capsys.readouterr().out  # b/v0 retried, not "already complete"
    store = PreparedStore(out)
    assert len(store) == 4 and store.class_names == ["a", "b"]
    assert [s["path"] for s in json.loads((out / "skipped.json").read_text())] == ["a/broken.avi"]


def test_4_a_file_size_limit_in_shards_and_assembly_fails_with_the_os_reason(tmp_path) -> None:
    src = _videos(tmp_path / "vids", {"a/v0": 6, "a/v1": 6, "b/v0": 24, "b/v1": 6})
    out = tmp_path / "store"
    # 6 frames of 16x16 fit in 5 KB, 24 do not (worker processes); then frames.u8 of all 42 frames does not.
    run = _cli("prepare", str(src), str(out), "--size", "16", "--workers", "2", "--quiet", limit=5_000)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 2 and "Traceback" not in err, err
    assert err.strip().endswith("rerun the same command to resume") and len(err.strip().splitlines()) == 1
    assert "(File too large) while saving the frames of b/v0.avi; no store was assembled" in err
    assert not (out / "index.json").exists()
    run = _cli("prepare", str(src), str(out), "--size", "16", "--max-frames", "6", "--quiet", limit=5_000)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 2 and f"could not write {out / '.frames.u8.tmp'} (File too large); no store" in err
    assert sorted(p.name for p in out.iterdir()) == [".work"]  # no partial frames file, no index
    run = _cli("prepare", str(src), str(out), "--size", "16", "--max-frames", "6", "--quiet")
    text, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert "kept 4 videos (24 frames of 16x16); skipped 0; decoded 0, 4 reused from an interrupted run" in text


SLOW_PREPARE = """
import sys, time
import dvdgan.data.prepare as prepare
real = prepare.read_frames
def slow(*args, **kwargs):  # long videos: the signal comes while the workers decode
    time.sleep(0.3)
    return real(*args, **kwargs)
prepare.read_frames = slow
from dvdgan.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_prepare_prints_no_worker_traceback_and_the_rerun_resumes(tmp_path, sig, capsys) -> None:
    src = _videos(tmp_path / "vids", {f"a/v{k}": 4 for k in range(8)})
    out = tmp_path / "store"
    run = _cli("prepare", str(src), str(out), "--size", "16", "--workers", "2", "--quiet", script=SLOW_PREPARE)
    deadline = time.monotonic() + 30
    while not [p for p in (out / ".work").glob("*.json") if p.name != "settings.json"]:
        assert time.monotonic() < deadline and run.poll() is None
        time.sleep(0.05)
    run.send_signal(sig)
    _, err = run.communicate(timeout=30)  # returns only once the workers, which share stderr, are gone too
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    if sig == signal.SIGTERM:
        assert run.returncode == 128 + signal.SIGTERM
        assert err.strip() == (f"dvdgan prepare: stopped by SIGTERM; the videos finished so far are kept in "
                               f"{out / '.work'}: rerun the same command to resume")
    else:
        assert run.returncode == -signal.SIGKILL and err == ""
    assert main(["prepare", str(src), str(out), "--size", "16", "--workers", "2", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "kept 8 videos" in text and "reused from an interrupted run" in text


# 5: --resume where there is nothing to resume ----------------------------------------------------------------------


def test_sigterm_to_a_worker_forked_before_its_initializer_ends_it_there() -> None:
    # Pool.terminate() on a loaded machine reached a decoding worker still running prepare's inherited SIGTERM
    # handler: the exception unwound the fork into the test session, and a second copy of pytest ran on beside
    # the first (sharing its tmp dirs: the DDP comparison then read the other copy's checkpoints).
    from dvdgan.cli.prepare import _sigterm_raises

    with _sigterm_raises():
        pid = os.fork()
        if pid == 0:  # the child: as a worker between fork and its initializer
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            except BaseException:
                os._exit(99)  # the handler raised here: the bug (exit so that no second session runs on)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 128 + signal.SIGTERM


def test_5_resume_without_a_checkpoint_is_an_error_and_touches_nothing(tmp_path, capsys) -> None:
    other = tmp_path / "other"
    other.mkdir()
    load_preset().save(other / "config.yaml")
    (other / "stats.jsonl").write_text('{"step": 7, "loss": 1}\n')  # another program's log
    (other / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in other.iterdir()}
    line = _error_line(capsys, ["train", "--resume", "--out", str(other), *MICRO_ARGS], "holds no checkpoint")
    assert line == (f"dvdgan train: error: --resume: {other} holds no checkpoint to resume; to start a run there "
                    f"from step 0, leave out --resume (e.g. dvdgan train --config {other / 'config.yaml'} --out "
                    f"{other}; earlier step logs are kept aside as stats.N.jsonl)")
    assert {p.name: p.read_bytes() for p in other.iterdir()} == before  # no log.txt, no .lock, same stats


def test_5_a_run_killed_before_its_first_checkpoint_restarts_keeping_its_logs(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--steps", "2", *MICRO_ARGS]) == 0
    for path in ckpt.list_checkpoints(run):  # as if killed before the first checkpoint
        path.unlink()
    old = (run / "stats.jsonl").read_text()
    _error_line(capsys, ["train", "--resume", "--out", str(run)], "holds no checkpoint to resume")
    assert main(["train", "--config", str(run / "config.yaml"), "--out", str(run), "--steps", "3"]) == 0
    assert "kept the earlier stats.jsonl as stats.1.jsonl" in capsys.readouterr().err
    assert (run / "stats.1.jsonl").read_text() == old
    assert [json.loads(x)["step"] for x in (run / "stats.jsonl").read_text().splitlines()] == [1, 2, 3]


# Ctrl-C pressed again during the save the first one started -------------------------------------------------------


def test_a_second_ctrl_c_during_the_save_lets_it_finish(tmp_path, monkeypatch, capsys) -> None:
    real_step, real_save = loop.Trainer.train_step, ckpt.torch.save

    def step_then_ctrl_c(self):
        real_step(self)
        if self.step == 1:
            os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C: save and stop

    def impatient_save(obj, f):
        os.kill(os.getpid(), signal.SIGINT)  # the second, while the first one's save is being written
        real_save(obj, f)

    monkeypatch.setattr(loop.Trainer, "train_step", step_then_ctrl_c)
    monkeypatch.setattr(ckpt.torch, "save", impatient_save)
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--steps", "5", *MICRO_ARGS]) == 130
    err = capsys.readouterr().err
    assert "SIGINT: finishing the checkpoint of step 1 first" in err and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "dvdgan train: interrupted"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["ckpt-00000001.pt"]  # whole, no .tmp
    assert load_payload(ckpt.checkpoint_path(run, 1))["step"] == 1
    monkeypatch.setattr(ckpt.torch, "save", real_save)
    monkeypatch.setattr(loop.Trainer, "train_step", real_step)
    assert main(["train", "--resume", "--out", str(run), "--steps", "2"]) == 0
    assert f"resumed from step 1 ({ckpt.checkpoint_path(run, 1)})" in capsys.readouterr().err


# 6: the FVD real-statistics cache is keyed on content --------------------------------------------------------------


def test_6_real_statistics_are_keyed_on_the_data_not_its_name(tmp_path, monkeypatch) -> None:
    def key(source: str) -> str:
        return real_stats_key(DataConfig(source=source), 16, 32)

    for name, seed in (("one", 0), ("two", 1)):
        (tmp_path / name).mkdir()
        np.save(tmp_path / name / "clips.npy", np.stack(clips(3, 16, 32, seed=seed)))
    monkeypatch.chdir(tmp_path / "one")
    first = key("clips.npy")
    assert key("clips.npy") == first  # stable: the cache is reused while the data is the same
    monkeypatch.chdir(tmp_path / "two")
    assert key("clips.npy") != first  # same text, other file
    np.save(tmp_path / "two" / "clips.npy", np.stack(clips(3, 16, 32, seed=2)))  # rewritten in place
    second = key("clips.npy")
    assert second != key(str(tmp_path / "one" / "clips.npy")) and second.startswith("clips.npy|")

    src = _videos(tmp_path / "vids", {"a/v0": 4, "a/v1": 4})
    store = tmp_path / "store"
    assert main(["prepare", str(src), str(store), "--size", "16", "--workers", "1", "--quiet"]) == 0
    before = key(f"prepared:{store}")
    assert main(["prepare", str(src), str(store), "--size", "16", "--max-frames", "3", "--overwrite",
                 "--workers", "1", "--quiet"]) == 0  # re-prepared at the same path
    assert key(f"prepared:{store}") != before
    before = key(f"folder:{src}")
    write_video(src / "a" / "v1.avi", clips(1, 5, 32, seed=9)[0])
    assert key(f"folder:{src}") != before


def test_6_the_evaluation_asks_the_cache_by_content(tmp_path, monkeypatch) -> None:
    import dvdgan.training.evaluate as evaluate

    class Found(Exception):
        pass

    def record(key, protocol, compute, i3d):
        raise Found(key)

    monkeypatch.setattr(evaluate, "load_i3d", lambda device: None)
    monkeypatch.setattr(evaluate, "_cached_real_statistics", record)
    keys = []
    for name, seed in (("one", 0), ("two", 1)):
        (tmp_path / name).mkdir()
        np.save(tmp_path / name / "clips.npy", np.stack(clips(3, 16, 32, seed=seed)))
        monkeypatch.chdir(tmp_path / name)
        cfg = load_preset().override(["data.source=clips.npy"])
        with pytest.raises(Found) as info:
            evaluate._video_metrics(None, cfg, None, ["fvd"], "fvd256_16f", "cpu", False, 0)
        keys.append(str(info.value))
    assert keys[0] != keys[1]


# 7: ' #' in a path ------------------------------------------------------------------------------------------------


def test_7_a_hash_in_a_set_path_is_part_of_the_path(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vids" / "good").mkdir(parents=True)
    (tmp_path / "vids" / "good #2").mkdir()
    argv = ["train", "--dry-run", "--set", "train.eval_every=0"]
    assert main([*argv, "--set", "data.source=folder:vids/good #2"]) == 0
    assert "source: 'folder:vids/good #2'" in capsys.readouterr().out
    assert load_preset().override(['data.source="a #b"']).data.source == "a #b"  # quotes still unquote
    _error_line(capsys, [*argv, "--set", "train.steps=5 # five"],
                "override 'train.steps=5 # five': '# five' after the value would be dropped as a YAML comment")
    with pytest.raises(ConfigError, match="would be dropped as a YAML comment"):
        load_preset().override(["eval.metrics=[fvd] #, is"])


def test_7_a_config_file_comment_that_cuts_an_existing_path_is_refused(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vids" / "good").mkdir(parents=True)
    (tmp_path / "vids" / "good #2").mkdir()
    Path("cut.yaml").write_text("data:\n  source: folder:vids/good #2\ntrain:\n  eval_every: 0\n")
    line = _error_line(capsys, ["train", "--dry-run", "--config", "cut.yaml"], "cut.yaml: data.source reads as")
    assert line.endswith("(YAML takes '#2' for a comment) but 'vids/good #2' exists; quote the value: "
                         "source: 'folder:vids/good #2'")
    Path("quoted.yaml").write_text("data:\n  source: 'folder:vids/good #2'\ntrain:\n  eval_every: 0\n")
    assert main(["train", "--dry-run", "--config", "quoted.yaml"]) == 0
    assert "source: 'folder:vids/good #2'" in capsys.readouterr().out
    Path("noted.yaml").write_text("data:\n  source: shapes  # the built-in clips\n")  # an ordinary comment
    assert main(["train", "--dry-run", "--config", "noted.yaml"]) == 0


# 8: one clip given where clips are expected -----------------------------------------------------------------------


def test_8_one_rgb_clip_is_not_read_as_many_grey_ones(tmp_path, capsys) -> None:
    one = tmp_path / "one.npy"
    np.save(one, clips(1, 16, 32)[0])  # [16, 32, 32, 3]
    np.save(tmp_path / "many.npy", np.stack(clips(3, 16, 32)))
    line = _error_line(capsys, ["fvd", str(one), str(tmp_path / "many.npy"), "--protocol", "fvd256_16f"],
                       "holds one clip")
    assert line == (f"dvdgan fvd: error: first input {one} holds one clip [16, 32, 32, 3] ([T, H, W, C]); "
                    "save clips as [N, T, H, W, C] (e.g. numpy.save(path, clip[None]))")
    np.save(tmp_path / "rgba.npy", np.zeros((4, 8, 8, 4), np.uint8))
    _error_line(capsys, ["fvd", str(tmp_path / "rgba.npy"), str(one)], "rgba.npy holds one clip [4, 8, 8, 4]")
    from dvdgan.data import ArrayVideos

    assert ArrayVideos(_save(tmp_path / "grey.npy", np.zeros((2, 4, 8, 8), np.uint8))).video(0).shape == (4, 8, 8, 3)


def _save(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


# --context a broken video ------------------------------------------------------------------------------------------


def test_a_broken_context_video_is_named(tmp_path, capsys) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    line = _error_line(capsys, ["sample", "pretrained:tiny-fp", "--context", str(broken), "--out",
                                str(tmp_path / "x.gif")], f"--context {broken} is not a readable video")
    assert line.endswith("(cannot decode broken.mp4: Invalid data found when processing input); expected a video "
                         "file or frame folder of >= 4 frames, or .npy/.npz clips")
    short = write_video(tmp_path / "short.avi", clips(1, 2, 16)[0])
    _error_line(capsys, ["sample", "pretrained:tiny-fp", "--context", str(short), "--out", str(tmp_path / "x.gif")],
                f"--context {short} has 2 frame(s); expected a video file or frame folder of >= 4 frames")
    assert not (tmp_path / "x.gif").exists()
