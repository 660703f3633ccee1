"""Base of the built-in procedural datasets [docs/architecture.md section 6]: clips from ``(seed, index)``, no files.

Each item is ``(uint8 [T, H, W, 3], label)`` with ``label = index % num_classes`` (balanced). Any index >= 0 is
valid: indices past ``len()`` give further clips (see ``InfiniteSampler(cycle_offsets=True)``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.utils.data

from dvdgan.data.analysis import clip_chunks
from dvdgan.data.judge import ObjectSpec, judge_clips
from dvdgan.data.objects import FrameObjects

NO_CLASS = -1  # what the class rules return for a clip that shows no object: it matches no label


def frame_size(resolution: int | tuple[int, int]) -> tuple[int, int]:
    """``(H, W)`` from a square size or a pair; at least 8 pixels each way."""
    h, w = (resolution, resolution) if isinstance(resolution, int) else tuple(resolution)
    if h < 8 or w < 8:
        raise ValueError(f"procedural frames must be at least 8x8 pixels, got {h}x{w}")
    return int(h), int(w)


class ProceduralVideos(torch.utils.data.Dataset):
    """Common machinery: sizes, labels, seeding, tensor conversion and clip-level voting in ``classify``."""

    class_names: tuple[str, ...] = ()

    def __init__(
        self,
        num_frames: int = 8,  # T, frames per clip
        resolution: int | tuple[int, int] = 32,  # H = W, or (H, W)
        length: int = 50_000,  # virtual length (DataConfig.length)
        seed: int = 0,  # clips are a function of (seed, index)
    ) -> None:
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        self.num_frames = int(num_frames)
        self.height, self.width = frame_size(resolution)
        self.length = int(length)
        self.seed = int(seed)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        # Without this, Python's legacy iteration would run forever: every index >= 0 is valid.
        return (self[i] for i in range(len(self)))

    def label(self, index: int) -> int:
        return index % self.num_classes

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, index])

    def clip(self, index: int, label: int | None = None) -> np.ndarray:
        """Clip ``index`` as uint8 ``[T, H, W, 3]``; ``label`` overrides the class (same scene, other class)."""
        if index < 0:
            raise IndexError(f"index must be >= 0, got {index}")
        label = self.label(index) if label is None else int(label)
        if not 0 <= label < self.num_classes:
            raise ValueError(f"label must be in [0, {self.num_classes}), got {label}")
        return self.render(self.rng(index), label)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        index = int(index)
        if index < 0:
            index += len(self)
        return torch.from_numpy(self.clip(index)), self.label(index)

    def render(self, rng: np.random.Generator, label: int) -> np.ndarray:
        """Draw one clip of class ``label``: uint8 ``[T, H, W, 3]``."""
        raise NotImplementedError

    def frame_scores(self, frames: np.ndarray) -> np.ndarray:
        """Per-class evidence ``[M, num_classes]`` of float frames ``[M, H, W, C]`` (higher = more likely)."""
        raise NotImplementedError

    def classify(self, clips: np.ndarray) -> np.ndarray:
        """The exact class rule: label ``int64 [N]`` of uint8 clips ``[N, T, H, W, C]``, no learned model.

        Sums per-frame evidence over the frames, so any single frame suffices and noisy frames are outvoted.
        A clip with no positive evidence for any class (no visible object) gets ``NO_CLASS`` (-1), which matches
        no label: a generator that draws nothing must not score as class 0.
        """
        out = []
        for _, chunk in clip_chunks(clips):
            n, t = chunk.shape[:2]
            evidence = self.frame_scores(chunk.reshape(n * t, *chunk.shape[2:])).reshape(n, t, -1).sum(axis=1)
            out.append(np.where(evidence.max(axis=1) > 0, evidence.argmax(axis=1), NO_CLASS))
        return np.concatenate(out).astype(np.int64)

    # The strict judge (dvdgan.data.judge): what the data's real objects are, and the data's own checks.
    def object_spec(self) -> ObjectSpec:
        raise NotImplementedError

    def colour_wrong(self, objs: FrameObjects, label: int) -> bool:
        """True when the object's core colour is not one the data gives class ``label``."""
        raise NotImplementedError

    def shape_wrong(self, objs: FrameObjects, label: int) -> bool:
        """True when the object's outline, in some frame, is not one the data gives class ``label``."""
        raise NotImplementedError

    def track_reason(self, objs: FrameObjects, label: int) -> str | None:
        """``does not travel`` or ``wrong motion`` when the object's track is not one the data could give
        class ``label``; None when it is."""
        raise NotImplementedError

    def judge(self, clips: np.ndarray, labels: np.ndarray) -> list[str | None]:
        """The strict judge's verdict on each clip: None (a real-looking clip of its label) or the reason."""
        return judge_clips(self, clips, labels)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_frames={self.num_frames}, resolution=({self.height}, {self.width}), "
                f"length={self.length}, seed={self.seed}, num_classes={self.num_classes})")
