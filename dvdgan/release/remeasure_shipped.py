"""Re-measure the shipped models with the current metrics and restate each model card's Metrics section.

    python -m dvdgan.release.remeasure_shipped [--n 450] [NAME ...]

Synthesis models get ``class_acc`` (the strict judge), ``travel`` and ``motion``; DVD-GAN-FP models ``class_acc``
and ``continuation``; each on ``--n`` fresh clips of G_ema. The card says what was measured and how. A release
tool for maintainers, not part of the library's API.
"""

from __future__ import annotations

import argparse

import torch

from dvdgan.data import build_dataset
from dvdgan.release import load_pretrained
from dvdgan.release.card import restate_metrics
from dvdgan.release.shipped import list_pretrained, shipped_path
from dvdgan.training.evaluate import evaluate_generator


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m dvdgan.release.remeasure_shipped", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=450, help="generated clips per model")
    p.add_argument("names", nargs="*", help="shipped models (default: all)")
    args = p.parse_args()
    for name in args.names or list_pretrained():
        exported = load_pretrained(f"pretrained:{name}")
        cfg = exported.config
        data = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + 1)
        metrics = ["class_acc", "continuation"] if cfg.model.context_frames else ["class_acc", "travel", "motion"]
        result = evaluate_generator(exported.G_ema, cfg, data, torch.device("cpu"), metrics=metrics,
                                    num_samples=args.n)
        origin = (f"Measured at step {exported.step} with `dvdgan eval pretrained:{name} --metrics "
                  f"{','.join(metrics)} --num-samples {args.n}` (the strict judge of the built-in data):")
        card = shipped_path(name) / "README.md"
        card.write_text(restate_metrics(card.read_text(), result, origin))
        print(f"{name}: class_acc {result['class_acc']:.3f}; card restated")


if __name__ == "__main__":
    main()
