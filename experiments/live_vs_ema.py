"""Class accuracy of the live generator against G_ema at each checkpoint of a run (is the EMA blurring classes?).

    python experiments/live_vs_ema.py RUN [RUN ...] [--samples 270]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from dvdgan.data import build_dataset
from dvdgan.training.checkpoint import list_checkpoints, load_checkpoint
from dvdgan.training.evaluate import evaluate_generator


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--samples", type=int, default=270)
    args = p.parse_args()
    torch.set_num_threads(1)
    print("| run | checkpoint | live G | G_ema |")
    print("|---|---|---:|---:|")
    for run in args.runs:
        for path in list_checkpoints(run):
            ckpt = load_checkpoint(path, networks=("G", "G_ema"))
            cfg = ckpt.config
            data = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=123)
            acc = [evaluate_generator(G.eval(), cfg, data, torch.device("cpu"), metrics=["class_acc"],
                                      num_samples=args.samples)["class_acc"] for G in (ckpt.G, ckpt.G_ema)]
            print(f"| {run.name} | {path.name} | {acc[0]:.3f} | {acc[1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
