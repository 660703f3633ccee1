"""A judge sheet: clips of a model (or real clips) with the strict judge's verdict written beside each, so that a
person can check that the judge agrees with the eye [dvdgan.data.judge].

    python experiments/judge_sheet.py pretrained:tiny-shapes docs/results/judge-tiny-shapes.png [--per-class 2]
    python experiments/judge_sheet.py real:shapes docs/results/judge-real-shapes.png

Each row: the class, the verdict ("ok" or the reason), then the clip's frames left to right (scaled 3x). For a
DVD-GAN-FP model the row is the real context followed by the prediction. Prints the strict accuracy of the drawn
clips and the share of each reason.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import torch
from PIL import Image

from dvdgan.data import build_dataset
from dvdgan.data.specs import PROCEDURAL
from dvdgan.release import load_pretrained
from dvdgan.sampling import label_column, make_filmstrip
from dvdgan.training.evaluate import _fake_clips


def model_clips(source: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, object]:
    """``n`` clips of G_ema (labels cycling over the classes, or continuing held-out clips), labels, the dataset."""
    exported = load_pretrained(source)
    cfg = exported.config
    data = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + 1)
    clips = list(_fake_clips(exported.G_ema, cfg, data, n, range(n), 64, torch.device("cpu"), seed))
    return np.stack([c for c, *_ in clips]), np.array([lab for _, lab, *_ in clips]), data


def real_clips(name: str, n: int, seed: int, frames: int, resolution: int) -> tuple[np.ndarray, np.ndarray, object]:
    data = PROCEDURAL[name](frames, resolution, seed=seed + 1000)
    return np.stack([data.clip(i) for i in range(n)]), np.arange(n) % data.num_classes, data


def sheet(clips: np.ndarray, labels: np.ndarray, verdicts: list[str | None], names: tuple[str, ...]) -> np.ndarray:
    scale, pad = 3, 2
    text = [f"{names[int(y)]}: {v or 'ok'}" for y, v in zip(labels, verdicts, strict=True)]
    strip = make_filmstrip(clips, pad=pad, scale=scale)
    column = label_column(text, clips.shape[2] * scale, pad)
    return np.concatenate([column, strip], axis=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="pretrained:NAME, an export folder, or real:shapes|motion|digits")
    p.add_argument("out", help="output .png")
    p.add_argument("--per-class", type=int, default=2, help="clips drawn per class on the sheet")
    p.add_argument("--judge-n", type=int, default=450, help="clips judged for the printed figures")
    p.add_argument("--frames", type=int, default=8, help="real:NAME only")
    p.add_argument("--resolution", type=int, default=32, help="real:NAME only")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.source.startswith("real:"):
        clips, labels, data = real_clips(args.source[5:], args.judge_n, args.seed, args.frames, args.resolution)
    else:
        clips, labels, data = model_clips(args.source, args.judge_n, args.seed)
    verdicts = data.judge(clips, labels)
    print(f"{args.source}: strict accuracy {np.mean([v is None for v in verdicts]):.3f} on {len(clips)} clips; "
          "rejected: " + ", ".join(f"{r} {n / len(clips):.1%}" for r, n in Counter(verdicts).most_common() if r))
    k = data.num_classes
    show = [i for c in range(k) for i in np.flatnonzero(labels == c)[: args.per_class]]
    image = sheet(clips[show], labels[show], [verdicts[i] for i in show], data.class_names)
    Image.fromarray(image).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
