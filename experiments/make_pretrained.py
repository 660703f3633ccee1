"""Make a shipped model: export a trained run into ``dvdgan/pretrained/<name>/`` with its model card, and write the
card's sample GIF to ``dvdgan/pretrained/<name>/samples.gif`` (beside the card, so that it shows on the Hub and in an
installed package too) with the command users will run (``dvdgan sample
pretrained:<name>``), so the GIF shows what a fresh install gives.

    python experiments/make_pretrained.py RUN NAME --command "dvdgan train --preset tiny --steps 2000"

DVD-GAN-FP models (``model.context_frames > 0``) of built-in data continue held-out clips of that data, which is
what ``dvdgan sample`` does without ``--context``.
"""

from __future__ import annotations

import argparse
import sys

from dvdgan.cli import main as dvdgan_main
from dvdgan.release import export_checkpoint
from dvdgan.release.shipped import PRETRAINED_DIR


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run directory (its newest checkpoint) or checkpoint file")
    p.add_argument("name", help="the shipped model's name, e.g. tiny-shapes")
    p.add_argument("--command", required=True, help="the command that trained the run, for the model card")
    p.add_argument("--n", type=int, default=4, help="samples per row of the GIF")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def main() -> int:
    args = parse_args()
    out = PRETRAINED_DIR / args.name
    gif = out / "samples.gif"
    export_checkpoint(args.run, out, name=args.name, command=args.command, gif=gif.name,
                      reference=f"pretrained:{args.name}")
    status = dvdgan_main(["sample", f"pretrained:{args.name}", "--out", str(gif), "--n", str(args.n),
                          "--seed", str(args.seed)])
    if status:
        return status
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"shipped {args.name}: {out} ({size / 2**20:.1f} MB), sample GIF {gif}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
