"""How much G's output depends on the number of clips its batch norm sees (the BN batch).

With cross-replica BN the BN batch is ``train.micro_batch x world size``; the paper's is the whole batch (512).
For one fixed set of z and labels this prints, per BN batch m, the mean absolute difference between G's output
when the clips are normalised in groups of m and when all of them are normalised together (the reference), as a
share of the output's standard deviation. Batch statistics throughout, as in training; no weights change.

    python benchmarks/bn_batch.py                                     # 12x64x64 at ch 8, initial weights
    python benchmarks/bn_batch.py --checkpoint RUN/checkpoints/ckpt-00001200.pt   # a trained G (its live G)
"""

from __future__ import annotations

import argparse

import torch

from dvdgan.config import load_preset
from dvdgan.models import Generator
from dvdgan.models.layers import batch_statistics
from dvdgan.training.checkpoint import load_checkpoint


def build(args: argparse.Namespace) -> tuple[Generator, str]:
    if args.checkpoint:
        ckpt = load_checkpoint(args.checkpoint, networks=("G",))
        return ckpt.G, f"trained G of {args.checkpoint} (step {ckpt.step})"
    cfg = load_preset(args.preset).override(args.set)
    torch.manual_seed(0)
    return Generator(cfg.model), f"{args.preset} {' '.join(args.set)}, initial weights"


@torch.no_grad()
def outputs(G: Generator, z: torch.Tensor, y: torch.Tensor | None, group: int) -> torch.Tensor:
    parts = []
    for i in range(0, len(z), group):
        parts.append(G(z[i : i + group], y[i : i + group] if y is not None else None))
    return torch.cat(parts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="kinetics600-12x64")
    p.add_argument("--set", nargs="*", default=["model.generator.ch=8", "model.num_classes=9"])
    p.add_argument("--checkpoint", default=None, help="measure this checkpoint's G instead")
    p.add_argument("--clips", type=int, default=128, help="clips normalised together in the reference")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    G, what = build(args)
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(args.clips, G.z_dim, generator=gen)
    y = torch.randint(G.num_classes, (args.clips,), generator=gen) if G.num_classes else None
    with batch_statistics(G):
        reference = outputs(G, z, y, args.clips)
        std = reference.std().item()
        print(f"{what}; {args.clips} clips of {G.num_frames} x {G.resolution} x {G.resolution}, output std "
              f"{std:.3f}\n")
        print("| BN batch | mean abs difference to one batch of all clips | share of the output std |")
        print("|---:|---:|---:|")
        group = 1
        while group < args.clips:
            diff = (outputs(G, z, y, group) - reference).abs().mean().item()
            print(f"| {group} | {diff:.4f} | {100 * diff / std:.1f}% |", flush=True)
            group *= 2


if __name__ == "__main__":
    main()
