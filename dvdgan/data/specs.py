"""Data-spec strings -> datasets: the one entry point for training (``build_dataset``) and metrics
(``load_clips``) [docs/architecture.md section 6]. See ``DATA_SPEC_HELP`` for the accepted forms.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch.utils.data

from dvdgan.config import DataConfig
from dvdgan.data.annotations import select_split
from dvdgan.data.arrays import ArrayVideos
from dvdgan.data.clips import ClipDataset
from dvdgan.data.decode import DecodeError
from dvdgan.data.digits import MovingDigits
from dvdgan.data.folder import VideoFolder
from dvdgan.data.motion import MotionClasses
from dvdgan.data.procedural import ProceduralVideos
from dvdgan.data.shapes import BouncingShapes
from dvdgan.data.store import PreparedStore, is_store

PROCEDURAL: dict[str, type[ProceduralVideos]] = {
    "shapes": BouncingShapes,
    "motion": MotionClasses,
    "digits": MovingDigits,
}
VALID_FORMS = "shapes, motion, digits, folder:DIR, prepared:DIR, npz:FILE, FILE.npy, FILE.npz"
DATA_SPEC_HELP = """\
Data sources (data.source, --data):
  shapes | motion | digits   built-in procedural clips (class = shape x colour | motion | MNIST digit)
  folder:DIR                 videos DIR/<class>/<video>.{mp4,avi,webm,mkv,mov,gif}, frame folders
                             DIR/<class>/<video>/<frame>.{png,jpg}, or a flat DIR (unconditional);
                             UCF-101 split files and data.annotations (Kinetics CSV) are honoured
  prepared:DIR               a store written by `dvdgan prepare SRC DIR --size S` (fastest for training)
  npz:FILE | FILE.npz | FILE.npy   uint8 clips [N, T, H, W, C], optional `labels`
For metrics (dvdgan fvd A B), a bare path also works: a prepared store if it holds index.json, else a video
folder, frame folder or single video file."""


@dataclass(frozen=True)
class DataSpec:
    """A parsed data spec: ``kind`` is procedural, folder, prepared or arrays."""

    kind: str
    name: str = ""  # procedural set name
    path: Path | None = None


def parse_spec(spec: str, bare_paths: bool = False) -> DataSpec:
    """Parse a data spec; ``bare_paths`` also accepts a plain path: a store directory (it holds index.json),
    another directory (videos or a frame folder) or a video file.

    Raises ValueError for an unknown form and FileNotFoundError for a path that does not exist, both naming the
    spec and the valid forms.
    """
    text = spec.strip()
    if text in PROCEDURAL:
        return DataSpec("procedural", text)
    kind, sep, rest = text.partition(":")
    if sep and kind in ("folder", "prepared", "npz") and rest:
        parsed = DataSpec({"npz": "arrays"}.get(kind, kind), path=Path(rest).expanduser())
    elif text.endswith((".npy", ".npz")):
        parsed = DataSpec("arrays", path=Path(text).expanduser())
    elif bare_paths and text and ("/" in text or Path(text).exists()):
        path = Path(text).expanduser()
        parsed = DataSpec("prepared" if is_store(path) else "folder", path=path)
    else:
        raise ValueError(f"unknown data source {spec!r}; valid forms: {VALID_FORMS}")
    assert parsed.path is not None
    if not parsed.path.exists():
        raise FileNotFoundError(f"data source {spec!r}: {parsed.path} does not exist; valid forms: {VALID_FORMS}")
    return parsed


def build_dataset(cfg: DataConfig, num_frames: int, resolution: int, seed: int = 0,
                  first_window: bool = False) -> torch.utils.data.Dataset:
    """The training dataset of ``cfg.source``: items ``(uint8 [T, H, W, C], label)``, H = W = ``resolution``.

    Every returned dataset has ``num_classes`` and ``class_names``; procedural ones also ``classify``. All accept
    any index >= 0, so ``InfiniteSampler(..., cycle_offsets=True)`` gives fresh clips on every pass.
    ``frame_stride``, ``hflip`` and the split apply to video sources; procedural ``digits`` honours the split
    (MNIST-5k train/test writers). ``first_window``: every clip of a video source starts at the video's first frame
    (benchmark protocols that fix their real clips); procedural data has no such clips.
    """
    spec = parse_spec(cfg.source)
    if spec.kind == "procedural":
        if first_window:
            raise ValueError(f"data source {cfg.source!r} is procedural: its clips have no first frames to pin")
        kwargs = {"split": cfg.split} if spec.name == "digits" else {}
        return PROCEDURAL[spec.name](num_frames, resolution, length=cfg.length, seed=seed, **kwargs)
    clip_args = {"num_frames": num_frames, "stride": cfg.frame_stride, "hflip": cfg.hflip and not first_window,
                 "seed": seed, "first_window": first_window, "size": resolution}
    if spec.kind == "folder":
        folder = VideoFolder(spec.path, cfg.split, cfg.split_index, cfg.annotations or None)
        return announce_resize(cfg.source, ClipDataset(folder, **clip_args))
    if spec.kind == "prepared":
        store = PreparedStore(spec.path)
        videos = select_split([store.tags(i) for i in range(len(store))], cfg.split, cfg.split_index)
        if not videos:
            raise ValueError(f"prepared store {spec.path} has no video in split {cfg.split!r} "
                             f"(index {cfg.split_index}); set data.split=all or prepare that split")
        return announce_resize(cfg.source, ClipDataset(store, videos=videos, **clip_args))
    return announce_resize(cfg.source, ClipDataset(ArrayVideos(spec.path), **clip_args))


_ANNOUNCED: set[tuple[str, int, tuple[int, int]]] = set()  # said once per process (train and eval data share it)


def announce_resize(source: str, data: ClipDataset) -> ClipDataset:
    """The one size policy of every video source (folder, prepared store, array): frames whose size is not the
    model's are resized to it as they are read (short side scaled, centre crop, as ``dvdgan prepare``), and one
    stderr line says so, with the native size and how to avoid the work.

    Resizing rather than refusing: a folder's videos come at their native size, never the model's, so refusing a
    mismatch would refuse every real folder; a store or array holds the same videos decoded, and must not be
    treated otherwise (a 64-pixel store refused for a 32-pixel model while a folder of the same videos worked was
    the surprise). Resizing is correct, only slower than a store of the right size, and the line says so.
    """
    size = data.size
    if size is None or not len(data):
        return data
    try:  # the first video's first frame (a store or array knows its size; a folder decodes one frame)
        native = tuple(int(n) for n in data.source.read(data.videos[0], [0]).shape[1:3])
    except (DecodeError, OSError, ValueError):
        return data  # an unreadable first video is reported when it is drawn
    if native == (size, size) or (source, size, native) in _ANNOUNCED:
        return data
    _ANNOUNCED.add((source, size, native))
    how = ("short side upscaled (blurred), centre crop" if min(native) < size else
           "short side downscaled, centre crop" if min(native) > size else "centre crop")
    if isinstance(data.source, PreparedStore):
        fix = (f"faster: `dvdgan prepare SRC OUT --size {size}` for a matching store, or "
               f"model.resolution={native[0]} to train at the store's size")
    elif isinstance(data.source, VideoFolder):
        fix = f"faster: `dvdgan prepare {data.source.root} OUT --size {size}` once, then data.source=prepared:OUT"
    else:
        fix = f"model.resolution={native[0]} trains at the data's size"
    first = " (its first video)" if isinstance(data.source, VideoFolder) else ""
    print(f"data: {source} has {native[1]}x{native[0]} frames{first}; resized to the model's {size}x{size} as "
          f"they are read ({how}; {fix})",
          file=sys.stderr, flush=True)
    return data


class ClipStream:
    """The clips of a source, read once, whose number is known before reading: progress bars get the right total
    and a warning about too few clips comes before the work."""

    def __init__(self, clips: Iterator[np.ndarray], count: int) -> None:
        self._clips, self._count = clips, count

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._clips

    def __len__(self) -> int:
        return self._count


def load_clips(
    spec: str, num_frames: int, resolution: int | None = None, max_clips: int | None = None, seed: int = 0
) -> ClipStream:
    """Clips ``uint8 [T, H, W, C]`` of a source for metrics (e.g. FVD between two sources).

    ``spec`` is a data spec or a bare path (video folder, prepared store directory, video file, frame folder,
    .npy/.npz). One clip per
    video, at most ``max_clips`` (a seeded random subset of the videos); procedural sets give ``max_clips``
    clips (default ``DataConfig.length``). Windows are drawn deterministically from ``seed``.
    ``resolution=None`` keeps the native size, which all clips of the source must then share (procedural sets
    have none and need a resolution). Errors in the spec are raised here, not on the first clip.
    """
    parsed = parse_spec(spec, bare_paths=True)
    if parsed.kind == "procedural":
        if resolution is None:
            raise ValueError(f"data source {spec!r} is procedural and needs a resolution")
        count = DataConfig().length if max_clips is None else max_clips
        data = PROCEDURAL[parsed.name](num_frames, resolution, length=max(count, 1), seed=seed)
        return ClipStream((data.clip(i) for i in range(count)), count)
    if parsed.kind == "prepared":
        store = PreparedStore(parsed.path)
        size = None if resolution in (None, store.size) else resolution
        data = ClipDataset(store, num_frames, seed=seed, size=size)
    else:
        source = VideoFolder(parsed.path) if parsed.kind == "folder" else ArrayVideos(parsed.path)
        data = ClipDataset(source, num_frames, seed=seed, size=resolution)
    count = len(data) if max_clips is None else min(max_clips, len(data))
    # A seeded subset of videos, not the first ones: folders are sorted by class.
    order = np.random.default_rng(seed).permutation(len(data))[:count]
    return ClipStream(_same_size_clips(data, order, spec), count)


def _same_size_clips(data: ClipDataset, order: np.ndarray, spec: str) -> Iterator[np.ndarray]:
    first = None
    for index in order:
        clip = data.clip(int(index))
        if first is None:
            first = clip.shape
        elif clip.shape != first:
            raise ValueError(
                f"clips of {spec!r} differ in size ({first[1]}x{first[2]} and {clip.shape[1]}x{clip.shape[2]}); "
                "pass a resolution to resize them"
            )
        yield clip
