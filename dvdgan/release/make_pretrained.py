"""Make a shipped model: export a trained run into ``dvdgan/pretrained/<name>/`` with its model card, and write the
card's sample GIF to ``dvdgan/pretrained/<name>/samples.gif`` (beside the card, so that it shows on the Hub and in an
installed package too) with the command users will run (``dvdgan sample
pretrained:<name>``), so the GIF shows what a fresh install gives.

    python -m dvdgan.release.make_pretrained RUN NAME --command "dvdgan train --preset tiny --steps 2000"

DVD-GAN-FP models (``model.context_frames > 0``) of built-in data continue held-out clips of that data, which is
what ``dvdgan sample`` does without ``--context``. A release tool for maintainers, not part of the library's API.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from dvdgan.release import shipped
from dvdgan.release.export import export_checkpoint


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m dvdgan.release.make_pretrained", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run directory (its newest checkpoint) or checkpoint file")
    p.add_argument("name", help="the shipped model's name, e.g. tiny-shapes")
    p.add_argument("--command", required=True, help="the command that trained the run, for the model card")
    p.add_argument("--n", type=int, default=4, help="samples per row of the GIF")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--contexts", default=None,
                   help="DVD-GAN-FP of footage (not built-in data): .npy/.npz clips the card's GIF continues")
    p.add_argument("--fp16", action="store_true", help="store the weights as float16 (half the wheel's share)")
    return p.parse_args(argv)


def make_pretrained(run: str | Path, name: str, command: str, n: int = 4, seed: int = 0,
                    contexts: np.ndarray | None = None, fp16: bool = False) -> int:
    """Export ``run`` as the shipped model ``name`` (with example ``contexts`` for a DVD-GAN-FP model of footage;
    float16 weights with ``fp16``) and draw its card's GIF with ``dvdgan sample``; the exit status of that command
    (0 on success)."""
    from dvdgan.cli import main as dvdgan_main  # the user's own command draws the GIF (cli sits above release)

    out = shipped.PRETRAINED_DIR / name
    gif = out / "samples.gif"
    gif.unlink(missing_ok=True)  # drawn again below; the export refuses a folder holding files not its own
    export_checkpoint(run, out, name=name, command=command, gif=gif.name, reference=f"pretrained:{name}",
                      contexts=contexts, dtype=torch.float16 if fp16 else torch.float32)
    status = dvdgan_main(["sample", f"pretrained:{name}", "--out", str(gif), "--n", str(n), "--seed", str(seed)])
    if status:
        return status
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"shipped {name}: {out} ({size / 2**20:.1f} MB), sample GIF {gif}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    contexts = None
    if args.contexts:
        from dvdgan.data.arrays import load_array_file

        contexts = np.asarray(load_array_file(Path(args.contexts))[0])
    return make_pretrained(args.run, args.name, args.command, args.n, args.seed, contexts, args.fp16)


if __name__ == "__main__":
    sys.exit(main())
