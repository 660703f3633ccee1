"""Does a trained D_T care whether a video moves? Score real clips and still or reversed copies of them.

Loads a run's discriminator and prints the mean D_S and D_T scores of held-out real clips, of the same clips with
one frame repeated (still), frozen after their second frame, played backwards, and under a wrong label. A D_T
that teaches motion scores the still copies clearly below the real clips.

    python experiments/temporal_check.py runs/00000-tiny-motion
"""

from __future__ import annotations

import argparse

import torch
from _held_out import discriminator_and_clips


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run directory or checkpoint")
    p.add_argument("--clips", type=int, default=128)
    args = p.parse_args()
    torch.set_num_threads(1)
    ckpt, x, y = discriminator_and_clips(args.run, args.clips, seed_offset=7)
    cfg, D = ckpt.config, ckpt.D
    m = cfg.model
    t = x.shape[1]
    cases = {
        "real": (x, y),
        "still (first frame repeated)": (x[:, :1].expand_as(x), y),
        "frozen after frame 1": (torch.cat([x[:, :2], x[:, 1:2].expand(-1, t - 2, -1, -1, -1)], 1), y),
        "played backwards": (x.flip(1), y),
    }
    if y is not None:
        cases["wrong label"] = (x, (y + 1) % m.num_classes)
    print(f"`{ckpt.path.name}` of a `{m.num_frames}x{m.resolution}x{m.resolution}` run on `{cfg.data.source}` "
          f"(step {ckpt.step}), {args.clips} held-out clips\n")
    print("| clips | D_S | D_T |")
    print("|---|---:|---:|")
    for name, (video, labels) in cases.items():
        scores = D(video.contiguous(), labels)
        cells = [f"{scores[k].mean().item():.2f}" if k in scores else "-" for k in ("spatial", "temporal")]
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
