"""The PyBullet robot-pushing benchmark (dvdgan/data/robot.py) at a tiny size: deterministic and independent of order
and workers, disjoint splits, a store that dvdgan loads and trains on. Skipped without pybullet (extra `robot`)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from _train_helpers import MICRO
from dvdgan.cli import main
from dvdgan.config import DataConfig
from dvdgan.data import PreparedStore, build_dataset
from dvdgan.data.robot import INSTALL_HINT, RobotOptions, RobotScene, render_sequences, write_robot_store
from dvdgan.training import checkpoint as ckpt

OPTIONS = RobotOptions(size=32, frames=8)
COUNT = 4


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """Four training sequences rendered by two worker processes."""
    pytest.importorskip("pybullet")
    out = tmp_path_factory.mktemp("robot") / "train"
    summary = write_robot_store(out, "train", COUNT, seed=5, options=OPTIONS, workers=2, progress=False)
    assert (summary.videos, summary.frames) == (COUNT, COUNT * OPTIONS.frames)
    return out


def render_one(split: str, index: int, seed: int = 5) -> np.ndarray:
    return next(render_sequences(seed, split, [index], OPTIONS))[1].frames


def test_store_loads_with_the_right_shapes(store) -> None:
    prepared = PreparedStore(store)
    assert (len(prepared), prepared.size, prepared.num_classes, prepared.total_frames) == (COUNT, 32, 0, 32)
    video = prepared.video(2)
    assert video.dtype == np.uint8 and video.shape == (8, 32, 32, 3)
    assert {"objects", "moved_objects", "max_shift_m"} <= prepared.videos[0].keys()
    assert all(OPTIONS.min_objects <= v["objects"] <= OPTIONS.max_objects for v in prepared.videos)
    data = build_dataset(DataConfig(source=f"prepared:{store}"), num_frames=4, resolution=32)
    clip, label = data[0]
    assert tuple(clip.shape) == (4, 32, 32, 3) and int(label) == 0


def test_a_sequence_depends_only_on_seed_split_and_index(store) -> None:
    # index 3 alone, in this process, equals index 3 rendered by a worker after other sequences
    assert np.array_equal(render_one("train", 3), PreparedStore(store).video(3))
    again = store.parent / "again"
    write_robot_store(again, "train", COUNT, seed=5, options=OPTIONS, workers=1, progress=False)
    assert (again / "frames.u8").read_bytes() == (store / "frames.u8").read_bytes()


def test_splits_and_seeds_differ(store) -> None:
    train = PreparedStore(store).video(0)
    assert not np.array_equal(render_one("test", 0), train)
    assert not np.array_equal(render_one("train", 0, seed=6), train)


def test_the_arm_moves(store) -> None:
    prepared = PreparedStore(store)
    for i in range(COUNT):
        video = prepared.video(i).astype(np.int16)
        change = np.abs(video[1:] - video[:-1]).mean(axis=(1, 2, 3))
        assert (change > 0).all(), f"sequence {i} has a still frame"  # the arm never stops (constant speed)
        assert np.abs(video[-1] - video[0]).mean() > 2.0, f"sequence {i} barely changes"


def test_the_arm_pushes_objects() -> None:
    pytest.importorskip("pybullet")
    # full-length sequences (the physics does not depend on the image size): each pushes something
    pushed = [seq.moved_objects for _, seq in render_sequences(0, "test", [0, 1, 2, 3], RobotOptions(size=16))]
    # [1, 4, 3, 4] with pybullet 3.2.7 (docs/robot.md's picture); not pinned, as other versions may differ
    assert min(pushed) >= 1, pushed


def test_a_finished_store_is_kept_and_other_settings_are_refused(store) -> None:
    index = (store / "index.json").read_text()
    kept = write_robot_store(store, "train", COUNT, seed=5, options=OPTIONS, progress=False)
    assert kept.already_complete and (store / "index.json").read_text() == index
    with pytest.raises(ValueError, match="other settings"):
        write_robot_store(store, "train", COUNT, seed=6, options=OPTIONS, progress=False)
    with pytest.raises(ValueError, match="split must be"):
        write_robot_store(store.parent / "bad", "val", 1, options=OPTIONS, progress=False)


def test_two_training_steps_on_the_store(store, tmp_path) -> None:
    run = tmp_path / "run"
    argv = ["train", "--preset", "tiny", "--data", f"prepared:{store}", "--out", str(run), "--steps", "2", "--quiet"]
    for item in [*MICRO, "model.resolution=32", "train.eval_every=0"]:
        argv += ["--set", item]
    assert main(argv) == 0
    assert [p.name for p in ckpt.list_checkpoints(run)] == ["ckpt-00000002.pt"]
    config = ckpt.read_checkpoint(ckpt.checkpoint_path(run, 2))["config"]
    # an unlabelled store: no classes, and the preset's class loss off
    assert config["model"]["num_classes"] == 0 and config["train"]["extra_terms"]["class_loss"] == 0.0


def test_a_missing_pybullet_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pybullet", None)  # import pybullet now raises ImportError
    with pytest.raises(ImportError) as info:
        RobotScene(OPTIONS)
    assert str(info.value) == INSTALL_HINT and "dvdgan[robot]" in INSTALL_HINT
