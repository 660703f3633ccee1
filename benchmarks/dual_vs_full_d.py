"""The dual discriminator's forward+backward time and memory against one discriminator over the full clip
(D_T's architecture without the 2x2 pooling, every frame at full resolution) [paper v2 section 3: 58% fewer
pixels at 48x128x128 with k=8], batch 1, beside the pixel ratio.

    python benchmarks/dual_vs_full_d.py --ch 8 --sizes 12x64x64 --threads 1          # CPU, small width
    python benchmarks/dual_vs_full_d.py --ch 96 --device cuda                         # the paper's width (GPU)
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time

import torch

from dvdgan.config import load_preset
from dvdgan.models import DualDiscriminator
from dvdgan.models.discriminator import TemporalDiscriminator, pixel_fraction


def full_clip_discriminator(cfg) -> TemporalDiscriminator:
    """D_T built for the unpooled clip (phi = identity, one more block for the full resolution): the single
    discriminator the dual one replaces."""
    return TemporalDiscriminator(dataclasses.replace(
        cfg, discriminator=dataclasses.replace(cfg.discriminator, temporal_pool=1)))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_fwd_bwd(net, video, y, device, reps: int) -> tuple[float, float]:
    """(seconds per forward+backward with grads for weights and input, peak memory MB; CPU: process max RSS)."""
    def once():
        out = net(video, y)
        total = sum(out.values()) if isinstance(out, dict) else out
        total.sum().backward()
    once()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        once()
    _sync(device)
    sec = (time.perf_counter() - t0) / reps
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**20
    return sec, peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", default=["12x64x64", "48x64x64", "48x128x128"])
    p.add_argument("--ch", type=int, default=96, help="discriminator base width (the paper: 96)")
    p.add_argument("--k", type=int, default=8, help="D_S frames (the paper: 8)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print("command: python " + " ".join(sys.argv))
    print(f"\n{name}; D width {args.ch}, k={args.k}, batch 1, unconditional; CPU memory is the process's peak RSS\n")
    print("| clip | pixel ratio dual/full | dual s | full s | time ratio | dual MB | full MB |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        t, h, _ = (int(v) for v in size.split("x"))
        cfg = load_preset("kinetics600-48x128").override([
            f"model.num_frames={t}", f"model.resolution={h}", "model.num_classes=0",
            f"model.discriminator.ch={args.ch}", f"model.discriminator.k_frames={args.k}"]).model
        torch.manual_seed(0)
        video = torch.randn(1, t, 3, h, h, device=device, requires_grad=True)
        dual = DualDiscriminator(cfg).to(device)
        ds, dm = time_fwd_bwd(dual, video, None, device, args.reps)
        del dual
        full = full_clip_discriminator(cfg).to(device)
        fs, fm = time_fwd_bwd(full, video, None, device, args.reps)
        del full
        ratio = pixel_fraction(t, h, args.k, cfg.discriminator.temporal_pool)
        print(f"| {size} | {ratio:.3f} | {ds:.3f} | {fs:.3f} | {ds / fs:.2f} | {dm:.0f} | {fm:.0f} |", flush=True)


if __name__ == "__main__":
    main()
