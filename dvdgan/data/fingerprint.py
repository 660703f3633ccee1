"""``data_fingerprint``: a short hash of what a data source holds, for caches of statistics computed from it.

A cache keyed on the ``data.source`` text reuses stale numbers: the same relative ``clips.npy`` in two
directories, or a store re-prepared at the same path, has the same text. The fingerprint is made from what
changes when the data does, read cheaply: the resolved path, and for a prepared store its ``index.json`` (hashed:
it lists every video) with the size and mtime of its frames file; for an ``.npy``/``.npz`` file its size, mtime
and the hash of its first MB; for a folder the relative path, size and mtime of every file under it. Procedural
sources are made by code: their name is their content.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dvdgan.config import DataConfig
from dvdgan.data.specs import parse_spec
from dvdgan.data.store import FRAMES_FILE, INDEX_FILE

HEAD_BYTES = 1 << 20  # hashed from the start of an array file: its header and first clips


def real_stats_key(cfg: DataConfig, num_frames: int, resolution: int) -> str:
    """The cache key of real-data statistics: the source as typed (a readable cache file name), its content's
    fingerprint, and how clips are cut from it."""
    return f"{cfg.source}|{data_fingerprint(cfg)}|{cfg.split}|{cfg.frame_stride}|{num_frames}x{resolution}"


def data_fingerprint(cfg: DataConfig) -> str:
    """16 hex digits that change when the clips ``cfg`` selects may have: the source's content, the annotations
    file's and the split index (the split and frame stride are in the callers' keys already)."""
    h = hashlib.sha256()
    h.update(source_fingerprint(cfg.source).encode())
    if cfg.annotations:
        h.update(f"|annotations {_file_stamp(Path(cfg.annotations), whole=True)}".encode())
    h.update(f"|split_index {cfg.split_index}".encode())
    return h.hexdigest()[:16]


def source_fingerprint(source: str) -> str:
    """What the data spec ``source`` holds, as text (see the module docstring); a bare path works too."""
    spec = parse_spec(source, bare_paths=True)
    if spec.kind == "procedural":
        return f"procedural {spec.name}"
    assert spec.path is not None
    path = spec.path.resolve()
    if spec.kind == "prepared":
        frames = path / FRAMES_FILE
        frames_stamp = _file_stamp(frames) if frames.exists() else "-"
        return f"store {path} {_file_stamp(path / INDEX_FILE, whole=True)} {frames_stamp}"
    if path.is_dir():
        return f"folder {path} {_tree_stamp(path)}"
    return f"file {path} {_file_stamp(path)}"


def _file_stamp(path: Path, whole: bool = False) -> str:
    """Size, mtime and the sha256 of the file (``whole``) or of its first MB."""
    stat = path.stat()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        if whole:
            while block := f.read(HEAD_BYTES):
                h.update(block)
        else:
            h.update(f.read(HEAD_BYTES))
    return f"{stat.st_size}:{stat.st_mtime_ns}:{h.hexdigest()[:16]}"


def _tree_stamp(root: Path) -> str:
    """The hash of every file's relative path, size and mtime under ``root`` (stat calls only, no reading)."""
    h = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            stat = path.stat()
            h.update(f"{path.relative_to(root).as_posix()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]
