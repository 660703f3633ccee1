"""Is a run's discriminator alive? The share of positive pre-activations at every block's input and at each head.

BigGAN's head sums ReLU(h) over space, so when almost every unit before it is negative the score is a constant
and the discriminator teaches the generator nothing. Prints one row per block of D_S and D_T (on held-out real
clips) and the mean and spread of each discriminator's scores.

    python experiments/discriminator_liveness.py runs/00000-tiny/checkpoints/ckpt-00000500.pt
"""

from __future__ import annotations

import argparse

import torch
from _held_out import discriminator_and_clips


def _stages(D: torch.nn.Module) -> dict[str, list[torch.nn.Module]]:
    stages = {}
    if D.spatial is not None:
        stages["D_S"] = [*D.spatial.trunk.blocks, D.spatial.head]
    if D.temporal is not None:
        stages["D_T"] = [*D.temporal.blocks3d, *D.temporal.blocks2d, D.temporal.head]
    return stages


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="run directory or checkpoint")
    p.add_argument("--clips", type=int, default=64)
    args = p.parse_args()
    torch.manual_seed(0)
    ckpt, real, y = discriminator_and_clips(args.checkpoint, args.clips, seed_offset=1000)
    D = ckpt.D
    rows: list[tuple[str, str, float]] = []
    for name, modules in _stages(D).items():
        for i, module in enumerate(modules):
            where = "head" if i == len(modules) - 1 else f"block {i}"
            def hook(_m, inputs, name=name, where=where) -> None:
                rows.append((name, where, (inputs[0] > 0).float().mean().item()))

            module.register_forward_pre_hook(hook)
    scores = D(real, y)
    print(f"`{args.checkpoint}`, {args.clips} held-out real clips\n")
    print("| discriminator | input of | share > 0 |\n|---|---|---:|")
    for name, where, live in rows:
        if where != "block 0":  # block 0's input is the video itself
            print(f"| {name} | {where} | {live:.3f} |")
    print("\n| discriminator | score mean | score std |\n|---|---:|---:|")
    for key, s in scores.items():
        print(f"| {'D_S' if key == 'spatial' else 'D_T'} | {s.mean().item():.3f} | {s.std().item():.3f} |")


if __name__ == "__main__":
    main()
