"""Example context clips for a shipped robot DVD-GAN-FP model: a 16-frame window (the evaluation's seed) of each
of the first N test sequences of the robot benchmark, as ``dvdgan export --contexts`` takes them (uint8
``[N, T, H, W, 3]``).

    python experiments/robot_contexts.py data/robot/test contexts.npz [--n 8] [--frames 16]
"""

from __future__ import annotations

import argparse

import numpy as np

from dvdgan.config import DataConfig
from dvdgan.data import build_dataset


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("test", help="the robot benchmark's test store (prepared)")
    p.add_argument("out", help="the .npz to write")
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    args = p.parse_args()
    data = build_dataset(DataConfig(source=f"prepared:{args.test}"), args.frames, args.size, seed=1)
    clips = np.stack([np.asarray(data[i][0]) for i in range(args.n)])
    np.savez_compressed(args.out, videos=clips)
    print(f"wrote {args.out}: {list(clips.shape)} uint8")


if __name__ == "__main__":
    main()
