"""Training: exact resume, crash safety, non-finite losses, batch layout independence, CLI errors."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from _train_helpers import assert_states_equal, load_payload, micro_cfg
from dvdgan.cli import main
from dvdgan.training import checkpoint as ckpt
from dvdgan.training.batches import BatchLayout, GlobalStream, RankBatchSampler
from dvdgan.training.loop import NonFiniteLossError, train


def test_resume_is_bit_exact(tmp_path: Path) -> None:
    cfg = micro_cfg("train.steps=4")
    full = train(cfg, tmp_path / "full", quiet=True)
    assert full.step == 4
    part = train(cfg, tmp_path / "part", max_steps=2, quiet=True)  # "killed" after step 2
    assert part.step == 2 and part.stopped_early
    resumed = train(cfg, tmp_path / "part", resume=True, quiet=True)
    assert resumed.step == 4
    a = load_payload(ckpt.checkpoint_path(tmp_path / "full", 4))
    b = load_payload(ckpt.checkpoint_path(tmp_path / "part", 4))
    assert_states_equal(a, b)
    for key in ("opt_G", "opt_D"):
        for pid, state in a[key]["state"].items():
            for name, value in state.items():
                assert torch.equal(value, b[key]["state"][pid][name]), f"{key}[{pid}].{name} differs"
    stats = [json.loads(line) for line in (tmp_path / "full" / "stats.jsonl").read_text().splitlines()]
    assert [s["step"] for s in stats] == [1, 2, 3, 4]
    assert all(k in stats[0] for k in ("loss_d", "loss_g", "d_real_spatial", "d_fake_temporal", "sec_per_step"))


def test_training_is_deterministic_with_accumulation(tmp_path: Path) -> None:
    """Two runs with the same seed (and gradient accumulation over two micro-batches) give identical weights."""
    a = train(micro_cfg("train.steps=2", "train.micro_batch=2"), tmp_path / "a", quiet=True)
    b = train(micro_cfg("train.steps=2", "train.micro_batch=2"), tmp_path / "b", quiet=True)
    assert_states_equal(load_payload(a.last_checkpoint), load_payload(b.last_checkpoint))  # deterministic


def test_rank_batches_are_disjoint_shards_of_the_global_batch() -> None:
    stream = GlobalStream(100, seed=3)
    single = RankBatchSampler(stream, BatchLayout.create(8, 4, 1, 2), rank=0)
    ranks = [RankBatchSampler(GlobalStream(100, seed=3), BatchLayout.create(8, 4, 2, 2), rank=r) for r in (0, 1)]
    it_single, it_ranks = iter(single), [iter(r) for r in ranks]
    for _ in range(6):  # three steps of two data phases
        s0, s1 = next(it_single), next(it_single)
        r0, r1 = next(it_ranks[0]), next(it_ranks[1])
        assert (s0, s1) == (r0, r1)
        assert not set(r0) & set(r1)
    with pytest.raises(ValueError, match="multiple of"):
        BatchLayout.create(6, 4, 1, 1)


def _ddp_worker(rank: int, world: int, init_file: str, cfg_dict: dict, run_dir: str) -> None:
    # As under torchrun, the rendezvous store outlives every rank: a TCP store hosted by rank 0 (MASTER_ADDR
    # without torchrun) goes away when rank 0 exits first, and the other rank then aborted in CI ("terminate
    # called without an active exception"). train() finds the group initialised and joins it.
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    from dvdgan.config import DVDGANConfig

    train(DVDGANConfig.from_dict(cfg_dict), run_dir, quiet=True)
    torch.distributed.destroy_process_group()


@pytest.mark.parametrize("fp", [False, True], ids=["synthesis", "fp"])
def test_ddp_two_ranks_match_single_process(tmp_path: Path, fp: bool) -> None:
    # DVD-GAN-FP goes through the same loop: its G steps also draw real clips (the contexts) from the stream.
    extra = ("model.context_frames=1", "data.source=motion") if fp else ()
    preset = "tiny-fp" if fp else "tiny"
    # Per-rank BN: with cross-replica BN two ranks normalise over 4 clips where one process sees micro-batches of 2.
    # One thread in the single process as in each rank: the thread count changes float rounding, and Adam turns
    # the rounding noise of gradients that are zero in exact arithmetic (conv biases ahead of a BN) into +-lr steps.
    cfg = micro_cfg("train.steps=2", "train.micro_batch=2", "model.generator.cross_replica_bn=false",
                    "train.threads=1", *extra, preset=preset)  # one process: 2 x 2
    single = train(cfg, tmp_path / "single", quiet=True)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_ddp_worker, args=(r, 2, str(tmp_path / "store"), cfg.to_dict(), str(tmp_path / "ddp")))
             for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    ddp_ckpt = ckpt.checkpoint_path(tmp_path / "ddp", 2)
    a, b = load_payload(single.last_checkpoint), load_payload(ddp_ckpt)
    assert b["world_size"] == 2 and len(b["rng"]) == 2
    # Weights agree to float reduction order. Adam's first steps move a weight by ~lr whatever its gradient's
    # size, so a gradient that is ~0 can flip sign between the two sums: allow that for a tiny share of weights.
    # (BN running statistics are not compared: rank 0's are broadcast, one process accumulates both halves.)
    names = [(k, n) for k in ("G", "D") for n in a[k] if "running_" not in n]
    per_tensor = {f"{k}.{n}": (a[k][n] - b[k][n]).abs().flatten() for k, n in names}
    diffs = torch.cat(list(per_tensor.values()))
    worst = sorted(((float((d > 1e-6).float().mean()), name) for name, d in per_tensor.items()), reverse=True)[:8]
    assert diffs.max() < 4 * cfg.train.lr_g, worst
    assert (diffs > 1e-6).float().mean() < 0.01, f"{(diffs > 1e-6).float().mean():.4f} of weights differ: {worst}"
    seed1 = train(micro_cfg("train.steps=2", "train.seed=1", *extra, preset=preset), tmp_path / "seed1", quiet=True)
    other = load_payload(seed1.last_checkpoint)
    other_diffs = torch.cat([(a[k][n] - other[k][n]).abs().flatten() for k in ("G", "D") for n in a[k]
                             if "running_" not in n])
    assert (other_diffs > 1e-6).float().mean() > 0.5  # the check can tell different runs apart
    # Only rank 0 logs: one stats line per step, not two; its losses are the mean over ranks, which is what one
    # process logs for its two micro-batches (rank 0's own loss is not).
    logged = [[json.loads(line) for line in (tmp_path / run / "stats.jsonl").read_text().splitlines()]
              for run in ("single", "ddp")]
    assert len(logged[1]) == 2
    for one, two in zip(*logged, strict=True):
        losses = [k for k in one if k.startswith(("d_", "g_", "loss_"))]
        assert losses and all(abs(one[k] - two[k]) < 1e-4 for k in losses), (one, two)


def test_non_finite_loss_stops_without_saving(tmp_path: Path, monkeypatch) -> None:
    import dvdgan.training.loop as loop

    cfg = micro_cfg("train.steps=4")
    train(cfg, tmp_path, max_steps=2, quiet=True)
    good = ckpt.list_checkpoints(tmp_path)
    real_loss = loop.d_objective

    def nan_loss(*args):
        loss, terms = real_loss(*args)
        return loss * float("nan"), terms

    monkeypatch.setattr(loop, "d_objective", nan_loss)
    with pytest.raises(NonFiniteLossError, match=r"non-finite discriminator loss \(nan\) at step 2"):
        train(cfg, tmp_path, resume=True, quiet=True)
    assert ckpt.list_checkpoints(tmp_path) == good
    assert ckpt.read_checkpoint(good[-1])["step"] == 2


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import dvdgan.training.checkpoint as ckpt
    from dvdgan.training.loop import train
    sys.path.insert(0, {tests!r})
    from _train_helpers import micro_cfg
    real_save = ckpt.torch.save
    calls = []
    def dying_save(obj, f):
        calls.append(1)
        if obj["step"] == 4:  # the second checkpoint: write half of it, then die like a SIGKILLed process
            f.write(b"PK\\x03\\x04 partial")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        real_save(obj, f)
    ckpt.torch.save = dying_save
    train(micro_cfg("train.steps=6"), {run!r}, quiet=True)
""")


def test_sigkill_while_saving_keeps_previous_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "run"
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), run=str(run))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert [p.name for p in ckpt.list_checkpoints(run)] == ["ckpt-00000002.pt"]
    assert ckpt.read_checkpoint(ckpt.list_checkpoints(run)[0])["step"] == 2
    # A corrupt file under a final name (e.g. copied half-way) is skipped with a warning, not fatal.
    (run / "checkpoints" / "ckpt-00000003.pt").write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="skipping"):
        result = train(micro_cfg("train.steps=4"), run, resume=True, quiet=True)
    assert result.step == 4
    stats = [json.loads(x)["step"] for x in (run / "stats.jsonl").read_text().splitlines()]
    assert stats[-2:] == [3, 4]  # continued from step 2


def _one_line_error(capsys, argv: list[str], needle: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err


def test_unlabelled_folder_turns_the_presets_class_loss_off(tmp_path: Path, capsys) -> None:
    """`tiny` carries a class loss; a flat folder of videos has no classes, so `dvdgan train` turns it off, unless
    the user asked for it, which is then a one-line error."""
    from _video_helpers import clips, write_video

    for i, frames in enumerate(clips(2, num_frames=8, size=32)):
        write_video(tmp_path / "flat" / f"v{i}.avi", frames)
    argv = ["train", "--data", f"folder:{tmp_path / 'flat'}", "--out", str(tmp_path / "run")]
    assert main([*argv, "--dry-run"]) == 0
    resolved = capsys.readouterr().out
    assert "num_classes: 0" in resolved and "class_loss: 0.0" in resolved
    key = "train.extra_terms.class_loss"
    _one_line_error(capsys, [*argv, "--dry-run", "--set", f"{key}=1"], key)
    _one_line_error(capsys, [*argv, "--dry-run", "--set", "train.class_loss=1"], key)  # its name before issue 27


def test_torchrun_two_ranks_train_and_exit_cleanly(tmp_path: Path) -> None:
    """``torchrun --nproc_per_node 2 -m dvdgan train``: both ranks finish, leave the group and exit 0."""
    from _train_helpers import MICRO

    sets = [arg for kv in [*MICRO, "train.steps=2", "train.micro_batch=2"] for arg in ("--set", kv)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "dvdgan", "train", "--out", str(tmp_path / "run"), "--quiet", *sets],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "terminate called" not in proc.stderr and "destroy_process_group" not in proc.stderr
    payload = load_payload(ckpt.checkpoint_path(tmp_path / "run", 2))
    assert payload["world_size"] == 2 and len(payload["rng"]) == 2


def test_cli_errors_are_one_line(tmp_path: Path, capsys) -> None:
    _one_line_error(capsys, ["train", "--set", "train.lrg=1", "--out", str(tmp_path / "a")], "train.lrg")
    _one_line_error(capsys, ["train", "--preset", "nope"], "unknown preset 'nope'")
    _one_line_error(capsys, ["train", "--data", f"folder:{tmp_path / 'missing'}", "--out", str(tmp_path / "b")],
                    "missing")
    # A checkpoint whose weights do not fit its config (another architecture).
    cfg = micro_cfg("train.steps=2")
    res = train(cfg, tmp_path / "run", quiet=True)
    capsys.readouterr()  # the run's start-up and final lines
    data = load_payload(res.last_checkpoint)
    data["config"]["model"]["generator"]["ch"] = 4
    torch.save(data, tmp_path / "other.pt")
    _one_line_error(capsys, ["sample", str(tmp_path / "other.pt"), "--out", str(tmp_path / "x.gif")],
                    "does not match this architecture")
    _one_line_error(capsys, ["train", "--resume", "--out", str(tmp_path / "run"), "--set", "model.generator.ch=4"],
                    "different model config")


def test_train_cli_writes_run_directory(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["train", "--out", str(out), "--steps", "2", "--quiet", "--set", "train.sample_every=2"]
    for item in ["model.resolution=16", "model.num_frames=4", "model.generator.ch=2", "model.discriminator.ch=4",
                 "model.discriminator.k_frames=2", "train.batch_size=4", "train.checkpoint_every=2"]:
        argv += ["--set", item]
    assert main(argv) == 0
    assert (out / "config.yaml").is_file() and (out / "stats.jsonl").is_file()
    assert (out / "samples" / "samples-00000002.mp4").stat().st_size > 0
    assert (out / "samples" / "samples-00000002.gif").stat().st_size > 0
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert [p.name for p in ckpt.list_checkpoints(out)] == ["ckpt-00000002.pt"]
    for suffix in ("gif", "mp4", "npz", "png"):
        assert main(["sample", str(out), "--out", str(tmp_path / f"s.{suffix}"), "--classes", "0,3", "--n", "2"]) == 0
    import numpy as np
    from PIL import Image

    videos = np.load(tmp_path / "s.npz")
    assert videos["videos"].shape == (4, 4, 16, 16, 3) and list(videos["labels"]) == [0, 0, 3, 3]
    # The filmstrip: one clip per row, its 4 frames left to right, each frame scaled to 64 pixels, 2-pixel borders.
    strip = np.asarray(Image.open(tmp_path / "s.png"))
    assert strip.shape == (4 * 66 + 2, 4 * 66 + 2, 3)
    assert np.array_equal(strip[2:66:4, 68:132:4], videos["videos"][0, 1])
    import dvdgan

    G = dvdgan.load_checkpoint(out).G_ema
    assert G(torch.randn(1, 120), torch.tensor([1])).shape == (1, 4, 3, 16, 16)


def test_bf16_autocast_steps(tmp_path: Path) -> None:
    result = train(micro_cfg("train.steps=2", "train.precision=bf16"), tmp_path, quiet=True)
    state = load_payload(result.last_checkpoint)
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state["G"].values())
    assert all(v.dtype == torch.float32 for v in state["G"].values() if v.is_floating_point())  # fp32 master weights


def test_stats_log_each_discriminators_score_spread(tmp_path: Path) -> None:
    """A dead discriminator answers a constant; stats.jsonl shows it as a score spread of ~0 (a live one: > 0)."""
    result = train(micro_cfg("train.steps=2", "train.log_every=1"), tmp_path / "both", quiet=True)
    record = json.loads((result.run_dir / "stats.jsonl").read_text().splitlines()[-1])
    assert record["score_std_spatial"] > 0 and record["score_std_temporal"] > 0
    # loss_d is the sum of the hinge and class-loss terms (`tiny` has a class loss); the spreads are diagnostics,
    # not part of it (they once were)
    parts = ("spatial", "temporal")
    terms = [f"d_{side}_{k}" for side in ("real", "fake", "class") for k in parts]
    assert abs(record["loss_d"] - sum(record[t] for t in terms)) < 1e-5
    result = train(micro_cfg("train.steps=1", "model.discriminator.parts=[spatial]"), tmp_path / "ds", quiet=True)
    record = json.loads((result.run_dir / "stats.jsonl").read_text().splitlines()[-1])
    assert "score_std_spatial" in record and "score_std_temporal" not in record


def test_class_loss_terms_join_both_losses(tmp_path: Path) -> None:
    from dvdgan.config import ConfigError

    result = train(micro_cfg("train.steps=2", "train.extra_terms.class_loss=0.5", "train.extra_terms.mode_seeking=0"),
                   tmp_path / "run", quiet=True)
    record = json.loads((result.run_dir / "stats.jsonl").read_text().splitlines()[-1])
    parts = ("spatial", "temporal")
    assert all(record[f"{p}_class_{k}"] > 0 for p in ("d", "g") for k in parts)
    hinge_d = sum(record[f"d_{side}_{k}"] for side in ("real", "fake") for k in parts)
    assert abs(record["loss_d"] - hinge_d - record["d_class_spatial"] - record["d_class_temporal"]) < 1e-4
    hinge_g = record["g_spatial"] + record["g_temporal"]
    assert abs(record["loss_g"] - hinge_g - record["g_class_spatial"] - record["g_class_temporal"]) < 1e-4
    off = train(micro_cfg("train.steps=1", "train.extra_terms.class_loss=0"), tmp_path / "off", quiet=True)
    assert not any("class" in k for k in json.loads((off.run_dir / "stats.jsonl").read_text().splitlines()[-1]))
    for bad in (["model.num_classes=0"], ["train.extra_terms.class_loss=-1"], ["train.extra_terms.class_loss_g=-1"]):
        with pytest.raises(ConfigError, match="class_loss"):
            micro_cfg("train.extra_terms.class_loss=1", *bad)


def test_class_loss_g_weights_the_generators_side_alone(tmp_path: Path) -> None:
    def last_record(name: str, *sets: str) -> dict:
        cfg = micro_cfg("train.steps=1", "train.extra_terms.class_loss=0.5", "train.extra_terms.mode_seeking=0", *sets)
        run = train(cfg, tmp_path / name, quiet=True).run_dir
        return json.loads((run / "stats.jsonl").read_text().splitlines()[-1])

    record = last_record("g0", "train.extra_terms.class_loss_g=0")
    assert record["d_class_spatial"] > 0 and not any(k.startswith("g_class") for k in record)
    assert abs(record["loss_g"] - record["g_spatial"] - record["g_temporal"]) < 1e-4
    # the same G's clips at step 1: G's class term at weight 2 is 4x that at null (= class_loss, 0.5)
    both = last_record("g2", "train.extra_terms.class_loss_g=2")
    same = last_record("g", "train.extra_terms.class_loss_g=null")
    assert abs(both["g_class_spatial"] - 4 * same["g_class_spatial"]) < 1e-4 * max(1.0, both["g_class_spatial"])
    # the cap removes gradient only: at step 1 its reported value is the uncapped one
    capped = last_record("cap", "train.extra_terms.class_loss_g=null", "train.extra_terms.class_loss_g_cap=true")
    assert abs(capped["g_class_spatial"] - same["g_class_spatial"]) < 1e-5


def test_mode_seeking_term_joins_gs_loss_with_paired_labels(tmp_path: Path, monkeypatch) -> None:
    from dvdgan.config import ConfigError
    from dvdgan.models import Generator

    seen = []
    forward = Generator.forward
    monkeypatch.setattr(Generator, "forward", lambda self, z, y=None, *a, **k: seen.append(y) or forward(
        self, z, y, *a, **k))
    result = train(micro_cfg("train.steps=1", "train.batch_size=4", "train.extra_terms.mode_seeking=0.5"), tmp_path,
                   quiet=True)
    record = json.loads((result.run_dir / "stats.jsonl").read_text().splitlines()[-1])
    assert record["g_diversity"] > 0  # the term's name in logs from before it moved to train.extra_terms
    assert abs(record["loss_g"] - sum(v for k, v in record.items() if k.startswith("g_"))) < 1e-4
    trained = [y for y in seen if y is not None and len(y) == 4]
    assert any(torch.equal(y[:2], y[2:]) for y in trained)  # G's step draws its labels in pairs
    with pytest.raises(ConfigError, match="train.extra_terms.mode_seeking"):
        micro_cfg("train.extra_terms.mode_seeking=-1")


@pytest.mark.parametrize("parts", ["[spatial]", "[temporal]"])
def test_one_discriminator_trains_alone(tmp_path: Path, parts: str) -> None:
    result = train(micro_cfg("train.steps=2", f"model.discriminator.parts={parts}"), tmp_path, quiet=True)
    record = json.loads((result.run_dir / "stats.jsonl").read_text().splitlines()[-1])
    kept, dropped = ("spatial", "temporal") if parts == "[spatial]" else ("temporal", "spatial")
    assert f"d_real_{kept}" in record and f"g_{kept}" in record
    assert not any(key.endswith(dropped) for key in record)
