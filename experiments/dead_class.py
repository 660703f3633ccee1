"""Why is a class empty? Per class, in the trained (not EMA) G on a mixed batch in training mode: the head CBN's
class-conditional bias, the share of head units that are positive (alive through ReLU), D's scores of the
class's clips, and the G-loss gradient that reaches the pixels. Prints one Markdown row per class.

With ``--escape N`` it then fine-tunes a copy of G for N steps against the frozen D (G's loss and optimiser
settings of the run) and prints the class accuracy of ``--dead`` every 50 steps: can G leave the empty clip
when only G moves? (docs/results.md section 14)

    python experiments/dead_class.py RUN/checkpoints/ckpt-00002000.pt [--escape 300 --dead 8]
"""

from __future__ import annotations

import argparse

import torch

from dvdgan.data import build_dataset
from dvdgan.losses import class_loss, g_hinge_loss
from dvdgan.training.checkpoint import load_checkpoint
from dvdgan.video import video_to_uint8


def per_class_table(G, D, per_class: int, seed: int) -> None:
    k = G.num_classes
    y = torch.arange(k).repeat(per_class)
    z = G.sample_z(len(y), torch.Generator().manual_seed(seed))
    seen = {}
    G.head_bn.register_forward_hook(lambda module, inputs, output: seen.__setitem__("head", output))
    video = G(z, y)
    video.retain_grad()
    scores = D(video, y)
    g_hinge_loss(scores)[0].backward()
    scores = {name: s.detach() for name, s in scores.items()}
    with torch.no_grad():
        bias = G.head_bn.bias(G.make_cond(z, y))
    head = seen["head"].detach().unflatten(0, (len(y), G.num_frames))
    print("| class | head CBN bias, mean | share of bias < -1 | head units alive | D_S score | D_T score "
          "| mean abs dL_G/dpixel |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for c in range(k):
        m = y == c
        print(f"| {c} | {float(bias[m].mean()):.2f} | {float((bias[m] < -1).float().mean()):.2f} "
              f"| {float((head[m] > 0).float().mean()):.2f} | {float(scores['spatial'][m].mean()):.1f} "
              f"| {float(scores['temporal'][m].mean()):.1f} | {float(video.grad[m].abs().mean()):.1e} |")


def escape(ckpt, dead: int, steps: int, per_class: int, seed: int) -> None:
    G, D, cfg = ckpt.G, ckpt.D, ckpt.config
    D.requires_grad_(False)
    t = cfg.train
    opt = torch.optim.Adam(G.parameters(), lr=t.lr_g, betas=tuple(t.betas), eps=t.adam_eps)
    data = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution)
    probe = torch.Generator().manual_seed(seed + 1)
    print(f"\nfrozen D, {steps} G steps: accuracy of class {dead} (of {per_class} clips) and its D_S score")
    for step in range(steps + 1):
        if step % 50 == 0:
            with torch.no_grad():
                y = torch.arange(G.num_classes).repeat(per_class)
                video = G(G.sample_z(len(y), probe), y)
                read = torch.from_numpy(data.classify(video_to_uint8(video).numpy()))
                d_s = D(video, y)["spatial"][y == dead].mean()
            print(f"step {step}: {float((read[y == dead] == dead).float().mean()):.2f}, D_S {float(d_s):.1f}")
        y = torch.randint(G.num_classes, (t.batch_size,))
        scores, logits = D(G(G.sample_z(len(y)), y), y, class_logits=True)
        loss = g_hinge_loss(scores)[0]
        if t.extra_terms.g_class_loss:
            loss = loss + class_loss(logits, y, t.extra_terms.g_class_loss, "g", t.extra_terms.class_loss_g_cap)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="run directory or full checkpoint (needs G and D)")
    p.add_argument("--per-class", type=int, default=8, help="clips per class")
    p.add_argument("--escape", type=int, default=0, help="G steps against the frozen D (0: skip)")
    p.add_argument("--dead", type=int, default=0, help="the class to follow with --escape")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    ckpt = load_checkpoint(args.checkpoint, networks=("G", "D"))
    ckpt.G.train(), ckpt.D.train()
    per_class_table(ckpt.G, ckpt.D, args.per_class, args.seed)
    if args.escape:
        escape(ckpt, args.dead, args.escape, args.per_class, args.seed)


if __name__ == "__main__":
    main()
