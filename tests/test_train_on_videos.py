"""A new user's path: encoded videos -> `dvdgan prepare` (one class folder all broken) -> `dvdgan train` with the
`tiny` and `small` presets, past the first in-loop evaluation and checkpoint, with metrics the data allows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _video_helpers import clips, write_video
from dvdgan.cli import main
from dvdgan.data import PreparedStore
from dvdgan.training import checkpoint as ckpt
from dvdgan.training.metric_plan import _i3d_problem

SHRINK = ["model.resolution=16", "model.generator.ch=2", "model.discriminator.ch=4", "model.discriminator.k_frames=2",
          "train.batch_size=4", "train.eval_every=2", "train.checkpoint_every=2", "train.sample_every=2",
          "eval.num_samples=4", "train.device=cpu"]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    made = clips(4, num_frames=16, size=24, seed=3)
    for i, frames in enumerate(made):
        write_video(root / ("cat", "dog")[i % 2] / f"v{i}.avi", frames)
    (root / "broken").mkdir()
    (root / "broken" / "b0.avi").write_bytes(b"not a video")
    (root / "broken" / "b1.mp4").write_bytes(write_video(root / "tmp.avi", made[0]).read_bytes()[:300])
    (root / "tmp.avi").unlink()
    out = root / "store"
    assert main(["prepare", str(root), str(out), "--size", "16", "--quiet", "--workers", "1"]) == 0
    return out


def test_prepare_drops_a_class_with_no_usable_video(store, capsys) -> None:
    prepared = PreparedStore(store)
    assert prepared.class_names == ["cat", "dog"]  # "broken" (between them) is dropped; "dog" is renumbered
    assert sorted(v["label"] for v in prepared.videos) == [0, 0, 1, 1]
    assert {v["class"] for v in prepared.videos if v["label"] == 1} == {"dog"}
    skipped = json.loads((store / "skipped.json").read_text())
    assert {"path": "broken/", "reason": "class dropped: none of its videos could be prepared"} in skipped
    assert {s["path"] for s in skipped} >= {"broken/b0.avi", "broken/b1.mp4"}
    store2 = store.parent / "again"
    assert main(["prepare", str(store.parent), str(store2), "--size", "16", "--quiet", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "dropped 1 class(es) with no usable video: broken" in out


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_presets_train_on_a_prepared_store_past_evaluation_and_checkpoint(store, tmp_path, preset, monkeypatch,
                                                                         capsys) -> None:
    monkeypatch.setenv("DVDGAN_CACHE", str(tmp_path / "cache"))  # real FVD statistics of this store
    run = tmp_path / "run"
    argv = ["train", "--preset", preset, "--data", f"prepared:{store}", "--out", str(run), "--steps", "3", "--quiet"]
    for item in SHRINK + ["eval.protocol=fvd2_16f"] * (preset == "small"):  # 2 vs 2 clips keep I3D to seconds
        argv += ["--set", item]
    assert main(argv) == 0
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [2, 3]  # in-loop at eval_every=2, and at the run's last step
    assert [p.name for p in ckpt.list_checkpoints(run)] == ["ckpt-00000002.pt", "ckpt-00000003.pt"]
    assert "class_acc" not in metrics[0] and len(metrics[0]["motion_ratio"]) == (7 if preset == "tiny" else 15)
    chosen = ckpt.read_checkpoint(ckpt.checkpoint_path(run, 3))["config"]
    assert chosen["model"]["num_classes"] == 2
    fvd = preset == "small" and _i3d_problem() is None  # 8 frames (tiny): FVD is undefined; 16 (small): FVD
    assert chosen["eval"]["metrics"] == (["motion", "fvd"] if fvd else ["motion"])
    if fvd:
        assert metrics[0]["fvd"] >= 0 and metrics[0]["protocol"] == "fvd2_16f"
    err = capsys.readouterr().err
    listed = ", ".join(chosen["eval"]["metrics"])
    assert f"data prepared:{store}: 4 videos, 2 classes; metrics every 2 steps and at the last: {listed}" in err
    assert "warning" not in err
