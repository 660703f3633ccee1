"""``VideoFolder``: the videos of a directory tree, as users have them [docs/architecture.md section 6].

Layouts: ``root/<class>/<video>.{mp4,avi,webm,mkv,mov,gif}``, frame folders ``root/<class>/<video>/<frame>.png``
(StyleGAN-V / MoCoGAN-HD), a flat root (videos or frame folders directly in root: unconditional), or a single
video file or frame folder. UCF-101
split files (found in root, ``root/ucfTrainTestlist`` or its sibling, or given) and a Kinetics annotation CSV
select subsets and define labels. Listed but absent videos are kept in ``missing`` with a reason.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dvdgan.data.annotations import (
    find_ucf_splits,
    read_kinetics_csv,
    read_ucf_splits,
    select_split,
    video_key,
)
from dvdgan.data.decode import (
    VIDEO_EXTENSIONS,
    count_frames,
    is_frame_folder,
    is_video_file,
    read_frames,
    read_frames_at,
)

LAYOUT_HELP = (
    "expected root/<class>/<video>.{" + ",".join(e[1:] for e in VIDEO_EXTENSIONS) + "}, "
    "root/<class>/<video>/<frame>.{png,jpg}, or videos directly in root"
)


@dataclass(frozen=True)
class VideoEntry:
    """One video: a file or a frame folder, its class index (0 when unconditional) and split tags."""

    path: Path
    label: int = 0
    tags: tuple[str, ...] = ()


def _videos_in(folder: Path) -> list[Path]:
    """Video files and frame folders directly inside ``folder`` (hidden names skipped), sorted."""
    found = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if is_video_file(child) or is_frame_folder(child):
            found.append(child)
    return found


class VideoFolder:
    """The videos under ``root`` with labels, split tags, frame counts and frame reading.

    Item access decodes: ``video(i)`` gives all frames, ``read(i, indices)`` some of them (uint8 [L, H, W, 3] at
    the native size). ``length(i)`` counts frames without decoding (cached).
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "all",  # all | train | test (| val, ... for a Kinetics CSV)
        split_index: int = 1,  # UCF-101 split 1..3
        annotations: str | Path | None = None,  # Kinetics CSV; its labels define the classes
        split_dir: str | Path | None = None,  # where the UCF-101 split files are, if not found near root
    ) -> None:
        self.root = Path(root)
        if not self.root.exists():
            raise FileNotFoundError(f"video folder {self.root} does not exist; {LAYOUT_HELP}")
        if not self.root.is_dir() and not is_video_file(self.root):
            raise ValueError(f"{self.root} is neither a directory nor a video file; {LAYOUT_HELP}")
        self.split, self.split_index = split, split_index
        self.missing: list[tuple[str, str]] = []  # (path relative to root, reason)
        self.class_names: list[str] = []
        ucf_dir = None
        if self.root.is_dir() and not annotations:
            ucf_dir = find_ucf_splits(self.root, Path(split_dir) if split_dir else None)
        if not self.root.is_dir() or is_frame_folder(self.root):
            entries = [VideoEntry(self.root)]  # a single video file or frame folder
        elif annotations:
            entries = self._kinetics(Path(annotations))
        elif ucf_dir is not None:
            entries = self._ucf(ucf_dir)
        else:
            entries = self._plain()
        # a source without split information is one split, which all, train and test each select whole (train is
        # data.split's default); any other name was a typo that silently took every video
        if not any(e.tags for e in entries) and split not in ("all", "train", "test"):
            raise ValueError(f"split {split!r} is unknown: {self.root} has no split files (UCF-101 lists or a "
                             "Kinetics CSV), so expected all, train or test, which each take every video")
        keep = select_split([e.tags for e in entries], split, split_index)
        self.entries = [entries[i] for i in keep]
        if not self.entries:
            what = f" in split {split!r}" if split != "all" else ""
            raise ValueError(f"no videos found under {self.root}{what}; {LAYOUT_HELP}")
        self._lengths: dict[int, int] = {}

    # ---------------------------------------------------------------------------------------------- discovery

    def _plain(self) -> list[VideoEntry]:
        flat, classes = [], {}
        for child in sorted(self.root.iterdir()):
            if child.name.startswith("."):
                continue
            if is_video_file(child) or is_frame_folder(child):
                flat.append(child)
            elif child.is_dir():
                videos = _videos_in(child)
                if videos:
                    classes[child.name] = videos
        if flat and classes:
            raise ValueError(
                f"{self.root} mixes videos directly in the root with class folders "
                f"({', '.join(sorted(classes)[:3])}); {LAYOUT_HELP}"
            )
        self.class_names = sorted(classes)
        if flat:
            return [VideoEntry(p) for p in flat]
        return [VideoEntry(p, label) for label, name in enumerate(self.class_names) for p in classes[name]]

    def _ucf(self, directory: Path) -> list[VideoEntry]:
        splits = read_ucf_splits(directory)
        if self.split != "all" and f"{self.split}{self.split_index}" not in splits.listed:
            raise FileNotFoundError(
                f"UCF-101 split file {directory / f'{self.split}list{self.split_index:02d}.txt'} not found"
            )
        self.class_names = splits.class_names
        label_of = {name.lower(): i for i, name in enumerate(splits.class_names)}
        entries, on_disk = [], set()
        for child in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            videos = _videos_in(child)
            if child.name.lower() not in label_of:
                if videos and child != directory:
                    self.missing.append((child.name, "class folder not listed in classInd.txt"))
                continue
            for path in videos:
                key = video_key(f"{child.name}/{path.name}")
                on_disk.add(key)
                tags = tuple(sorted(splits.tags.get(key, ())))
                entries.append(VideoEntry(path, label_of[child.name.lower()], tags))
        wanted = [f"{self.split}{self.split_index}"] if self.split != "all" else list(splits.listed)
        for tag in wanted:
            for listed in splits.listed[tag]:
                if video_key(listed) not in on_disk:
                    on_disk.add(video_key(listed))  # report each absent video once
                    self.missing.append((listed, f"listed in {tag[:-1]}list{tag[-1]:0>2}.txt but not found"))
        return sorted(entries, key=lambda e: (e.label, e.path.name.lower()))

    def _kinetics(self, csv_path: Path) -> list[VideoEntry]:
        rows = read_kinetics_csv(csv_path)
        self.class_names = sorted({r.label for r in rows})
        label_of = {name: i for i, name in enumerate(self.class_names)}
        found: dict[str, Path] = {}
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                path = Path(folder) / name
                if path.suffix.lower() in VIDEO_EXTENSIONS:
                    found.setdefault(path.stem, path)
            for name in dirs:
                found.setdefault(name, Path(folder) / name)  # a frame folder named like the clip
        entries = []
        splits = sorted({r.split for r in rows if r.split})
        if self.split != "all" and splits and self.split not in splits:
            raise ValueError(f"split {self.split!r} is not in {csv_path}; expected all or one of its splits: "
                             f"{', '.join(splits)}")
        filter_rows = self.split != "all" and any(r.split for r in rows)  # a CSV without splits is one split
        for row in rows:
            if filter_rows and row.split != self.split:
                continue
            path = found.get(row.name)
            if path is None or (path.is_dir() and not is_frame_folder(path)):
                self.missing.append((row.name, f"listed in {csv_path.name} but not found"))
                continue
            entries.append(VideoEntry(path, label_of[row.label], (row.split,) if row.split else ()))
        return sorted(entries, key=lambda e: (e.label, e.path.name))

    # ---------------------------------------------------------------------------------------------- access

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.entries)

    def label(self, index: int) -> int:
        return self.entries[index].label

    def tags(self, index: int) -> tuple[str, ...]:
        return self.entries[index].tags

    def relative_path(self, index: int) -> str:
        path = self.entries[index].path
        return path.name if path == self.root else path.relative_to(self.root).as_posix()

    def length(self, index: int) -> int:
        """Frame count of video ``index`` (DecodeError for an unreadable file)."""
        if index not in self._lengths:
            self._lengths[index] = count_frames(self.entries[index].path)
        return self._lengths[index]

    def read(self, index: int, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Frames ``indices`` of video ``index``: uint8 ``[len(indices), H, W, 3]``."""
        return read_frames_at(self.entries[index].path, indices)

    def video(self, index: int) -> np.ndarray:
        """All frames of video ``index``: uint8 ``[L, H, W, 3]``."""
        return read_frames(self.entries[index].path).frames

    def __repr__(self) -> str:
        return (f"VideoFolder({str(self.root)!r}, videos={len(self)}, classes={self.num_classes}, "
                f"split={self.split!r}, missing={len(self.missing)})")
