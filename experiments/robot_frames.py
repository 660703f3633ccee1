"""Frames to look at next to real clips (docs/results.md, the robot section): the first clips of sample grids
(``RUN/samples/samples-STEP.gif`` or ``reals.gif``, cells of 64 px with 2-px gaps), one row per clip, a few of
its frames across, each block labelled on the left.

    python experiments/robot_frames.py --grid real=runs/robot/cpu/samples/reals.gif \\
        --grid cpu=runs/robot/cpu/samples/samples-00000500.gif --clips 2 --frames 0 5 10 15 --out frames.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

LABEL_W = 70


def grid_frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.array(gif.convert("RGB")))
    return frames


def cell(frame: np.ndarray, index: int, size: int, gap: int) -> np.ndarray:
    """Clip ``index`` of a grid, counted row by row."""
    per_row = (frame.shape[1] - gap) // (size + gap)
    r, c = divmod(index, per_row)
    y, x = gap + r * (size + gap), gap + c * (size + gap)
    return frame[y : y + size, x : x + size]


def block(label: str, path: Path, clips: int, frames: list[int], size: int, gap: int) -> Image.Image:
    video = grid_frames(path)
    if max(frames) >= len(video):
        raise SystemExit(f"{path}: has {len(video)} frames, asked for frame {max(frames)}")
    rows = [np.concatenate([np.pad(cell(video[t], i, size, gap), ((1, 1), (1, 1), (0, 0)), constant_values=255)
                            for t in frames], axis=1) for i in range(clips)]
    image = Image.new("RGB", (LABEL_W + rows[0].shape[1], sum(r.shape[0] for r in rows)), "white")
    for i, row in enumerate(rows):
        image.paste(Image.fromarray(row), (LABEL_W, i * row.shape[0]))
    ImageDraw.Draw(image).text((4, 4), label, fill="black")
    return image


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--grid", action="append", required=True, metavar="LABEL=GIF")
    p.add_argument("--clips", type=int, default=2, help="clips per grid (the grid's first cells)")
    p.add_argument("--frames", type=int, nargs="+", default=[0, 5, 10, 15])
    p.add_argument("--size", type=int, default=64, help="cell size of the grids")
    p.add_argument("--gap", type=int, default=2)
    p.add_argument("--scale", type=int, default=2)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    blocks = []
    for spec in args.grid:
        label, _, path = spec.partition("=")
        blocks.append(block(label, Path(path), args.clips, args.frames, args.size, args.gap))
    sheet = Image.new("RGB", (max(b.width for b in blocks), sum(b.height + 6 for b in blocks)), "white")
    y = 0
    for b in blocks:
        sheet.paste(b, (0, y))
        y += b.height + 6
    sheet.resize((sheet.width * args.scale, sheet.height * args.scale), Image.NEAREST).save(args.out)
    print(f"wrote {args.out}: {len(blocks)} grids x {args.clips} clips, frames {args.frames}")


if __name__ == "__main__":
    main()
