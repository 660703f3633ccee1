"""Why does a class come out wrong? Two tables for a class-conditional run on built-in data.

1. **What G draws**: the confusion matrix of G_ema's samples (rows: the conditioning class, columns: the class the
   data's analytic rule reads), ``--per-class`` samples each. A class that is drawn as another one shows here.
2. **What D can tell**: each discriminator's score of held-out *real* clips of class c when told label l, averaged
   over the clips of c. D can only teach G a class it separates from the others: a row whose true label does not
   score highest means that D scores real clips of that class as well, or better, under another label, and gives
   G no reason to draw that class rather than the other one. ``--within-colour`` (``shapes``: classes
   3*shape + colour) compares only the labels of the same colour, so that it asks whether D sees the shape.

    python experiments/class_diagnosis.py RUN [--per-class 30] [--clips 360] [--within-colour]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _held_out import discriminator_and_clips

from dvdgan.data import build_dataset
from dvdgan.training.checkpoint import load_checkpoint
from dvdgan.video import video_to_uint8


def confusion(run: str, per_class: int, seed: int) -> np.ndarray:
    ckpt = load_checkpoint(run)
    cfg, G = ckpt.config, ckpt.G_ema
    data = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + 1)
    k = cfg.model.num_classes
    y = torch.arange(k).repeat_interleave(per_class)
    with torch.no_grad():
        video = G(G.sample_z(len(y), torch.Generator().manual_seed(seed)), y)
    predicted = data.classify(video_to_uint8(video).numpy())
    table = np.zeros((k, k + 1), np.int64)  # the last column: no object found (the rule's -1)
    np.add.at(table, (y.numpy(), np.asarray(predicted)), 1)  # -1 indexes the last column
    return table


@torch.no_grad()
def label_scores(run: str, clips: int) -> dict[str, np.ndarray]:
    """``{discriminator: [true class, label] mean score}`` on held-out real clips."""
    ckpt, real, y = discriminator_and_clips(run, clips, seed_offset=1000)
    k = ckpt.config.model.num_classes
    tables: dict[str, np.ndarray] = {}
    for label in range(k):
        for name, score in ckpt.D(real, torch.full_like(y, label)).items():
            table = tables.setdefault(name, np.full((k, k), np.nan))
            for c in range(k):
                if (y == c).any():
                    table[c, label] = score[y == c].mean().item()
    return tables


def print_table(title: str, table: np.ndarray, fmt: str) -> None:
    k, columns = table.shape
    print(f"\n{title}\n")
    print("| class | " + " | ".join(str(c) if c < k else "none" for c in range(columns)) + " |")
    print("|---:|" + "---:|" * columns)
    for c in range(k):
        print(f"| {c} | " + " | ".join(format(v, fmt) for v in table[c]) + " |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run directory or checkpoint")
    p.add_argument("--per-class", type=int, default=30, help="G_ema samples per class")
    p.add_argument("--clips", type=int, default=360, help="held-out real clips scored by D")
    p.add_argument("--within-colour", action="store_true", help="shapes: compare labels of the same colour only")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    table = confusion(args.run, args.per_class, args.seed)
    print_table("G_ema: rows = conditioning class, columns = class read by the data's rule", table, "d")
    print(f"\naccuracy {np.trace(table[:, :-1]) / table.sum():.3f}; no object in {table[:, -1].sum()} samples")
    for name, scores in label_scores(args.run, args.clips).items():
        print_table(f"{name}: mean score of real clips of class (row) under label (column)", scores, ".2f")
        k = scores.shape[0]
        rivals = [[r for r in range(k) if r != c and (not args.within_colour or r % 3 == c % 3)] for c in range(k)]
        margin = [scores[c, c] - max(scores[c, r] for r in rivals[c]) for c in range(k)]
        print(f"\n{name}: true label's margin over the best rival label"
              f"{' of the same colour' if args.within_colour else ''}: "
              + " ".join(f"{m:+.2f}" for m in margin) + f" ({sum(m > 0 for m in margin)} of {k} positive)")


if __name__ == "__main__":
    main()
