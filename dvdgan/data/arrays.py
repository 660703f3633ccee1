"""``ArrayVideos``: clips stored as a numpy array, ``.npy`` or ``.npz`` of uint8 ``[N, T, H, W, C]``.

An ``.npz`` holds the clips under ``clips``, ``videos``, ``x`` or ``arr_0`` (or as its only 4/5-D array), and
optionally ``labels`` (int ``[N]``) and ``class_names``. ``[N, T, H, W]`` arrays are read as one channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

CLIP_KEYS = ("clips", "videos", "x", "arr_0")


def _load(path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    if path.suffix == ".npy":
        return np.load(path, mmap_mode="r"), None, None
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.keys())
        key = next((k for k in CLIP_KEYS if k in keys), None)
        if key is None:
            candidates = [k for k in keys if data[k].ndim in (4, 5)]
            if len(candidates) != 1:
                raise ValueError(f"{path}: cannot tell which array holds the clips (keys: {', '.join(keys)}); "
                                 f"name it one of {', '.join(CLIP_KEYS)}")
            key = candidates[0]
        labels = data["labels"].astype(np.int64) if "labels" in keys else None
        names = [str(n) for n in data["class_names"]] if "class_names" in keys else None
        return data[key], labels, names


class ArrayVideos:
    """A video source (see ``ClipDataset``) over a clip array file; ``.npy`` files are memory-mapped."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"clip array {self.path} does not exist")
        if self.path.suffix not in (".npy", ".npz"):
            raise ValueError(f"{self.path}: clip arrays must be .npy or .npz files")
        clips, labels, names = _load(self.path)
        if clips.ndim == 4:
            clips = clips[..., None]
        if clips.ndim != 5 or clips.dtype != np.uint8:
            raise ValueError(f"{self.path}: expected uint8 clips [N, T, H, W, C], got {clips.dtype} {clips.shape}")
        if labels is not None and labels.shape != (clips.shape[0],):
            raise ValueError(f"{self.path}: labels has shape {labels.shape}, expected ({clips.shape[0]},)")
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
        return np.asarray(self.clips[index, np.asarray(indices, dtype=np.int64)])

    def video(self, index: int) -> np.ndarray:
        return np.asarray(self.clips[index])
