"""Split and label files of the standard datasets: UCF-101 (``classInd.txt``, ``trainlist0N.txt``,
``testlist0N.txt``) and Kinetics annotation CSVs (``label,youtube_id,time_start,time_end,split``).

Videos carry *split tags* (UCF-101: ``train1``, ``test1``, ...; Kinetics: the CSV's split, e.g. ``train``);
``select_split`` turns a (split, split_index) request into the matching videos.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

UCF_SPLITS = (1, 2, 3)
UCF_DIR_NAMES = ("ucfTrainTestlist",)  # the folder the official split zip extracts to
KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end")


@dataclass
class UcfSplits:
    """UCF-101 split files: class names in classInd order, and the split tags of each listed video."""

    directory: Path
    class_names: list[str]
    tags: dict[str, set[str]] = field(default_factory=dict)  # lower-case "class/stem" -> {"train1", ...}
    listed: dict[str, list[str]] = field(default_factory=dict)  # tag -> listed "Class/file" entries


def video_key(relative: str) -> str:
    """Case-insensitive key ``class/stem`` of a split-file entry or an on-disk video (file or frame folder).

    Case-insensitive because the official lists and the archive disagree on case (``HandStandPushups``)."""
    parts = Path(relative.replace("\\", "/")).parts
    stem = Path(parts[-1]).stem if Path(parts[-1]).suffix else parts[-1]
    return "/".join([*parts[:-1], stem]).lower()


def find_ucf_splits(root: Path, split_dir: Path | None = None) -> Path | None:
    """Directory holding ``classInd.txt``: ``split_dir``, else ``root``, ``root/ucfTrainTestlist`` or its sibling."""
    if split_dir is not None:
        if not (Path(split_dir) / "classInd.txt").is_file():
            raise FileNotFoundError(f"no classInd.txt in split directory {split_dir}")
        return Path(split_dir)
    for candidate in (root, *(root / n for n in UCF_DIR_NAMES), *(root.parent / n for n in UCF_DIR_NAMES)):
        if (candidate / "classInd.txt").is_file():
            return candidate
    return None


def read_ucf_splits(directory: Path) -> UcfSplits:
    """Parse classInd.txt and every trainlist0N/testlist0N file present."""
    names: dict[int, str] = {}
    for number, line in enumerate((directory / "classInd.txt").read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f"{directory / 'classInd.txt'} line {number}: expected '<index> <ClassName>'")
        names[int(parts[0])] = parts[1]
    if sorted(names) != list(range(1, len(names) + 1)):
        raise ValueError(f"{directory / 'classInd.txt'}: class indices must run 1..N")
    splits = UcfSplits(directory, [names[i] for i in sorted(names)])
    for index in UCF_SPLITS:
        for kind in ("train", "test"):
            path = directory / f"{kind}list{index:02d}.txt"
            if not path.is_file():
                continue
            tag = f"{kind}{index}"
            entries = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
            splits.listed[tag] = entries
            for entry in entries:
                splits.tags.setdefault(video_key(entry), set()).add(tag)
    return splits


@dataclass(frozen=True)
class KineticsRow:
    label: str
    name: str  # file stem: <youtube_id>_<start:06d>_<end:06d>
    split: str


def read_kinetics_csv(path: Path) -> list[KineticsRow]:
    """Rows of a Kinetics annotation CSV (``split`` column optional)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} does not exist")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in KINETICS_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            expected = ",".join(KINETICS_COLUMNS)
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected {expected},split")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                start, end = int(float(row["time_start"])), int(float(row["time_end"]))
            except ValueError:
                raise ValueError(f"{path} line {line}: time_start/time_end must be numbers") from None
            name = f"{row['youtube_id']}_{start:06d}_{end:06d}"
            rows.append(KineticsRow(row["label"].strip(), name, (row.get("split") or "").strip()))
    return rows


def select_split(tags: Sequence[Sequence[str]], split: str, split_index: int = 1) -> list[int]:
    """Indices of the videos in ``split`` ("all", or a tag such as "train" with UCF-101 split ``split_index``).

    Sources without split information (no video has a tag) are wholly selected whatever ``split`` says.
    """
    if split == "all" or not any(tags):
        return list(range(len(tags)))
    wanted = {split, f"{split}{split_index}"}
    return [i for i, t in enumerate(tags) if wanted & set(t)]
