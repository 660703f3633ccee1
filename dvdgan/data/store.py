"""``PreparedStore``: the memory-mapped frame store written by ``dvdgan prepare`` [docs/architecture.md section 6].

Layout of a store directory:
- ``frames.u8``: every kept frame, raw uint8 ``[N_frames, S, S, 3]``, videos back to back;
- ``index.json``: format, version, size, class names, and per video its source path, label, split tags, frame
  offset and length, fps; plus the skipped files with reasons (also in ``skipped.json``).
``index.json`` is written last, atomically, so a store without it is incomplete and is refused, as is one whose
frames file does not have exactly the size the index implies.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "dvdgan-prepared-store"
VERSION = 1
INDEX_FILE = "index.json"
FRAMES_FILE = "frames.u8"
SKIPPED_FILE = "skipped.json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary name, flush to disk, then rename over ``path`` (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def is_store(path: str | Path) -> bool:
    """True when ``path`` is a directory holding a store index (complete or not, see ``PreparedStore``)."""
    return (Path(path) / INDEX_FILE).is_file()


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_index(index: dict[str, Any], where: Path) -> None:
    """Check the whole index when the store opens, not at the batch that reads a bad entry mid-training."""

    def bad(what: str) -> ValueError:
        return ValueError(f"{where}: {what}; the store is damaged, rerun dvdgan prepare")

    for key in ("size", "total_frames"):
        if not _is_int(index.get(key), 1):
            raise bad(f"{key} must be an integer >= 1, got {index.get(key)!r}")
    names, videos = index.get("class_names"), index.get("videos")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise bad("class_names must be a list of strings")
    if not isinstance(videos, list) or not videos:
        raise bad("videos must be a non-empty list")
    frames_file = index.get("frames_file", FRAMES_FILE)
    # A plain name inside the store: an index must not make training read (or memory-map) any other file.
    if not isinstance(frames_file, str) or not re.fullmatch(r"\w[\w.-]*", frames_file):
        raise bad(f"frames_file must be a file name inside the store, got {frames_file!r}")
    labels = max(len(names), 1)  # an unlabelled store gives every video label 0
    for i, v in enumerate(videos):
        if not isinstance(v, dict):
            raise bad(f"video {i} is not an object")
        checks = {"label": _is_int(v.get("label"), 0) and v.get("label") < labels,
                  "length": _is_int(v.get("length"), 1),
                  "offset": _is_int(v.get("offset"), 0) and _is_int(v.get("length"), 1)
                  and v["offset"] + v["length"] <= index["total_frames"]}
        for key, ok in checks.items():
            if not ok:
                raise bad(f"video {i} ({v.get('path', '?')}) has {key}={v.get(key)!r} (labels 0..{labels - 1}, "
                          f"frames 0..{index['total_frames'] - 1})")


class PreparedStore:
    """Read access to a prepared store; the frames file is memory-mapped lazily in each process.

    Safe in DataLoader workers: the memmap is not pickled and is reopened after a fork.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        index_path = self.path / INDEX_FILE
        if not self.path.is_dir():
            raise FileNotFoundError(f"prepared store {self.path} does not exist (make one with dvdgan prepare)")
        if not index_path.is_file():
            raise ValueError(
                f"{self.path} is not a complete prepared store (no {INDEX_FILE}); "
                "rerun dvdgan prepare to finish it"
            )
        try:
            index = json.loads(index_path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{index_path} is not valid JSON ({exc}); rerun dvdgan prepare") from None
        if index.get("format") != FORMAT or index.get("version") != VERSION:
            raise ValueError(
                f"{index_path} is not a version-{VERSION} dvdgan store "
                f"(format={index.get('format')!r}, version={index.get('version')!r}); rerun dvdgan prepare"
            )
        _check_index(index, index_path)
        self.index = index
        self.size = index["size"]
        self.class_names: list[str] = list(index["class_names"])
        self.videos: list[dict[str, Any]] = index["videos"]
        self.skipped: list[dict[str, str]] = index.get("skipped", [])
        self.total_frames = index["total_frames"]
        frames_path = self.path / index.get("frames_file", FRAMES_FILE)
        expected = self.total_frames * self.frame_bytes
        actual = frames_path.stat().st_size if frames_path.is_file() else None
        if actual != expected:
            raise ValueError(
                f"{frames_path} has {actual if actual is not None else 'no'} bytes, the index expects {expected}; "
                "the store is damaged, rerun dvdgan prepare"
            )
        self._frames_path = frames_path
        self._offsets = np.array([v["offset"] for v in self.videos], dtype=np.int64)
        self._lengths = np.array([v["length"] for v in self.videos], dtype=np.int64)
        self._frames: np.ndarray | None = None
        self._pid: int | None = None

    @property
    def frame_bytes(self) -> int:
        return self.size * self.size * 3

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def frames(self) -> np.ndarray:
        """All frames, a read-only memmap ``[N_frames, S, S, 3]`` opened on first use in this process."""
        if self._frames is None or self._pid != os.getpid():
            shape = (self.total_frames, self.size, self.size, 3)
            self._frames = np.memmap(self._frames_path, dtype=np.uint8, mode="r", shape=shape)
            self._pid = os.getpid()
        return self._frames

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_frames"], state["_pid"] = None, None  # each worker maps the file itself
        return state

    def __len__(self) -> int:
        return len(self.videos)

    def label(self, index: int) -> int:
        return int(self.videos[index]["label"])

    def tags(self, index: int) -> tuple[str, ...]:
        return tuple(self.videos[index].get("tags", ()))

    def length(self, index: int) -> int:
        return int(self._lengths[index])

    def video(self, index: int) -> np.ndarray:
        """All frames of video ``index``: a read-only view ``[L, S, S, 3]`` into the memmap (no copy)."""
        start = int(self._offsets[index])
        return self.frames[start : start + int(self._lengths[index])]

    def read(self, index: int, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Frames ``indices`` of video ``index``, copied into memory: uint8 ``[len(indices), S, S, 3]``."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self._lengths[index]):
            raise IndexError(f"video {index} has {self._lengths[index]} frames, asked for {idx.tolist()}")
        return np.asarray(self.frames[self._offsets[index] + idx])

    def __repr__(self) -> str:
        return (f"PreparedStore({str(self.path)!r}, videos={len(self)}, frames={self.total_frames}, "
                f"size={self.size}, classes={self.num_classes})")
