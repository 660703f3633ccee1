"""The cost of cross-replica BN against plain BN for one G forward and backward, in a 1-rank process group.

One process has no process group and uses plain BN; this script opens a group of one rank (gloo on a CPU, NCCL on
a GPU) so that the cross-replica path runs, with its all-reduces, and times it against plain BN on the same G.

    python benchmarks/cross_replica_bn.py                                   # CPU, 12x64x64 at ch 8, batch 4
    python benchmarks/cross_replica_bn.py --device cuda --set model.generator.ch=96 --batch 8
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
import torch.distributed as dist

from dvdgan.config import load_preset
from dvdgan.models import Generator


def time_step(G: Generator, batch: int, device: torch.device, steps: int) -> float:
    """Seconds per forward + backward of G on ``batch`` clips (after one warm-up step)."""
    z = torch.randn(batch, G.z_dim, device=device)
    y = torch.zeros(batch, dtype=torch.long, device=device) if G.num_classes else None
    for i in range(steps + 1):
        if i == 1:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        G(z, y).square().mean().backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="kinetics600-12x64")
    p.add_argument("--set", nargs="*", default=["model.generator.ch=8", "model.num_classes=9"])
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, init_method=f"file://{tmp}/init", rank=0, world_size=1)
        try:
            print(f"{args.preset} {' '.join(args.set)}; batch {args.batch}; {device}; {args.steps} timed steps\n")
            print("| G batch norm | s per forward + backward |")
            print("|---|---:|")
            for cross in (False, True):
                cfg = load_preset(args.preset).override([*args.set, f"model.generator.cross_replica_bn={cross}"])
                torch.manual_seed(0)
                G = Generator(cfg.model).to(device).train()
                label = "cross-replica (1-rank group)" if cross else "plain"
                print(f"| {label} | {time_step(G, args.batch, device, args.steps):.3f} |", flush=True)
        finally:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
