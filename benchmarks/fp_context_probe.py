"""How quickly can a DVD-GAN-FP generator learn to use its context at all? A diagnostic, not a training recipe.

Trains only G, by L1 regression of its P predicted frames onto the real future, and reports on held-out clips the
L1 error on the object's pixels of the prediction from the clip's own context against that of a prediction from
another clip's context. A generator that ignores the context scores the same on both; the gap measures how much
of the future it reads from the context. If G cannot open that gap under direct supervision, the adversarial loss
(a much weaker signal) will not open it in the same number of steps.

    python benchmarks/fp_context_probe.py --steps 800
    python benchmarks/fp_context_probe.py --steps 800 --set model.generator.z_scale=0.3
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from dvdgan.config import load_preset
from dvdgan.data import build_dataset
from dvdgan.models import Generator
from dvdgan.video import uint8_to_video


def _clips(dataset, indices) -> torch.Tensor:
    return uint8_to_video(torch.stack([dataset[int(i)][0] for i in indices]))


def _object_l1(pred: torch.Tensor, future: torch.Tensor) -> float:
    """Mean |pred - future| over the pixels where the real future shows the object (not the black background)."""
    mask = (future > -0.9).any(dim=2, keepdim=True).expand_as(future)
    return (pred - future).abs()[mask].mean().item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny-fp")
    p.add_argument("--set", dest="sets", action="append", default=[])
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--every", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    cfg = load_preset(args.preset).override(args.sets)
    m = cfg.model
    if m.context_frames == 0:
        raise SystemExit(f"preset {args.preset!r} has no context frames (model.context_frames=0)")
    torch.manual_seed(args.seed)
    G = Generator(m)
    opt = torch.optim.Adam(G.parameters(), args.lr, betas=(0.5, 0.999))
    train_set = build_dataset(cfg.data, m.num_frames, m.resolution, seed=args.seed)
    held_out = build_dataset(cfg.data, m.num_frames, m.resolution, seed=args.seed + 1)
    test = _clips(held_out, range(64))
    c = m.context_frames
    rng = np.random.default_rng(args.seed)
    black = _object_l1(torch.full_like(test[:, c:], -1.0), test[:, c:])
    print(f"{args.preset} {' '.join(args.sets)}: G trained by L1 on the real future, lr {args.lr}, batch {args.batch}")
    print(f"object L1 of an all-black prediction: {black:.3f}")
    print("| step | object L1, own context | object L1, another clip's context | gap |")
    print("|---:|---:|---:|---:|")
    for step in range(args.steps + 1):
        if step % args.every == 0:
            G.eval()
            with torch.no_grad():
                pred = G(G.sample_z(len(test)), None, context=test[:, :c])
            G.train()
            own, other = _object_l1(pred, test[:, c:]), _object_l1(pred.roll(1, 0), test[:, c:])
            print(f"| {step} | {own:.3f} | {other:.3f} | {other - own:+.3f} |", flush=True)
        clips = _clips(train_set, rng.integers(0, len(train_set), args.batch))
        loss = (G(G.sample_z(args.batch), None, context=clips[:, :c]) - clips[:, c:]).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


if __name__ == "__main__":
    main()
