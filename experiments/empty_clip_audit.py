"""How much did the old class rule's reading of empty clips as class 0 add? For each run's newest checkpoint,
G_ema's samples are classified once (``class_diagnosis.confusion``); accuracy is given with an empty clip as no
class (the rule now) and as class 0 (the rule before), with the count of empty clips.

    python experiments/empty_clip_audit.py RUN [RUN ...] [--per-class 20]
"""

from __future__ import annotations

import argparse

import torch
from class_diagnosis import confusion

from dvdgan.training.checkpoint import load_checkpoint


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+")
    p.add_argument("--per-class", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    print("| run | step | class accuracy (empty = no class) | (empty = class 0, before) | empty clips "
          "| class 0 now | class 0 before |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for run in args.runs:
        table = confusion(run, args.per_class, args.seed)  # rows: asked-for class; last column: no object
        total, hits, empty = table.sum(), table[:, :-1].trace(), table[:, -1]
        c0_now, c0_before = table[0, 0] / table[0].sum(), (table[0, 0] + empty[0]) / table[0].sum()
        step = load_checkpoint(run).step
        print(f"| {run.rstrip('/').split('/')[-1]} | {step} | {hits / total:.3f} | {(hits + empty[0]) / total:.3f} "
              f"| {empty.sum()} | {c0_now:.2f} | {c0_before:.2f} |", flush=True)


if __name__ == "__main__":
    main()
