"""Which discriminator teaches motion? Train arms of a preset on the same budget and compare them.

Each arm is a list of ``--set`` overrides on top of the preset; every arm runs for every seed, from scratch, then
G_ema is judged on held-out clips by class accuracy (on ``motion`` the class exists only in time) and by the
motion-energy ratio per time step. Prints a Markdown table, writes ``OUT/results.json`` and a filmstrip PNG per run
(a row per class, frames left to right).

    python experiments/motion_ablation.py --preset motion --steps 1500 --seeds 0 1 --out runs/ablation
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dvdgan.config import resolve_config
from dvdgan.data import build_dataset
from dvdgan.sampling import generate, make_filmstrip
from dvdgan.training.checkpoint import load_checkpoint
from dvdgan.training.evaluate import evaluate_generator
from dvdgan.training.loop import train

# The paper's ablation at small scale: both discriminators (DVD-GAN), D_S alone, D_T alone.
ARMS = {
    "DVD-GAN (D_S + D_T)": [],
    "D_S only": ["model.discriminator.parts=[spatial]"],
    "D_T only": ["model.discriminator.parts=[temporal]"],
}


def filmstrip(G, num_classes: int, path: Path, per_class: int = 2, seed: int = 5) -> None:
    """Frames of ``per_class`` samples of every class, one clip per row."""
    y = torch.arange(num_classes).repeat_interleave(per_class)
    z = torch.randn(len(y), G.z_dim, generator=torch.Generator().manual_seed(seed))
    Image.fromarray(make_filmstrip(generate(G, z, y).numpy(), scale=2)).save(path)


def run_arm(preset: str, sets: list[str], steps: int, seed: int, out: Path, samples: int) -> dict:
    cfg = resolve_config(preset, overrides=[*sets, f"train.steps={steps}", f"train.seed={seed}",
                                            "train.sample_every=0", "train.eval_every=0", "train.checkpoint_every=0"])
    start = time.perf_counter()
    result = train(cfg, out, quiet=True)
    minutes = (time.perf_counter() - start) / 60
    G = load_checkpoint(result.last_checkpoint).G_ema
    held_out = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=seed + 1000)
    metrics = evaluate_generator(G, cfg, held_out, torch.device("cpu"), metrics=["class_acc", "motion"],
                                 num_samples=samples)
    filmstrip(G, cfg.model.num_classes, out / "filmstrip.png")
    return {"seed": seed, "steps": steps, "minutes": round(minutes, 1), **metrics}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="motion")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--arms", nargs="+", default=list(ARMS), help=f"subset of {list(ARMS)}")
    p.add_argument("--samples", type=int, default=400, help="generated clips per evaluation")
    p.add_argument("--out", default="runs/motion-ablation")
    p.add_argument("--set", dest="sets", action="append", default=[], help="extra overrides for every arm")
    args = p.parse_args()
    out = Path(args.out)
    results = {}
    for arm in args.arms:
        for seed in args.seeds:
            tag = f"{arm.split()[0].replace('_', '')}-s{seed}"
            results.setdefault(arm, []).append(run_arm(args.preset, [*ARMS[arm], *args.sets], args.steps, seed,
                                                       out / tag, args.samples))
            out.mkdir(parents=True, exist_ok=True)
            (out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"`python experiments/motion_ablation.py --preset {args.preset} --steps {args.steps} "
          f"--seeds {' '.join(map(str, args.seeds))}`\n")
    print("| arm | seed | class accuracy | worst class | motion ratio min / max | minutes |")
    print("|---|---:|---:|---:|---:|---:|")
    for arm, runs in results.items():
        for r in runs:
            print(f"| {arm} | {r['seed']} | {r['class_acc']:.3f} | {r['class_acc_worst']:.2f} | "
                  f"{r['motion_ratio_min']:.2f} / {r['motion_ratio_max']:.2f} | {r['minutes']} |")
        accs = [r["class_acc"] for r in runs]
        print(f"| {arm}: mean | | {np.mean(accs):.3f} | | | |")


if __name__ == "__main__":
    main()
