"""One frame of a run's in-loop sample grids at several steps, side by side: how each class's clips change over
training (the grids are ``RUN/samples/samples-STEP.gif``: one row per class, the same z at every step).

    python experiments/grid_over_steps.py RUN --steps 250 500 1000 2000 --out grid.png [--frame 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path)
    p.add_argument("--steps", type=int, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--frame", type=int, default=3, help="which frame of the clips")
    p.add_argument("--scale", type=int, default=2)
    args = p.parse_args()
    panels = []
    for step in args.steps:
        path = args.run / "samples" / f"samples-{step:08d}.gif"
        if not path.is_file():
            raise SystemExit(f"{path}: no sample grid at step {step}")
        with Image.open(path) as gif:
            gif.seek(args.frame)
            panels.append(np.array(gif.convert("RGB")))
    height = max(panel.shape[0] for panel in panels)
    gap = np.full((height, 6, 3), 255, np.uint8)
    row = np.concatenate([np.concatenate([np.pad(panel, ((0, height - panel.shape[0]), (0, 0), (0, 0)),
                                                 constant_values=255), gap], axis=1) for panel in panels], axis=1)
    image = Image.fromarray(row)
    image.resize((image.width * args.scale, image.height * args.scale), Image.NEAREST).save(args.out)
    print(f"wrote {args.out}: steps {', '.join(map(str, args.steps))}")


if __name__ == "__main__":
    main()
