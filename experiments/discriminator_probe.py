"""Can a discriminator's architecture see the class of a clip? Train it as a plain classifier on real clips.

The projection head is replaced by a linear classifier on the same features (summed over frames); everything else
is the D_T (or D_S) of the given config. ``--head projection`` classifies as ``train.extra_terms.class_loss`` does in
the GAN instead: per-frame logits ``<sn_embed(c), h>`` through a spectrally normalised embedding, scaled by
``1 / --temperature``, cross-entropy per frame. Held-out accuracy after N steps says whether that discriminator *can*
teach the class at all: on ``motion`` the class exists only in time, so D_S should stay at chance (1/8) and D_T
should not. Prints one Markdown row per evaluation.

    python experiments/discriminator_probe.py --which temporal --set model.discriminator.ch=8
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from dvdgan.config import resolve_config
from dvdgan.data import build_dataset
from dvdgan.models.discriminator import SpatialDiscriminator, TemporalDiscriminator
from dvdgan.models.layers import sn_embedding
from dvdgan.video import uint8_to_video


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--data", default="motion")
    p.add_argument("--which", choices=["spatial", "temporal"], default="temporal")
    p.add_argument("--set", dest="sets", action="append", default=[])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--held-out", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--head", choices=["linear", "projection"], default="linear")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--evals", type=int, default=4, help="held-out evaluations over the run")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    unconditional = ["model.num_classes=0", "train.extra_terms.class_loss=0"]  # the probe's own linear head classifies
    cfg = resolve_config(args.preset, overrides=[f"data.source={args.data}", *unconditional, *args.sets])
    m = cfg.model
    D = (TemporalDiscriminator if args.which == "temporal" else SpatialDiscriminator)(m)
    train_set = build_dataset(cfg.data, m.num_frames, m.resolution, seed=args.seed)
    test_set = build_dataset(cfg.data, m.num_frames, m.resolution, seed=args.seed + 1000)
    width, k = D.head.linear.in_features, train_set.num_classes
    embed = sn_embedding(k, width)
    linear = torch.nn.Linear(width, k)

    def logits(video: torch.Tensor) -> torch.Tensor:
        """``[B, positions, classes]``: one position (frames summed) for the linear head, every frame else."""
        h = features(video)
        if args.head == "linear":
            return linear(h.sum(dim=1, keepdim=True))
        return h @ embed.weight.t() / args.temperature

    def features(video: torch.Tensor) -> torch.Tensor:
        seen = {}

        def keep_input(module, inputs, output) -> None:  # returns None: the output stays as it is
            seen["h"] = inputs[0]

        hook = D.head.register_forward_hook(keep_input)
        D(video, None)
        hook.remove()
        h = torch.relu(seen["h"]).sum(dim=(2, 3))  # what the projection head reads, per frame
        return h.view(video.shape[0], -1, h.shape[1])

    def batch(data, indices) -> tuple[torch.Tensor, torch.Tensor]:
        items = [data[int(i)] for i in indices]
        return uint8_to_video(torch.stack([c for c, _ in items])), torch.tensor([label for _, label in items])

    test_x, test_y = batch(test_set, range(args.held_out))
    head = linear if args.head == "linear" else embed
    params = list(D.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.5, 0.999))
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    print(f"`{args.which}` D, {' '.join(args.sets) or 'preset defaults'}, data {args.data}, "
          f"{args.head} head, temperature {args.temperature}\n")
    print("| step | held-out accuracy | training cross-entropy (mean since the last row) | seconds |")
    print("|---:|---:|---:|---:|")
    losses = []
    for step in range(1, args.steps + 1):
        x, y = batch(train_set, rng.integers(0, len(train_set), args.batch))
        out = logits(x)
        loss = F.cross_entropy(out.flatten(0, 1), y.repeat_interleave(out.shape[1]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % max(1, args.steps // args.evals) == 0:
            with torch.no_grad():
                acc = (logits(test_x).sum(dim=1).argmax(1) == test_y).float().mean().item()
            print(f"| {step} | {acc:.3f} | {np.mean(losses):.3f} | {time.perf_counter() - start:.0f} |", flush=True)
            losses.clear()
    with torch.no_grad():
        predicted = logits(test_x).sum(dim=1).argmax(1)
    table = np.zeros((k, k), int)
    np.add.at(table, (test_y.numpy(), predicted.numpy()), 1)
    print("\nheld-out confusion at the last step (rows: true class, columns: predicted)\n")
    print("| class | " + " | ".join(map(str, range(k))) + " |")
    print("|---:|" + "---:|" * k)
    for c in range(k):
        print(f"| {c} | " + " | ".join(map(str, table[c])) + " |")


if __name__ == "__main__":
    main()
