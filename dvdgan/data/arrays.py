"""``ArrayVideos``: clips stored as a numpy array, ``.npy`` or ``.npz`` of uint8 ``[N, T, H, W, C]``.

An ``.npz`` holds the clips under ``clips``, ``videos``, ``x`` or ``arr_0`` (or as its only 4/5-D array), and
optionally ``labels`` (int ``[N]``) and ``class_names``. ``[N, T, H, W]`` arrays and one-channel clips are grey and
read as RGB; a 4-D array whose last axis is 3 or 4 is one colour clip and refused. Files are checked before
anything is allocated: never unpickled, and an ``.npz`` whose arrays would not fit in memory is refused (``.npy``
files are memory-mapped).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

CLIP_KEYS = ("clips", "videos", "x", "arr_0")
MAX_CLASSES = 100_000  # labels are class indices; a label of 10**9 must not build a billion class names
NPY_MAGIC = b"\x93NUMPY"
NPY_MAX_HEADER = 10_000  # numpy's own bound (max_header_size); numpy.save writes ~128 bytes for any clip array


def _memory_budget() -> int | None:
    """Half the machine's memory, the most an ``.npz`` may expand to (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (AttributeError, ValueError, OSError):
        return None


def _npy_header(f, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of the ``.npy`` stream ``f`` (at its start), checked before anything is sized by them: a
    header of at most NPY_MAX_HEADER bytes (numpy's refusal of a longer one read "holds Python objects") and no
    negative dimension (numpy's mmap raised OverflowError)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        size_bytes = 2 if version == (1, 0) else 4
        length = int.from_bytes(f.read(size_bytes), "little")
        if length <= NPY_MAX_HEADER:
            f.seek(-size_bytes, 1)
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = read(f, max_header_size=NPY_MAX_HEADER)
    except ValueError as exc:
        raise ValueError(f"{where}: damaged .npy header ({str(exc).splitlines()[0][:120]})") from None
    if length > NPY_MAX_HEADER:
        raise ValueError(f"{where}: its .npy header is {length:,} bytes, more than the {NPY_MAX_HEADER:,} numpy "
                         "reads (numpy.save writes ~128); the file is damaged or not a clip array")
    if any(d < 0 for d in shape):
        raise ValueError(f"{where}: its .npy header declares the shape {list(shape)[:8]}, with a negative "
                         "dimension; the file is damaged or not written by numpy.save")
    return shape, dtype


def _check_npz(path: Path) -> None:
    """Read every member's header (not its data): refuse object arrays and arrays too large to decompress."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not an .npz archive (save clips with numpy.savez)")
    total = 0
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            with archive.open(name) as f:
                if f.read(6) != NPY_MAGIC:
                    raise ValueError(f"{path}: member {name!r} is not a numpy array")
                f.seek(0)
                shape, dtype = _npy_header(f, f"{path}: member {name!r}")
            if dtype.hasobject:
                raise ValueError(f"{path}: {name!r} holds Python objects (refused: unpickling could run code)")
            total += int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    budget = _memory_budget()
    if budget is not None and total > budget:
        raise ValueError(f"{path} expands to {total / 2**30:.1f} GiB, more than half of this machine's memory; "
                         "save the clips with numpy.save as .npy (read memory-mapped)")


def _load_npy(path: Path) -> np.ndarray:
    """Memory-mapped, after its header is checked: what it costs is bounded by the file's size."""
    with open(path, "rb") as f:
        if f.read(6) != NPY_MAGIC:
            raise ValueError(f"{path} is not a .npy file (no NumPy header); save clips with numpy.save")
        f.seek(0)
        shape, dtype = _npy_header(f, str(path))
        have = path.stat().st_size - f.tell()
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize  # Python ints: no overflow
    if not dtype.hasobject and need > have:
        raise ValueError(f"{path}: its header declares {dtype} {list(shape)[:8]} ({need:,} bytes) but the file "
                         f"holds {have:,} bytes of data (cut off?)")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        pickled = "pickle" in str(exc) or "Python objects" in str(exc)
        reason = "it holds Python objects (refused: unpickling could run code)" if pickled else exc
        raise ValueError(f"{path}: {reason}") from None


def load_array_file(path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """The clip array of a ``.npy``/``.npz`` file, with its raw labels and class names when it has them."""
    if path.suffix == ".npy":
        return _load_npy(path), None, None
    _check_npz(path)
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.keys())
        key = next((k for k in CLIP_KEYS if k in keys), None)
        if key is None:
            candidates = [k for k in keys if data[k].ndim in (4, 5)]
            if len(candidates) != 1:
                raise ValueError(f"{path}: cannot tell which array holds the clips (keys: {', '.join(keys)}); "
                                 f"name it one of {', '.join(CLIP_KEYS)}")
            key = candidates[0]
        labels = data["labels"] if "labels" in keys else None
        names = [str(n) for n in data["class_names"]] if "class_names" in keys else None
        return data[key], labels, names


def _checked_labels(path: Path, labels: np.ndarray, count: int, names: list[str] | None) -> np.ndarray:
    """Labels as int64 class indices 0..K-1, checked before anything is sized by them."""
    if labels.shape != (count,):
        raise ValueError(f"{path}: labels has shape {labels.shape}, expected ({count},)")
    if labels.dtype.kind not in "iub":
        raise ValueError(f"{path}: labels must be integer class indices, got {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"{path}: labels must be class indices >= 0, got {labels.min()}")
    limit = len(names) if names is not None else MAX_CLASSES
    if labels.size and labels.max() >= limit:
        what = f"the {limit} class_names" if names is not None else f"the {MAX_CLASSES:,} classes dvdgan allows"
        raise ValueError(f"{path}: label {labels.max()} is beyond {what} (labels are class indices 0..K-1)")
    return labels


class ArrayVideos:
    """A video source (see ``ClipDataset``) over a clip array file; ``.npy`` files are memory-mapped."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"clip array {self.path} does not exist")
        if self.path.suffix not in (".npy", ".npz"):
            raise ValueError(f"{self.path}: clip arrays must be .npy or .npz files")
        clips, labels, names = load_array_file(self.path)
        if clips.ndim == 4:
            _refuse_one_clip(self.path, clips.shape)
            clips = clips[..., None]
        if clips.ndim != 5 or clips.dtype != np.uint8:
            raise ValueError(f"{self.path}: expected uint8 clips [N, T, H, W, C], got {clips.dtype} {clips.shape}")
        if clips.shape[-1] not in (1, 3):
            raise ValueError(f"{self.path}: clips have {clips.shape[-1]} channels, expected 3 (RGB) or 1 (grey); "
                             "for RGBA keep clips[..., :3]")
        if labels is not None:
            labels = _checked_labels(self.path, labels, clips.shape[0], names)
        self.clips = clips
        self.labels = labels
        if labels is None:
            self.class_names: list[str] = []
        else:
            self.class_names = names or [str(c) for c in range(int(labels.max()) + 1 if labels.size else 0)]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return self.clips.shape[0]

    def length(self, index: int) -> int:
        return self.clips.shape[1]

    def label(self, index: int) -> int:
        return int(self.labels[index]) if self.labels is not None else 0

    def read(self, index: int, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        return _rgb(np.asarray(self.clips[index, np.asarray(indices, dtype=np.int64)]))

    def video(self, index: int) -> np.ndarray:
        return _rgb(np.asarray(self.clips[index]))


def _refuse_one_clip(path: Path, shape: tuple[int, ...]) -> None:
    """A 4-D array is grey clips ``[N, T, H, W]``, unless its last axis is 3 or 4: then it is one RGB(A) clip
    ``[T, H, W, C]`` (grey frames 3 or 4 pixels wide are no video), which read as grey would give T clips of
    width C and a number computed from them."""
    if shape[-1] in (3, 4):
        raise ValueError(f"{path} holds one clip {list(shape)} ([T, H, W, C]); save clips as [N, T, H, W, C] "
                         "(e.g. numpy.save(path, clip[None]))")


def _rgb(frames: np.ndarray) -> np.ndarray:
    """Grey frames as RGB: the models make and judge 3-channel video."""
    return np.repeat(frames, 3, axis=-1) if frames.shape[-1] == 1 else frames
