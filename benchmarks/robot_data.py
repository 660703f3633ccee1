"""Write the BAIR-like robot-pushing benchmark (dvdgan/data/robot.py, docs/robot.md) and time it.

    python benchmarks/robot_data.py --out data/robot [--train 2000] [--test 256] [--size 64] [--frames 30]
        [--workers 2] [--seed 0] [--grid docs/results/robot-data.png]

Writes the prepared stores OUT/train and OUT/test (train with `dvdgan train --data prepared:OUT/train`), then
prints the throughput (frames/s, on which CPU), the share of sequences in which the arm moved an object by more
than 1 cm, and, with --grid, saves a picture of the first test sequences (rows) at evenly spaced time steps
(columns), enlarged with nearest-neighbour sampling. Needs `pip install "dvdgan[robot]"`.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from dvdgan.data import PreparedStore
from dvdgan.data.robot import RobotOptions, RobotSummary, write_robot_store


def cpu_name() -> str:
    """``lscpu``'s model name (what docs/benchmarks.md names), else whatever platform knows."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    names = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")]
    return names[0] if names else platform.machine()


def contact_sheet(store: PreparedStore, rows: int, cols: int, scale: int, gap: int = 2) -> Image.Image:
    """Sequences 0..rows-1 of ``store`` as rows, ``cols`` evenly spaced frames each, on a white grid."""
    size, length = store.size, store.length(0)
    steps = np.linspace(0, length - 1, cols).round().astype(int)
    cell = size + gap
    sheet = np.full((rows * cell - gap, cols * cell - gap, 3), 255, np.uint8)
    for r in range(min(rows, len(store))):
        for c, frame in enumerate(store.read(r, steps)):
            sheet[r * cell : r * cell + size, c * cell : c * cell + size] = frame
    image = Image.fromarray(sheet)
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST)


def report(name: str, summary: RobotSummary) -> None:
    if summary.already_complete:
        print(f"{name}: {summary.out} already complete ({summary.videos} sequences); not timed")
        return
    print(f"{name}: {summary.videos} sequences, {summary.frames:,} frames in {summary.seconds:.1f} s = "
          f"{summary.frames / summary.seconds:.1f} frames/s; an object moved > 1 cm in "
          f"{summary.moved_fraction:.1%} of sequences ({summary.mean_moved_objects:.2f} objects on average)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory that receives train/ and test/")
    parser.add_argument("--train", type=int, default=2000, help="training sequences")
    parser.add_argument("--test", type=int, default=256, help="test sequences")
    parser.add_argument("--size", type=int, default=64, help="frames are SIZE x SIZE")
    parser.add_argument("--frames", type=int, default=30, help="frames per sequence (10 fps)")
    parser.add_argument("--workers", type=int, default=2, help="rendering processes")
    parser.add_argument("--seed", type=int, default=0, help="train and test draw disjoint streams from it")
    parser.add_argument("--overwrite", action="store_true", help="replace stores made with other settings")
    parser.add_argument("--grid", type=Path, help="also save a picture of the first test sequences here")
    parser.add_argument("--grid-rows", type=int, default=4)
    parser.add_argument("--grid-cols", type=int, default=8)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args()
    try:
        options = RobotOptions(size=args.size, frames=args.frames)
        summaries = {split: write_robot_store(Path(args.out) / split, split, count, seed=args.seed, options=options,
                                              workers=args.workers, overwrite=args.overwrite,
                                              progress=not args.quiet)
                     for split, count in (("train", args.train), ("test", args.test)) if count > 0}
    except (ImportError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"robot benchmark, {args.size}x{args.size}, {args.frames} frames; {args.workers} worker(s) on "
          f"{cpu_name()} (Python {sys.version.split()[0]})")
    for split, summary in summaries.items():
        report(split, summary)
    if args.grid:
        store = PreparedStore(summaries["test" if "test" in summaries else "train"].out)
        args.grid.parent.mkdir(parents=True, exist_ok=True)
        contact_sheet(store, args.grid_rows, args.grid_cols, scale=max(1, 192 // args.size)).save(args.grid)
        print(f"grid: {args.grid}")
    print(f"train with: dvdgan train --data prepared:{Path(args.out) / 'train'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
