"""``prepare_bair``: the BAIR robot-pushing TFRecords (``softmotion30_44k``) -> a prepared store [docs/bair.md].

The release holds ``softmotion30_44k/{train,test}/traj_<a>_to_<b>.tfrecords``; each record is one 30-step sequence
(``tf.train.Example``) whose ``<t>/image_aux1/encoded`` is a raw 64x64x3 uint8 RGB frame, read with
``dvdgan.data.tfrecord`` (no TensorFlow). Only that camera is read, the one the video-prediction literature uses;
``image_main``, ``action`` and ``endeffector_pos`` are not stored. Each sequence becomes one unlabelled video.

Splits: one store for both splits, each video tagged ``train`` or ``test`` (the folder it came from), because the
store already has this notion: ``data.split`` (default ``train``) selects tagged videos when training and
evaluating, as for UCF-101 and Kinetics. So ``prepared:OUT`` trains on the train split and ``data.split=test``
measures on the test split, with no second path to keep in step.

Same guarantees as ``prepare_store`` (and its helpers are reused): each finished TFRecord file becomes a shard in
``OUT/.work`` (frames ``.npy``, then a ``.json`` that marks it done), so an interrupted run resumes; ``frames.u8``
is written under a temporary name, fsynced and renamed, and ``index.json`` comes last, so a crash never leaves a
store that loads but lacks data. Unlike video folders, a corrupt or truncated TFRecord file is an error, not a
skip: BAIR is a fixed benchmark, and a silently smaller train or test split would give numbers that cannot be
compared with published ones. The files finished before it stay in ``OUT/.work``: re-download the bad one and rerun.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dvdgan.data.prepare import (
    WORK_DIR,
    PrepareOptions,
    PrepareSummary,
    WriteFailure,
    _already_complete,
    _check_output_dir,
    _finished,
    _save_frames,
    _shard_name,
    _write,
    _write_failed,
    worker_pool,
)
from dvdgan.data.resize import resize_clip
from dvdgan.data.store import (
    FORMAT,
    FRAMES_FILE,
    INDEX_FILE,
    SKIPPED_FILE,
    VERSION,
    write_json_atomic,
)
from dvdgan.data.tfrecord import Feature, iter_examples

ROOT_NAME = "softmotion30_44k"  # the folder the release's tar extracts to
SPLITS = ("train", "val", "test")  # folder names taken as split tags
CAMERAS = ("image_aux1", "image_main")
DEFAULT_CAMERA = "image_aux1"  # the frames the literature reports on
FRAME_SHAPE = (64, 64, 3)
FRAME_BYTES = 64 * 64 * 3
LAYOUT = f"expected {ROOT_NAME}/{{train,test}}/*.tfrecords (SRC may be {ROOT_NAME}, its parent or a split folder)"

Job = tuple[int, str, str, PrepareOptions, str]  # file index, path, shard prefix, options, camera


@dataclass(frozen=True)
class BairFile:
    """One TFRecord file: its path, its name in the index (relative to the release root) and its split tag."""

    path: Path
    relative: str
    split: str  # "train", "val", "test", or "" for a folder of another name


def _natural(path: Path) -> list[Any]:
    """traj_256_to_511 before traj_1024_to_1279: the store lists sequences in trajectory order."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _tfrecords(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.tfrecords"), key=_natural) if folder.is_dir() else []


def _root(src: Path) -> Path:
    return src / ROOT_NAME if (src / ROOT_NAME).is_dir() else src


def is_bair_source(src: str | Path) -> bool:
    """True when ``src`` (or its ``softmotion30_44k``) holds ``*.tfrecords`` itself or in split folders."""
    root = _root(Path(src))
    return any(_tfrecords(folder) for folder in (root, *(root / name for name in SPLITS)))


def find_bair_files(src: str | Path, split: str = "all") -> list[BairFile]:
    """The TFRecord files of ``split`` ("all" or a split folder name), in split then trajectory order."""
    root = _root(Path(src))
    if not root.is_dir():
        raise ValueError(f"{src} is not a directory; {LAYOUT}")
    if _tfrecords(root):  # a split folder (or a folder of records) given directly
        tag = root.name if root.name in SPLITS else ""
        groups, base = [(tag, root)], root.parent if tag else root
    else:
        groups, base = [(name, root / name) for name in SPLITS], root
    files = [BairFile(p, p.relative_to(base).as_posix(), tag) for tag, folder in groups for p in _tfrecords(folder)]
    if not files:
        raise ValueError(f"no *.tfrecords files in {root}; {LAYOUT}")
    chosen = [f for f in files if split == "all" or f.split == split]
    if not chosen:
        found = sorted({f.split or "(untagged)" for f in files})
        raise ValueError(f"no {split!r} split under {src} (found: {', '.join(found)}); use --split all or one of these")
    return chosen


def sequence_frames(example: dict[str, Feature], camera: str, where: str) -> np.ndarray:
    """The frames ``0/<camera>/encoded``, ``1/...``, ... of one record as uint8 ``[T, 64, 64, 3]``."""
    frames: list[np.ndarray] = []
    while (value := example.get(f"{len(frames)}/{camera}/encoded")) is not None:
        if not (isinstance(value, list) and len(value) == 1 and len(value[0]) == FRAME_BYTES):
            held = (f"{len(value)} value(s) of {[len(v) for v in value[:3]]} bytes" if isinstance(value, list)
                    else f"a list of {value.dtype}")
            raise ValueError(f"{where}: '{len(frames)}/{camera}/encoded' holds {held}, expected one raw "
                             f"64x64x3 uint8 frame ({FRAME_BYTES} bytes); not a BAIR robot-pushing record")
        frames.append(np.frombuffer(value[0], dtype=np.uint8).reshape(FRAME_SHAPE))
    if not frames:
        raise ValueError(f"{where}: no '0/{camera}/encoded' feature; not a BAIR robot-pushing record")
    return np.stack(frames)


def _prepare_file(job: Job) -> tuple[int, dict[str, Any]]:
    """Read, check and resize every sequence of one file into a shard (runs in a worker process)."""
    index, source, shard, options, camera = job
    clips, records, lengths, too_short = [], [], [], []
    for number, example in iter_examples(source):
        frames = sequence_frames(example, camera, f"{source}: record {number}")
        frames = frames[:: options.stride][: options.max_frames]
        if len(frames) < options.min_frames:
            too_short.append([number, len(frames)])
            continue
        clips.append(resize_clip(frames, options.size))
        records.append(number)
        lengths.append(len(frames))
    if not records and not too_short:
        raise ValueError(f"{source}: holds no records (empty file; truncated download?)")
    size = options.size
    frames = np.concatenate(clips) if clips else np.zeros((0, size, size, 3), dtype=np.uint8)
    _save_frames(shard, frames)  # an OSError (full disk) names the file and stops the run: see prepare.py
    meta = {"records": records, "lengths": lengths, "too_short": too_short}
    _write(Path(f"{shard}.json"), lambda path: write_json_atomic(path, meta))  # last: marks the shard done
    return index, meta


def _run(jobs: list[Job], workers: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(index, meta)`` as files finish, here or in ``workers`` processes; a worker's error is raised."""
    if workers == 1 or len(jobs) <= 1:
        yield from map(_prepare_file, jobs)
        return
    with worker_pool(min(workers, len(jobs))) as pool:
        yield from pool.imap_unordered(_prepare_file, jobs, chunksize=1)


def prepare_bair(
    src: str | Path,
    out: str | Path,
    options: PrepareOptions,
    *,
    split: str = "all",  # all, or one split folder (train | test)
    camera: str = DEFAULT_CAMERA,
    workers: int = 1,
    overwrite: bool = False,  # replace a finished store made with other settings
    progress: bool = True,
) -> PrepareSummary:
    """Build (or resume building) the store ``out`` from the BAIR TFRecords under ``src``; see the module docstring."""
    if options.fps is not None:
        raise ValueError("--fps does not apply to BAIR (its records carry no timestamps); use --stride")
    if camera not in CAMERAS:
        raise ValueError(f"camera must be one of {', '.join(CAMERAS)}, got {camera!r}")
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    src, out = Path(src), Path(out)
    files = find_bair_files(src, split)
    # The release root, not SRC as typed: its parent and itself give the same store (and resume each other).
    source = str(_root(src).resolve())
    settings = {**asdict(options), "format": "bair", "camera": camera, "source": source, "split": split}
    summary = PrepareSummary(out)
    _check_output_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    if _already_complete(out, settings, overwrite, summary):
        return summary
    work = _work_dir(out, settings)

    shards = [str(work / _shard_name(f.path, f.relative)) for f in files]
    results: dict[int, dict[str, Any]] = {}
    todo: list[Job] = []
    for i, (file, shard) in enumerate(zip(files, shards, strict=True)):
        meta = _finished(shard)
        if meta is not None:
            results[i] = meta
            summary.reused += len(meta["records"])
        else:
            todo.append((i, str(file.path), shard, options, camera))
    try:
        with tqdm(total=len(todo), unit="file", desc=f"prepare {src.name}", disable=not progress or not todo) as bar, \
                contextlib.closing(_run(todo, workers)) as finished:
            for i, meta in finished:
                results[i] = meta
                summary.decoded += len(meta["records"])
                bar.update()
        _assemble(out, files, shards, results, settings, summary)
    except WriteFailure as exc:  # nothing assembled, the finished shards kept for the rerun (a read error: raised)
        raise _write_failed(exc, out, len(results)) from None
    shutil.rmtree(work)
    return summary


def _work_dir(out: Path, settings: dict[str, Any]) -> Path:
    """``out/.work`` holding shards of these settings only (those of other settings cannot be reused)."""
    work, settings_path = out / WORK_DIR, out / WORK_DIR / "settings.json"
    if work.is_dir() and not settings_path.is_file() and any(work.iterdir()):
        raise ValueError(f"{work} exists but was not made by dvdgan prepare (no settings.json); move it away or "
                         "choose another output directory")
    if work.is_dir() and (not settings_path.is_file() or json.loads(settings_path.read_text()) != settings):
        shutil.rmtree(work)
    work.mkdir(exist_ok=True)
    try:
        _write(settings_path, lambda path: write_json_atomic(path, settings))
    except WriteFailure as exc:
        raise _write_failed(exc, out, 0) from None
    return work


def _assemble(out: Path, files: list[BairFile], shards: list[str], results: dict[int, dict[str, Any]],
              settings: dict[str, Any], summary: PrepareSummary) -> None:
    """Concatenate the shards into ``frames.u8``, then write ``skipped.json`` and, last, ``index.json``."""
    videos: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    offset, tmp_frames = 0, out / f".{FRAMES_FILE}.tmp"

    def concatenate(path: Path) -> None:
        nonlocal offset
        with path.open("wb") as f:
            for i, (file, shard) in enumerate(zip(files, shards, strict=True)):
                meta = results[i]
                skipped.extend({"path": f"{file.relative}#{number}", "reason": f"too short: {length} frame(s), "
                                f"need at least {settings['min_frames']}"} for number, length in meta["too_short"])
                frames = np.load(f"{shard}.npy", mmap_mode="r")
                if len(frames) != sum(meta["lengths"]):
                    raise ValueError(f"{shard}.npy holds {len(frames)} frames, its .json {sum(meta['lengths'])}; "
                                     f"delete {out / WORK_DIR} and rerun")
                f.write(memoryview(np.ascontiguousarray(frames)).cast("B"))
                for number, length in zip(meta["records"], meta["lengths"], strict=True):
                    videos.append({"path": f"{file.relative}#{number}", "label": 0, "class": None,
                                   "tags": [file.split] if file.split else [], "offset": offset, "length": length,
                                   "fps": None, "source_size": list(FRAME_SHAPE[:2])})
                    offset += length
            f.flush()
            os.fsync(f.fileno())

    _write(tmp_frames, concatenate, leftover=tmp_frames)
    if not videos:
        tmp_frames.unlink()
        raise ValueError(f"none of the sequences under {settings['source']} could be prepared "
                         f"({skipped[0]['path']}: {skipped[0]['reason']})")
    summary.kept, summary.frames, summary.skipped = len(videos), offset, skipped
    os.replace(tmp_frames, out / FRAMES_FILE)
    _write(out / SKIPPED_FILE, lambda path: write_json_atomic(path, skipped))
    index = {
        "format": FORMAT, "version": VERSION, "size": settings["size"], "channels": 3, "total_frames": offset,
        "frames_file": FRAMES_FILE, "num_classes": 0, "class_names": [], "videos": videos, "skipped": skipped,
        "settings": settings, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write(out / INDEX_FILE, lambda path: write_json_atomic(path, index))  # last: from here on the store loads
