"""``prepare_store``: decode a video folder once into a memory-mapped store [docs/architecture.md section 6].

Several processes decode (PyAV), resize the short side with an area filter and centre-crop. Each finished
video becomes a shard in ``OUT/.work`` (frames ``.npy`` first, then a small ``.json`` that marks it done, both
written under temporary names and renamed), so an interrupted run resumes where it stopped. The assemble step
concatenates the shards into ``frames.u8`` and writes ``index.json`` last; only then is the work dir removed.
Unreadable, truncated or too-short videos are skipped with a reason, never fatal; a class left with no video is
dropped (its label would be one the generator can never learn) and listed in ``skipped.json`` too. A failure to
*write* (a full disk, a file-size limit) is no property of a video: it stops the run with ``PrepareWriteError``
before anything is assembled, keeping the work dir, so a rerun resumes and retries. The output directory must be
new, empty or a store (finished or not): prepare never overwrites or deletes other files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import multiprocessing.pool
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dvdgan.data.decode import DecodeError, read_frames
from dvdgan.data.folder import VideoFolder
from dvdgan.data.store import (
    FORMAT,
    FRAMES_FILE,
    INDEX_FILE,
    SKIPPED_FILE,
    VERSION,
    PreparedStore,
    write_json_atomic,
)
from dvdgan.limits import check_frame_size

WORK_DIR = ".work"
# What prepare writes into OUT (finished files, the work dir, temporary names); any other entry is not ours.
STORE_ENTRIES = {INDEX_FILE, FRAMES_FILE, SKIPPED_FILE, WORK_DIR, f".{INDEX_FILE}.tmp", f".{FRAMES_FILE}.tmp",
                 f".{SKIPPED_FILE}.tmp"}


class PrepareWriteError(ValueError):
    """Prepare could not write its output (full disk, size limit, permissions); nothing was assembled."""


class WriteFailure(OSError):
    """An OSError of one of prepare's writes (``_write``), told apart from a read's (e.g. an unreadable source)."""


@dataclass(frozen=True)
class PrepareOptions:
    """How frames are taken from each video; a store records them and only resumes with the same ones."""

    size: int  # output frames are size x size
    stride: int = 1  # keep every stride-th decoded frame
    fps: float | None = None  # or: resample to at most this frame rate (exclusive with stride)
    max_frames: int | None = None  # keep at most this many frames per video (after stride/fps)
    min_frames: int = 2  # videos with fewer kept frames are skipped

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"--size must be >= 1, got {self.size}")
        too_big = check_frame_size(self.size, self.size)  # each video's resize raised MemoryError, blamed on it
        if too_big:
            raise ValueError(f"--size {self.size}: store {too_big}")
        if self.stride < 1:
            raise ValueError(f"--stride must be >= 1, got {self.stride}")
        if self.fps is not None and (self.fps <= 0 or self.stride != 1):
            raise ValueError("--fps must be > 0 and cannot be combined with --stride")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"--max-frames must be >= 1, got {self.max_frames}")
        if self.min_frames < 1:
            raise ValueError(f"--min-frames must be >= 1, got {self.min_frames}")


@dataclass
class PrepareSummary:
    """What a run did: videos kept and skipped (with reasons), and how much work was reused."""

    out: Path
    kept: int = 0
    frames: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    decoded: int = 0  # videos decoded by this run
    reused: int = 0  # videos finished by an earlier, interrupted run
    already_complete: bool = False  # OUT already held a finished store with these settings
    dropped_classes: list[str] = field(default_factory=list)  # classes none of whose videos could be prepared


def _shard_name(path: Path, relative: str) -> str:
    """Stable shard name of a source video; a changed file (size, mtime) gets a new name."""
    stat = path.stat()
    ident = f"{relative}|{stat.st_size if path.is_file() else 0}|{stat.st_mtime_ns if path.is_file() else 0}"
    return hashlib.sha1(ident.encode()).hexdigest()[:20]


def _prepare_one(job: tuple[int, str, str, PrepareOptions]) -> tuple[int, dict[str, Any]]:
    """Decode, resize and save one video as a shard (runs in a worker process); returns its metadata, or
    ``{"write_error": ...}`` (and no done-mark) when the shard could not be written."""
    index, source, shard, options = job
    frames = None
    try:
        video = read_frames(Path(source), options.stride, options.fps, options.max_frames, options.size)
        if len(video.frames) < options.min_frames:
            raise DecodeError(f"too short: {len(video.frames)} frame(s), need at least {options.min_frames}")
        frames = video.frames
        meta: dict[str, Any] = {"length": len(video.frames), "fps": video.fps, "source_size": list(video.source_size)}
    except DecodeError as exc:
        meta = {"skipped": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop a dataset-sized job
        meta = {"skipped": f"{type(exc).__name__}: {exc}", "retry": True}  # maybe transient: retry on resume
    # Reading is the video's business (a failure skips it); writing is ours: a failure there must stop the run,
    # not drop the video, so it is returned as such and the video gets no done-mark (a rerun redoes it).
    try:
        if frames is not None:
            _save_frames(shard, frames)
        _write(Path(f"{shard}.json"), lambda path: write_json_atomic(path, meta))
    except OSError as exc:
        return index, {"write_error": _reason(exc), "file": exc.filename}
    return index, meta


def _save_frames(shard: str, frames: np.ndarray) -> None:
    """``shard.npy`` via a temporary name; a failed write leaves no partial file taking the space."""
    tmp = Path(f"{shard}.tmp.npy")
    _write(tmp, lambda path: _write_npy(path, np.ascontiguousarray(frames)), leftover=tmp)
    os.replace(tmp, f"{shard}.npy")


def _write_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` through Python's file writes: a failure then says why (numpy's own write reports only "N
    requested and M written", dropping "No space left on device")."""
    fmt = np.lib.format
    with path.open("wb") as f:
        fmt.write_array_header_1_0(f, fmt.header_data_from_array_1_0(array))
        f.write(memoryview(array).cast("B"))


def _write(path: Path, write: Callable[[Path], None], leftover: Path | None = None) -> None:
    """``write(path)``; an OSError names ``path`` (a failed ``write()`` names no file) and leaves no ``leftover``
    (the temporary the write goes through; by default ``write_json_atomic``'s) to take up the space."""
    try:
        write(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            (leftover or path.with_name(f".{path.name}.tmp")).unlink(missing_ok=True)
        raise WriteFailure(exc.errno, exc.strerror or str(exc), exc.filename or str(path)) from None


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _worker_init(parent: int) -> None:
    """A worker leaves signals to the parent (Ctrl-C reaches the whole process group: one message, from it) and
    dies with it (Linux): a worker orphaned by a killed parent would print BrokenPipeError when it reports."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler (fork copies it): terminate() ends us
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)


def _settings(src: Path, folder: VideoFolder, options: PrepareOptions, annotations: Path | None) -> dict[str, Any]:
    return {
        **asdict(options),
        "source": str(src.resolve()),
        "split": folder.split,
        "split_index": folder.split_index,
        "annotations": str(annotations.resolve()) if annotations else None,
    }


def prepare_store(
    src: str | Path,
    out: str | Path,
    options: PrepareOptions,
    *,
    workers: int = 1,  # decoding processes; 1 decodes in this process
    split: str = "all",  # all | train | test (| a Kinetics CSV split such as val)
    split_index: int = 1,
    annotations: str | Path | None = None,  # Kinetics CSV
    split_dir: str | Path | None = None,  # UCF-101 split files, if not next to the videos
    overwrite: bool = False,  # replace a finished store made with other settings
    progress: bool = True,
    on_result: Callable[[int, dict[str, Any]], None] | None = None,  # called after each decoded video
) -> PrepareSummary:
    """Build (or resume building) the store ``out`` from the videos under ``src``; see the module docstring."""
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    src, out = Path(src), Path(out)
    annotations = Path(annotations) if annotations else None
    folder = VideoFolder(src, split, split_index, annotations, split_dir)
    settings = _settings(src, folder, options, annotations)
    summary = PrepareSummary(out)

    _check_output_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    if _already_complete(out, settings, overwrite, summary):
        return summary

    work = out / WORK_DIR
    settings_path = work / "settings.json"
    if work.is_dir() and not settings_path.is_file() and any(work.iterdir()):
        raise ValueError(f"{work} exists but was not made by dvdgan prepare (no settings.json); move it away or "
                         "choose another output directory")
    if work.is_dir() and (not settings_path.is_file() or json.loads(settings_path.read_text()) != settings):
        shutil.rmtree(work)  # our shards of other settings cannot be reused
    work.mkdir(exist_ok=True)
    try:
        _write(settings_path, lambda path: write_json_atomic(path, settings))
    except WriteFailure as exc:
        raise _write_failed(exc, out, 0) from None

    shards = [str(work / _shard_name(e.path, folder.relative_path(i))) for i, e in enumerate(folder.entries)]
    results: dict[int, dict[str, Any]] = {}
    todo = []
    for i, shard in enumerate(shards):
        meta = _finished(shard)
        if meta is not None:
            results[i] = meta
        else:
            todo.append((i, str(folder.entries[i].path), shard, options))
    summary.reused = len(results)

    bar = tqdm(total=len(todo), unit="video", desc=f"prepare {src.name}", disable=not progress or not todo)
    with bar, contextlib.closing(_run(todo, workers)) as finished:  # closing: a failure stops the workers now
        for i, meta in finished:
            if "write_error" in meta:
                failure = OSError(0, meta["write_error"], meta["file"])
                raise _write_failed(failure, out, len(results), folder.relative_path(i))
            results[i] = meta
            summary.decoded += 1
            bar.update()
            if on_result is not None:
                on_result(i, meta)

    try:
        _assemble(out, folder, shards, results, settings, summary)
    except WriteFailure as exc:
        raise _write_failed(exc, out, len(results)) from None
    shutil.rmtree(work)
    return summary


def _write_failed(exc: OSError, out: Path, done: int, video: str | None = None) -> PrepareWriteError:
    """One line: what could not be written and why, that no store was made, and that a rerun resumes."""
    while_ = f" while saving the frames of {video}" if video else ""
    kept = f"the {done} source file(s) already done are kept in {out / WORK_DIR}; " if done else ""
    return PrepareWriteError(f"could not write {exc.filename} ({_reason(exc)}){while_}; no store was assembled: "
                             f"{kept}free space (or fix the cause) and rerun the same command to resume")


def _check_output_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; prepare writes a store directory")
    foreign = sorted(e.name for e in out.iterdir() if e.name not in STORE_ENTRIES) if out.is_dir() else []
    if foreign:
        raise ValueError(f"{out} holds files that are not a store's (e.g. {foreign[0]!r}); prepare into a new or "
                         "empty directory, or an earlier store")


def _finished(shard: str) -> dict[str, Any] | None:
    """The metadata of a shard an earlier run completed, or None when the video must be (re)decoded."""
    done = Path(f"{shard}.json")
    if not done.is_file():
        return None
    meta = json.loads(done.read_text())
    if "skipped" in meta:
        return None if meta.get("retry") else meta
    return meta if Path(f"{shard}.npy").is_file() else None


def _run(todo: list[tuple[int, str, str, PrepareOptions]], workers: int):
    """Yield ``(index, meta)`` as videos finish, in this process or a pool of ``workers`` processes."""
    if workers == 1 or len(todo) <= 1:
        yield from map(_prepare_one, todo)
        return
    with worker_pool(min(workers, len(todo))) as pool:
        yield from pool.imap_unordered(_prepare_one, todo, chunksize=1)


def worker_pool(processes: int) -> multiprocessing.pool.Pool:
    """Decoding processes that leave signals to this one and die with it (``_worker_init``)."""
    # fork starts workers fast and they need nothing from the parent but the job; spawn elsewhere.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method).Pool(processes, initializer=_worker_init, initargs=(os.getpid(),))


def _drop_empty_classes(names: list[str], videos: list[dict[str, Any]], skipped: list[dict[str, str]],
                        summary: PrepareSummary) -> list[str]:
    """Remove the classes no kept video has and renumber the labels of the others (in ``videos``, in place)."""
    used = sorted({v["label"] for v in videos}) if names else []
    if len(used) == len(names):
        return names
    new_label = {old: new for new, old in enumerate(used)}
    for v in videos:
        v["label"] = new_label[v["label"]]
    summary.dropped_classes = [name for i, name in enumerate(names) if i not in new_label]
    skipped.extend({"path": f"{name}/", "reason": "class dropped: none of its videos could be prepared"}
                   for name in summary.dropped_classes)
    return [names[i] for i in used]


def _assemble(out: Path, folder: VideoFolder, shards: list[str], results: dict[int, dict[str, Any]],
              settings: dict[str, Any], summary: PrepareSummary) -> None:
    """Concatenate the shards into ``frames.u8`` and write ``skipped.json`` and, last, ``index.json``."""
    videos, skipped = [], [{"path": path, "reason": reason} for path, reason in folder.missing]
    offset = 0
    tmp_frames = out / f".{FRAMES_FILE}.tmp"

    def concatenate(path: Path) -> None:
        nonlocal offset
        with path.open("wb") as f:
            for i, entry in enumerate(folder.entries):
                meta, relative = results[i], folder.relative_path(i)
                if "skipped" in meta:
                    skipped.append({"path": relative, "reason": meta["skipped"]})
                    continue
                frames = np.load(f"{shards[i]}.npy", mmap_mode="r")
                f.write(memoryview(np.ascontiguousarray(frames)).cast("B"))
                videos.append({
                    "path": relative,
                    "label": entry.label,
                    "class": folder.class_names[entry.label] if folder.class_names else None,
                    "tags": list(entry.tags),
                    "offset": offset,
                    "length": int(meta["length"]),
                    "fps": meta["fps"],
                    "source_size": meta["source_size"],
                })
                offset += int(meta["length"])
            f.flush()
            os.fsync(f.fileno())

    _write(tmp_frames, concatenate, leftover=tmp_frames)
    if not videos:
        tmp_frames.unlink()
        reasons = "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:3])
        raise ValueError(f"none of the {len(folder)} videos under {folder.root} could be prepared ({reasons})")
    class_names = _drop_empty_classes(folder.class_names, videos, skipped, summary)
    summary.kept, summary.frames, summary.skipped = len(videos), offset, skipped
    os.replace(tmp_frames, out / FRAMES_FILE)
    _write(out / SKIPPED_FILE, lambda path: write_json_atomic(path, skipped))
    index = {
        "format": FORMAT,
        "version": VERSION,
        "size": settings["size"],
        "channels": 3,
        "total_frames": offset,
        "frames_file": FRAMES_FILE,
        "num_classes": len(class_names),
        "class_names": class_names,
        "videos": videos,
        "skipped": skipped,
        "settings": settings,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write(out / INDEX_FILE, lambda path: write_json_atomic(path, index))  # last: from here on the store loads


def _already_complete(out: Path, settings: dict[str, Any], overwrite: bool, summary: PrepareSummary) -> bool:
    """True (and ``summary`` filled) when ``out`` is a whole store of these settings; a
    store of other settings is an error unless ``overwrite``, and one to rebuild loses its index first."""
    index_path = out / INDEX_FILE
    if not index_path.is_file():
        return False
    try:
        index = json.loads(index_path.read_text())
    except json.JSONDecodeError:
        index = None
    previous = index.get("settings") if isinstance(index, dict) else None
    if previous == settings and not overwrite:
        try:
            store = PreparedStore(out)  # also checks that the frames file is whole
        except ValueError:
            store = None  # damaged: rebuild it
        if store is not None:
            summary.kept, summary.frames, summary.skipped = len(store), store.total_frames, store.skipped
            summary.already_complete = True
            return True
    elif not overwrite:
        raise ValueError(f"{out} already holds a prepared store made with other settings; "
                         "pass --overwrite or choose another output directory")
    index_path.unlink()  # from here on the old store no longer loads
    return False
