"""How saturated is G's output tanh, per class? Percentiles of G_ema's pre-tanh values and their maximum.

A class that G has given up on (an empty, black clip) shows as a maximum below 0 over every pixel of every
sample: its output sits on tanh's flat tail, where the gradient 1 - y^2 is 0.001-0.01 (docs/results.md
section 13). Prints one Markdown row per class.

    python experiments/output_saturation.py RUN [--samples 20]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from dvdgan.training.checkpoint import load_checkpoint


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run directory or checkpoint")
    p.add_argument("--samples", type=int, default=20, help="samples per class")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    G = load_checkpoint(args.run, networks=("G_ema",)).G_ema.eval()
    seen = {}
    G.head_conv.register_forward_hook(lambda module, inputs, output: seen.__setitem__("pre", output))
    generator = torch.Generator().manual_seed(args.seed)
    print(f"`{args.run}`, {args.samples} samples per class\n")
    print("| class | pre-tanh 5% | 50% | 95% | max | share of pixels with tanh gradient < 0.01 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for c in range(max(G.num_classes, 1)):
        y = torch.full((args.samples,), c) if G.num_classes else None
        G(G.sample_z(args.samples, generator), y)
        pre = seen["pre"]
        q = np.percentile(pre.numpy(), [5, 50, 95])
        flat = float(((1 - torch.tanh(pre) ** 2) < 0.01).float().mean())
        print(f"| {c} | {q[0]:.2f} | {q[1]:.2f} | {q[2]:.2f} | {float(pre.max()):.2f} | {flat:.2f} |")


if __name__ == "__main__":
    main()
