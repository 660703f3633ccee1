"""The strict figures of models on built-in data, one Markdown row each (docs/results.md section 15).

    python experiments/strict_table.py pretrained:tiny-shapes pretrained:tiny-motion runs/RUN ... [--n 450]

Synthesis models: strict class accuracy (the data's judge), its worst class, the three most common reasons of
rejection, the object's speed ratio range over time steps, net displacement ratio, area swing ratio, and the
motion energy ratio range (which counts deformation as motion). DVD-GAN-FP models: the judge on context +
prediction, and the continuation figures next to the repeat-last-frame baseline.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from dvdgan.data import build_dataset
from dvdgan.release import load_pretrained
from dvdgan.training.checkpoint import load_checkpoint
from dvdgan.training.evaluate import evaluate_generator


def _load(source: str):
    """G_ema, config and step of a checkpoint file or run directory, else of an export (``load_pretrained``)."""
    path = Path(source)
    if path.suffix == ".pt" or (path / "checkpoints").is_dir():
        ckpt = load_checkpoint(source)
        return ckpt.G_ema, ckpt.config, ckpt.step
    exported = load_pretrained(source)
    return exported.G_ema, exported.config, exported.step


def _reasons(m: dict) -> str:
    shares = {r: float(np.mean(v)) for r, v in m["class_acc_rejected"].items()}
    return ", ".join(f"{r} {s:.0%}" for r, s in sorted(shares.items(), key=lambda kv: -kv[1])[:3])


def row(source: str, n: int) -> str:
    G, cfg, step = _load(source)
    data = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + 1)
    fp = bool(cfg.model.context_frames)
    metrics = ["class_acc", "continuation"] if fp else ["class_acc", "travel", "motion"]
    m = evaluate_generator(G, cfg, data, torch.device("cpu"), metrics=metrics, num_samples=n)
    head = f"| {source} | {step} | {m['class_acc']:.3f} | {m['class_acc_worst']:.2f} | {_reasons(m)} |"
    if fp:
        return (head + f" {m['continuation_kept']:.3f} (repeat {m['continuation_repeat_kept']:.3f}) | "
                f"{m['continuation_track_error']:.2f} (repeat {m['continuation_repeat_track_error']:.2f}) |")
    return (head + f" {m['travel_speed_ratio_min']:.2f}-{m['travel_speed_ratio_max']:.2f} | "
            f"{m['travel_net_ratio']:.2f} | {m['travel_area_swing_ratio']:.1f} | "
            f"{m['motion_ratio_min']:.2f}-{m['motion_ratio_max']:.2f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", help="pretrained:NAME, export folders, run dirs or checkpoints")
    p.add_argument("--n", type=int, default=450, help="generated clips per model")
    args = p.parse_args()
    print("| model | step | strict accuracy | worst class | most rejected for | speed ratio | net ratio | "
          "area swing ratio | energy ratio |  (FP: kept | track error)")
    print("|---|---:|---:|---:|---|---|---:|---:|---|")
    for source in args.sources:
        print(row(source, args.n), flush=True)


if __name__ == "__main__":
    main()
