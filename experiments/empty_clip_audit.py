"""How much did the old class rule's reading of empty clips as class 0 add? For each run's newest checkpoint,
G_ema's samples are classified once; accuracy is given with an empty clip as no class (the rule now) and as
class 0 (the rule before), with the count of empty clips.

    python experiments/empty_clip_audit.py RUN [RUN ...] [--per-class 20]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from dvdgan.data import build_dataset
from dvdgan.data.procedural import NO_CLASS
from dvdgan.training.checkpoint import load_checkpoint
from dvdgan.video import video_to_uint8


@torch.no_grad()
def audit(run: Path, per_class: int, seed: int) -> tuple[str, float, float, int, float, float]:
    ckpt = load_checkpoint(run)
    cfg, G = ckpt.config, ckpt.G_ema.eval()
    data = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + 1)
    y = torch.arange(cfg.model.num_classes).repeat_interleave(per_class)
    video = torch.cat([G(G.sample_z(len(part), torch.Generator().manual_seed(seed + i)), part)
                       for i, part in enumerate(y.split(64))])
    pred = data.classify(video_to_uint8(video).numpy())
    y = y.numpy()
    before = np.where(pred == NO_CLASS, 0, pred)
    first = y == 0
    return (str(ckpt.step), float((pred == y).mean()), float((before == y).mean()), int((pred == NO_CLASS).sum()),
            float((pred[first] == 0).mean()), float((before[first] == 0).mean()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--per-class", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    print("| run | step | class accuracy (empty = no class) | (empty = class 0, before) | empty clips "
          "| class 0 now | class 0 before |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for run in args.runs:
        step, now, before, empty, c0, c0_before = audit(run, args.per_class, args.seed)
        print(f"| {run.name} | {step} | {now:.3f} | {before:.3f} | {empty} | {c0:.2f} | {c0_before:.2f} |", flush=True)


if __name__ == "__main__":
    main()
