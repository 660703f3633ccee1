"""Sampling speed of G (eval mode, no grad): time for 2 videos of 48x64x64 [paper: under 150 ms on one TPU core]
and videos per second at batch 16.

    python benchmarks/sampling_speed.py --ch 8 --threads 1                 # CPU at a small width
    python benchmarks/sampling_speed.py --device cuda --bf16               # the preset's width (GPU)
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

import torch

from dvdgan.config import load_preset
from dvdgan.models import Generator


def seconds_per_call(G, n: int, device: torch.device, autocast, reps: int) -> float:
    z = torch.randn(n, G.z_dim, device=device)
    y = torch.randint(G.num_classes, (n,), device=device) if G.num_classes else None
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.no_grad(), autocast:
        G(z, y)  # warm-up (cuDNN algorithm choice, allocator)
        sync()
        t0 = time.perf_counter()
        for _ in range(reps):
            G(z, y)
        sync()
    return (time.perf_counter() - t0) / reps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="kinetics600-48x64")
    p.add_argument("--ch", type=int, default=0, help="G base width (0: the preset's)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--bf16", action="store_true", help="also time bf16 autocast")
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = load_preset(args.preset)
    if args.ch:
        cfg = cfg.override([f"model.generator.ch={args.ch}"])
    torch.manual_seed(0)
    G = Generator(cfg.model).to(device).eval()
    m = cfg.model
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print("command: python " + " ".join(sys.argv))
    print(f"\n{name}; {args.preset}: {m.generated_frames}x{m.resolution}x{m.resolution}, G width {m.generator.ch}\n")
    print("| precision | 2 videos, ms | videos / s at batch 16 |")
    print("|---|---|---|")
    for precision in ["fp32", "bf16"] if args.bf16 else ["fp32"]:
        autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16"
                    else contextlib.nullcontext())
        two = seconds_per_call(G, 2, device, autocast, args.reps)
        sixteen = seconds_per_call(G, 16, device, autocast, args.reps)
        print(f"| {precision} | {two * 1e3:.0f} | {16 / sixteen:.1f} |", flush=True)


if __name__ == "__main__":
    main()
