"""``ClipDataset``: random T-frame training windows from a video source [docs/architecture.md section 6].

A *video source* is anything with ``__len__``, ``length(i)``, ``label(i)``, ``read(i, frame_indices)``,
``num_classes`` and ``class_names``: ``PreparedStore``, ``VideoFolder`` and ``ArrayVideos``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
import torch
import torch.utils.data

from dvdgan.data.decode import DecodeError
from dvdgan.data.resize import resize_clip

_MAX_ATTEMPTS = 8  # videos tried for one item before a decoding error is raised


class VideoSource(Protocol):
    num_classes: int
    class_names: list[str]

    def __len__(self) -> int: ...

    def length(self, index: int) -> int: ...

    def label(self, index: int) -> int: ...

    def read(self, index: int, indices: Sequence[int] | np.ndarray) -> np.ndarray: ...


class ClipDataset(torch.utils.data.Dataset):
    """Windows of ``num_frames`` frames, ``stride`` apart (Kinetics synthesis: 2 [paper]), from each video.

    Item ``i`` is ``(uint8 [T, H, W, C], label)``. The window start and the optional horizontal flip are drawn
    from ``(seed, i)``, so they are reproducible in any DataLoader worker. Any index >= 0 is valid: index ``i``
    shows video ``i % len(self)``, and indices past ``len`` (``InfiniteSampler(cycle_offsets=True)``) draw new
    windows. Videos shorter than the window span are skipped, counted in ``too_short`` and reported once.
    """

    def __init__(
        self,
        source: VideoSource,
        num_frames: int,  # T
        stride: int = 1,  # frames between consecutive clip frames
        hflip: bool = False,  # flip half of the clips left-right
        seed: int = 0,
        videos: Sequence[int] | None = None,  # subset of the source's videos (default: all)
        size: int | None = None,  # resize + centre-crop frames to size x size (default: keep)
        first_window: bool = False,  # every clip starts at its video's first frame (benchmark protocols)
    ) -> None:
        if num_frames < 1 or stride < 1:
            raise ValueError(f"num_frames and stride must be >= 1, got {num_frames} and {stride}")
        self.source, self.num_frames, self.stride = source, int(num_frames), int(stride)
        self.hflip, self.seed, self.size, self.first_window = hflip, int(seed), size, first_window
        self.span = (self.num_frames - 1) * self.stride + 1
        candidates = list(range(len(source))) if videos is None else list(videos)
        self.videos: list[int] = []
        self.lengths: list[int] = []
        self.too_short = self.unreadable = 0
        longest_short = 0  # the longest of the videos too short, for the error when none is long enough
        for v in candidates:
            try:
                length = source.length(v)
            except DecodeError:
                self.unreadable += 1
                continue
            if length < self.span:
                self.too_short += 1
                longest_short = max(longest_short, length)
                continue
            self.videos.append(v)
            self.lengths.append(length)
        if not self.videos:  # the error alone: a warning before it would say the same thing less clearly
            found = (f"{self.too_short} of {len(candidates)} videos have at most {longest_short} frames"
                     if self.too_short else "")
            unreadable = f"{self.unreadable} of {len(candidates)} are unreadable" if self.unreadable else ""
            raise ValueError(
                f"no video has the {self.span} frames a clip of {self.num_frames} at stride {self.stride} needs"
                + (f" ({'; '.join(x for x in (found, unreadable) if x)})" if found or unreadable else "")
            )
        if self.too_short or self.unreadable:
            warnings.warn(
                f"{self.too_short + self.unreadable} of {len(candidates)} videos skipped: {self.too_short} shorter "
                f"than {self.span} frames ({self.num_frames} at stride {self.stride}), {self.unreadable} unreadable",
                stacklevel=2,
            )

    @property
    def num_classes(self) -> int:
        return self.source.num_classes

    @property
    def class_names(self) -> list[str]:
        return list(self.source.class_names)

    def __len__(self) -> int:
        return len(self.videos)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        return (self[i] for i in range(len(self)))

    def label(self, index: int) -> int:
        """Class of item ``index`` (its video's label) without reading any frame."""
        return self.source.label(self.videos[index % len(self)])

    def clip(self, index: int) -> np.ndarray:
        """Clip ``index`` as a uint8 numpy array ``[T, H, W, C]``."""
        return self._draw(index)[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        index = int(index)
        if index < 0:
            index += len(self)
        frames, video = self._draw(index)
        return torch.from_numpy(frames), self.source.label(video)

    def _draw(self, index: int) -> tuple[np.ndarray, int]:
        """The clip of ``index`` and the source video it came from."""
        if index < 0:
            raise IndexError(f"index must be >= 0, got {index}")
        rng = np.random.default_rng([self.seed, index])
        where = 0.0 if self.first_window else rng.random()  # window start as a fraction of the free range
        flip = self.hflip and rng.random() < 0.5
        attempts = min(len(self), _MAX_ATTEMPTS)
        # A file that counted fine can still fail to decode mid-training: take the next video, never crash.
        for attempt in range(attempts):
            position = (index + attempt) % len(self)
            start = int(where * (self.lengths[position] - self.span + 1))
            video = self.videos[position]
            try:
                frames = self.source.read(video, start + self.stride * np.arange(self.num_frames))
                break
            except DecodeError as exc:
                if attempt == attempts - 1:
                    raise
                warnings.warn(f"skipping a clip: {exc}", stacklevel=3)
        if self.size is not None:
            frames = resize_clip(frames, self.size)
        if flip:
            frames = frames[:, :, ::-1]
        return np.ascontiguousarray(frames), video
