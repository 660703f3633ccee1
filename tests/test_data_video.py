"""Real-format video loaders: fake UCF-101 / Kinetics / frame-folder trees of encoded videos, `dvdgan prepare`,
the prepared store, clip sampling and the data-spec entry points."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from _video_helpers import clips, make_ucf_tree, write_frame_folder, write_video
from dvdgan import cli
from dvdgan.config import DataConfig
from dvdgan.data import (
    ClipDataset,
    PreparedStore,
    PrepareOptions,
    VideoFolder,
    build_dataset,
    load_clips,
    prepare_store,
    uint8_to_video,
    video_to_uint8,
)
from dvdgan.data import prepare as prepare_module
from dvdgan.data.resize import resize_clip


@pytest.fixture(scope="module")
def ucf(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("ucf") / "UCF-101"
    return root, make_ucf_tree(root)


def _prepare(src: Path, out: Path, *extra: str) -> int:
    return cli.main(["prepare", str(src), str(out), "--quiet", *extra])


def test_prepare_ucf101_round_trip_labels_and_splits(ucf, tmp_path, capsys):
    root, made = ucf
    # One lossy mpeg4 .avi beside the lossless ffv1 ones, listed in the train split.
    mpeg = clips(1, 6, 32, seed=3)[0]
    write_video(root / "YoYo" / "v_YoYo_g09_c01.avi", mpeg, codec="mpeg4")
    try:
        (root / "trainlist01.txt").write_text((root / "trainlist01.txt").read_text() + "YoYo/v_YoYo_g09_c01.avi 3\n")
        assert _prepare(root, tmp_path / "all", "--size", "32", "--workers", "2") == 0
        assert "kept 10 videos" in capsys.readouterr().out
        store = PreparedStore(tmp_path / "all")
        assert store.class_names == ["ApplyEyeMakeup", "Basketball", "YoYo"]
        assert store.size == 32 and len(store) == 10
        by_path = {v["path"]: i for i, v in enumerate(store.videos)}
        for rel, (frames, label, split) in made.items():
            i = by_path[rel]
            np.testing.assert_array_equal(store.video(i), frames)  # lossless codec, no resize: exact
            assert store.label(i) == label and store.tags(i) == (f"{split}1",)
        lossy = store.video(by_path["YoYo/v_YoYo_g09_c01.avi"]).astype(int)
        assert lossy.shape == mpeg.shape and np.abs(lossy - mpeg).mean() < 8
        assert store.label(by_path["YoYo/v_YoYo_g09_c01.avi"]) == 2

        # Splits of a store prepared with --split all select at training time ...
        train = build_dataset(DataConfig(source=f"prepared:{tmp_path / 'all'}", split="train"), 4, 32)
        test = build_dataset(DataConfig(source=f"prepared:{tmp_path / 'all'}", split="test"), 4, 32)
        assert (len(train), len(test)) == (7, 3)
        assert sorted(test.label(i) for i in range(3)) == [0, 1, 2]
        # ... or at prepare time.
        assert _prepare(root, tmp_path / "test", "--size", "32", "--split", "test", "--workers", "1") == 0
        assert sorted(v["path"] for v in PreparedStore(tmp_path / "test").videos) == sorted(
            rel for rel, (_, _, split) in made.items() if split == "test"
        )
    finally:
        (root / "YoYo" / "v_YoYo_g09_c01.avi").unlink()
        (root / "trainlist01.txt").write_text(
            "".join(f"{rel} {lab + 1}\n" for rel, (_, lab, s) in made.items() if s == "train"))


def test_ucf_listed_but_missing_and_unknown_split(ucf, tmp_path):
    root, made = ucf
    lists = root / "lists"
    lists.mkdir()
    shutil.copy(root / "classInd.txt", lists)
    (lists / "trainlist01.txt").write_text("Basketball/v_Basketball_g02_c01.avi 2\nBasketball/v_Gone_g05_c01.avi 2\n")
    (lists / "testlist01.txt").write_text("YoYo/v_YoYo_g01_c01.avi\n")
    folder = VideoFolder(root, split="train", split_dir=lists)
    assert [folder.relative_path(i) for i in range(len(folder))] == ["Basketball/v_Basketball_g02_c01.avi"]
    assert folder.missing == [("Basketball/v_Gone_g05_c01.avi", "listed in trainlist01.txt but not found")]
    with pytest.raises(FileNotFoundError, match="trainlist02.txt"):
        VideoFolder(root, split="train", split_index=2)


def test_prepare_frame_folders_resizes_with_area_filter(tmp_path):
    sources = clips(4, num_frames=5, size=(48, 64), seed=1)
    for k, frames in enumerate(sources):
        write_frame_folder(tmp_path / "src" / ("cats" if k < 2 else "dogs") / f"video{k}", frames,
                           ".png" if k % 2 else ".jpg")
    assert _prepare(tmp_path / "src", tmp_path / "store", "--size", "16", "--max-frames", "4") == 0
    store = PreparedStore(tmp_path / "store")
    assert store.class_names == ["cats", "dogs"] and [store.label(i) for i in range(4)] == [0, 0, 1, 1]
    for i in range(4):
        got = store.video(i)
        assert got.shape == (4, 16, 16, 3)
        if i % 2:  # png frames are lossless: the store holds exactly the area-resized, centre-cropped frames
            np.testing.assert_array_equal(got, resize_clip(sources[i][:4], 16))


def test_prepare_kinetics_csv(tmp_path, capsys):
    rows = [("abseiling", "aaa", 0, 10, "train"), ("juggling balls", "bbb", 5, 15, "train"),
            ("abseiling", "ccc", 30, 40, "val"), ("juggling balls", "missing", 1, 11, "train")]
    sources = clips(3, num_frames=4, seed=2)
    for (label, yid, start, end, split), frames in zip(rows[:3], sources, strict=True):
        write_video(tmp_path / "k600" / split / label / f"{yid}_{start:06d}_{end:06d}.mp4", frames)
    csv = tmp_path / "train.csv"
    csv.write_text("label,youtube_id,time_start,time_end,split\n"
                   + "".join(f"{lab},{y},{s},{e},{sp}\n" for lab, y, s, e, sp in rows))
    args = ["--size", "32", "--annotations", str(csv), "--split", "train"]
    assert _prepare(tmp_path / "k600", tmp_path / "store", *args) == 0
    store = PreparedStore(tmp_path / "store")
    assert store.class_names == ["abseiling", "juggling balls"]
    assert [(Path(v["path"]).name, v["label"]) for v in store.videos] == [
        ("aaa_000000_000010.mp4", 0), ("bbb_000005_000015.mp4", 1)]
    np.testing.assert_array_equal(store.video(1), sources[1])
    assert store.skipped == [{"path": "missing_000001_000011", "reason": "listed in train.csv but not found"}]
    assert "skipped missing_000001_000011" in capsys.readouterr().out


def test_bad_videos_are_skipped_with_reasons(tmp_path, capsys):
    src = tmp_path / "flat"
    good = clips(3, num_frames=8, seed=4)
    write_video(src / "good0.mkv", good[0])
    write_video(src / "good1.mp4", good[1])
    whole = write_video(tmp_path / "whole.avi", good[2]).read_bytes()
    (src / "truncated.avi").write_bytes(whole[: len(whole) // 2])
    (src / "notes.mp4").write_text("this is not a video")
    (src / "empty.webm").write_bytes(b"")
    write_video(src / "one_frame.avi", good[2][:1])
    (src / "README.txt").write_text("ignored: not a video extension")
    assert _prepare(src, tmp_path / "store", "--size", "32", "--workers", "2") == 0
    out = capsys.readouterr().out
    assert "kept 2 videos" in out and "skipped 4" in out
    store = PreparedStore(tmp_path / "store")
    assert store.num_classes == 0 and [v["path"] for v in store.videos] == ["good0.mkv", "good1.mp4"]
    reasons = {s["path"]: s["reason"] for s in store.skipped}
    assert "truncated" in reasons["truncated.avi"]
    assert "Invalid data" in reasons["notes.mp4"]
    assert "empty" in reasons["empty.webm"]
    assert "too short: 1 frame" in reasons["one_frame.avi"]
    assert json.loads((tmp_path / "store" / "skipped.json").read_text()) == store.skipped


def test_missing_or_empty_root_is_a_clear_error(tmp_path, capsys):
    assert _prepare(tmp_path / "nope", tmp_path / "out", "--size", "32") == 2
    assert f"{tmp_path / 'nope'} does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert _prepare(tmp_path / "empty", tmp_path / "out", "--size", "32") == 2
    err = capsys.readouterr().err
    assert "no videos found under" in err and "Traceback" not in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.mp4").write_text("garbage")
    assert _prepare(tmp_path / "bad", tmp_path / "out2", "--size", "32") == 2
    assert "none of the 1 videos" in capsys.readouterr().err
    assert not (tmp_path / "out2" / "index.json").exists()


def test_interrupted_prepare_resumes_without_redecoding(ucf, tmp_path, monkeypatch, capsys):
    root, made = ucf
    out = tmp_path / "store"
    decoded: list[str] = []
    real = prepare_module.read_frames

    def counting(path, *args, **kwargs):
        decoded.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(prepare_module, "read_frames", counting)

    def interrupt_after_three(i, meta):
        if len(decoded) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare_store(root, out, PrepareOptions(32), progress=False, on_result=interrupt_after_three)
    first = list(decoded)
    with pytest.raises(ValueError, match="not a complete prepared store"):
        PreparedStore(out)  # the interrupted run left no loadable store

    decoded.clear()
    summary = prepare_store(root, out, PrepareOptions(32), progress=False)
    assert summary.reused == 3 and summary.decoded == len(made) - 3
    assert not set(decoded) & set(first)  # finished videos were not decoded again
    store = PreparedStore(out)
    assert len(store) == len(made) and not (out / ".work").exists()
    # A third run finds the store complete and does nothing.
    assert _prepare(root, out, "--size", "32") == 0
    assert "already complete" in capsys.readouterr().out
    assert _prepare(root, out, "--size", "16") == 2  # other settings need --overwrite
    assert _prepare(root, out, "--size", "16", "--overwrite", "--workers", "1") == 0
    assert PreparedStore(out).size == 16


def test_store_refuses_damaged_or_incomplete(ucf, tmp_path):
    root, _ = ucf
    prepare_store(root, tmp_path / "s", PrepareOptions(32, max_frames=3), progress=False)
    frames = tmp_path / "s" / "frames.u8"
    frames.write_bytes(frames.read_bytes()[:-10])
    with pytest.raises(ValueError, match="bytes, the index expects"):
        PreparedStore(tmp_path / "s")
    assert prepare_store(root, tmp_path / "s", PrepareOptions(32, max_frames=3), progress=False).decoded == 9
    assert PreparedStore(tmp_path / "s").total_frames == 27  # rebuilt, not reported as complete
    frames.write_bytes(frames.read_bytes()[:-10])
    (tmp_path / "s" / "index.json").unlink()
    with pytest.raises(ValueError, match="no index.json"):
        PreparedStore(tmp_path / "s")
    with pytest.raises(FileNotFoundError):
        PreparedStore(tmp_path / "absent")


def test_fps_and_stride_select_frames(tmp_path):
    frames = clips(1, num_frames=10, seed=5)[0]
    write_video(tmp_path / "src" / "v.mkv", frames, fps=20)
    prepare_store(tmp_path / "src", tmp_path / "a", PrepareOptions(32, stride=3), progress=False)
    np.testing.assert_array_equal(PreparedStore(tmp_path / "a").video(0), frames[::3])
    prepare_store(tmp_path / "src", tmp_path / "b", PrepareOptions(32, fps=5), progress=False)
    store = PreparedStore(tmp_path / "b")
    np.testing.assert_array_equal(store.video(0), frames[::4])
    assert store.videos[0]["fps"] == 5


@pytest.fixture(scope="module")
def store(ucf, tmp_path_factory) -> PreparedStore:
    root, _ = ucf
    out = tmp_path_factory.mktemp("store") / "s"
    prepare_store(root, out, PrepareOptions(32), progress=False)
    return PreparedStore(out)


def test_clip_dataset_windows_flips_and_short_videos(store):
    with warnings.catch_warnings(), pytest.raises(ValueError, match=r"no video has .* \(9 of 9 videos have at most"):
        warnings.simplefilter("error")  # the error alone, no warning saying the same before it
        ClipDataset(store, num_frames=4, stride=2)
    data = ClipDataset(store, num_frames=3, stride=2, seed=1)
    assert len(data) == len(store) and data.num_classes == 3
    for index in range(2 * len(data)):
        clip, label = data[index]
        video = store.video(index % len(data))
        starts = [s for s in range(len(video) - 4) if np.array_equal(clip.numpy(), video[s : s + 5 : 2])]
        assert clip.dtype == torch.uint8 and clip.shape == (3, 32, 32, 3) and starts
        assert label == store.label(index % len(data))
    assert np.array_equal(data.clip(5), ClipDataset(store, 3, 2, seed=1).clip(5))
    # Indices past len (a new pass) draw new windows; a fixed (seed, index) never changes.
    windows = {data.clip(i * len(data)).tobytes() for i in range(8)}
    assert len(windows) > 1
    flipped = ClipDataset(store, 3, 2, hflip=True, seed=1)
    flips = [np.array_equal(flipped.clip(i), data.clip(i)[:, :, ::-1]) for i in range(16)]
    assert any(flips) and not all(flips)


def test_prepared_store_in_dataloader_workers(store):
    data = ClipDataset(store, num_frames=4, seed=3)
    direct = torch.stack([data[i][0] for i in range(len(data))])
    loader = torch.utils.data.DataLoader(data, batch_size=3, num_workers=2)
    batches = list(loader)
    assert torch.equal(torch.cat([b[0] for b in batches]), direct)
    assert batches[0][1].dtype == torch.int64


def test_build_dataset_specs(store, ucf, tmp_path):
    root, _ = ucf
    shapes = build_dataset(DataConfig(source="shapes", length=20), 4, 32, seed=1)
    assert len(shapes) == 20 and shapes.num_classes == 9 and callable(shapes.classify)
    folder = build_dataset(DataConfig(source=f"folder:{root}", split="test"), 4, 16)
    clip, label = folder[0]
    assert clip.shape == (4, 16, 16, 3) and len(folder) == 3 and folder.class_names[label]
    # a store of another size is resized as it is read, as a folder is (tests/test_first_hour_2.py: the stderr line)
    assert build_dataset(DataConfig(source=f"prepared:{store.path}"), 4, 64)[0][0].shape == (4, 64, 64, 3)
    arr = np.stack(clips(5, num_frames=6, size=16))
    np.savez(tmp_path / "c.npz", clips=arr, labels=np.arange(5) % 2)
    arrays = build_dataset(DataConfig(source=str(tmp_path / "c.npz")), 6, 16)
    assert torch.equal(arrays[3][0], torch.from_numpy(arr[3])) and arrays[3][1] == 1 and arrays.num_classes == 2
    with pytest.raises(ValueError, match="valid forms: shapes, motion, digits, folder:DIR"):
        build_dataset(DataConfig(source="shape"), 4, 32)
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        build_dataset(DataConfig(source="prepared:/does-not-exist"), 4, 32)


def test_load_clips_from_paths(store, ucf, tmp_path):
    root, made = ucf
    from_store = list(load_clips(str(store.path), 4, seed=2))
    from_folder = list(load_clips(str(root), 4, seed=2))
    assert len(from_store) == len(made) and all(c.shape == (4, 32, 32, 3) for c in from_store)
    assert all(np.array_equal(a, b) for a, b in zip(from_store, from_folder, strict=True))  # lossless: same clips
    assert len(list(load_clips(f"prepared:{store.path}", 4, resolution=16, max_clips=4))) == 4
    np.save(tmp_path / "a.npy", np.stack(clips(3, num_frames=5)))
    assert [c.shape for c in load_clips(str(tmp_path / "a.npy"), 5)] == [(5, 32, 32, 3)] * 3
    shapes = list(load_clips("shapes", 4, resolution=32, max_clips=3))
    assert len(shapes) == 3 and not np.array_equal(shapes[0], shapes[1])
    write_video(tmp_path / "mixed" / "a.mkv", clips(1, 4, 32)[0])
    write_video(tmp_path / "mixed" / "b.mkv", clips(1, 4, 48)[0])
    with pytest.raises(ValueError, match="differ in size"):
        list(load_clips(str(tmp_path / "mixed"), 4))
    assert [c.shape for c in load_clips(str(tmp_path / "mixed"), 4, resolution=24)] == [(4, 24, 24, 3)] * 2
    one = clips(1, 6, 32, seed=9)[0]
    write_video(tmp_path / "one.mkv", one)
    write_frame_folder(tmp_path / "frames", one)
    for bare in (tmp_path / "one.mkv", tmp_path / "frames"):
        [clip] = load_clips(str(bare), 6)
        np.testing.assert_array_equal(clip, one)
    with pytest.raises(FileNotFoundError, match="nowhere/x"):
        load_clips(str(tmp_path / "nowhere" / "x"), 4)
    with pytest.raises(ValueError, match="needs a resolution"):
        load_clips("digits", 4)


def test_folder_layouts(tmp_path):
    flat = tmp_path / "flat"
    write_video(flat / "a.mkv", clips(1, 4)[0])
    write_frame_folder(flat / "b", clips(1, 4)[0])
    folder = VideoFolder(flat)
    assert len(folder) == 2 and folder.num_classes == 0 and folder.length(1) == 4
    np.testing.assert_array_equal(folder.read(1, [3, 0]), clips(1, 4)[0][[3, 0]])
    write_video(flat / "cls" / "c.mkv", clips(1, 4)[0])
    with pytest.raises(ValueError, match="mixes videos"):
        VideoFolder(flat)
    single = VideoFolder(flat / "a.mkv")  # one video file is a source too
    assert len(single) == 1 and single.relative_path(0) == "a.mkv"
    (flat / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="neither a directory nor a video file"):
        VideoFolder(flat / "notes.txt")


def test_uint8_video_conversion_round_trip():
    x = torch.randint(0, 256, (2, 3, 8, 6, 3), dtype=torch.uint8)
    video = uint8_to_video(x)
    assert video.shape == (2, 3, 3, 8, 6) and video.dtype == torch.float32
    assert video.min() >= -1 and video.max() <= 1
    assert video[1, 2, 0, 5, 4] == x[1, 2, 5, 4, 0].float() / 127.5 - 1
    assert torch.equal(video_to_uint8(video), x)
    assert torch.equal(video_to_uint8(torch.tensor([-3.0, 3.0, 0.0]).view(1, 1, 3, 1, 1)).flatten(),
                       torch.tensor([0, 255, 128], dtype=torch.uint8))
    with pytest.raises(ValueError):
        uint8_to_video(x.float())


def test_folder_spec_warns_once_about_short_videos(tmp_path):
    write_video(tmp_path / "v" / "long.mkv", clips(1, 8)[0])
    write_video(tmp_path / "v" / "short.mkv", clips(1, 3)[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = build_dataset(DataConfig(source=f"folder:{tmp_path / 'v'}"), 6, 32)
        [data[i] for i in range(4)]
    assert len(data) == 1 and data.too_short == 1
    assert [str(w.message) for w in caught] == [
        "1 of 2 videos skipped: 1 shorter than 6 frames (6 at stride 1), 0 unreadable"]
