"""Training and sampling speed of a preset on this machine: seconds per step (fp32, and bf16 autocast on GPUs),
generator samples per second, and peak memory.

    python benchmarks/train_speed.py --preset tiny --steps 10
    python benchmarks/train_speed.py --preset kinetics600-12x64 --set train.batch_size=8 --device cuda --bf16
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import tempfile
import time

import torch

from dvdgan.config import resolve_config
from dvdgan.training.loop import Trainer


def peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_steps(tr: Trainer, steps: int) -> tuple[float, float]:
    """(seconds per training step, peak memory MB) after two warm-up steps."""
    dev = tr.device
    for _ in range(2):
        tr.train_step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        tr.train_step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return (time.perf_counter() - t0) / steps, peak_mb(dev)


def _sampling_rate(tr: Trainer, reps: int = 3) -> float:
    """G_ema inference: videos per second at the training micro-batch."""
    cfg, dev, n = tr.cfg, tr.device, tr.layout.micro
    G = tr.G_ema.eval()
    z = torch.randn(n, cfg.model.generator.z_dim, device=dev)
    y = torch.randint(cfg.model.num_classes, (n,), device=dev) if cfg.model.num_classes else None
    kw = {}
    if cfg.model.context_frames:
        kw["context"] = torch.zeros(n, cfg.model.context_frames, cfg.model.channels, cfg.model.resolution,
                                    cfg.model.resolution, device=dev)
    with torch.no_grad(), tr.autocast:
        G(z, y, **kw)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        for _ in range(reps):
            G(z, y, **kw)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
    return n * reps / (time.perf_counter() - t0)


def measure(preset: str, sets: list[str], steps: int, precisions: list[str]) -> list[dict]:
    """One Trainer (building a paper-size model takes tens of seconds), timed under each precision in turn."""
    cfg = resolve_config(preset, None, [*sets, "train.precision=fp32", "train.sample_every=0",
                                        "train.checkpoint_every=0", "train.eval_every=0", "train.log_every=1000000"])
    tmp = tempfile.mkdtemp()
    try:
        tr = Trainer(cfg, tmp, quiet=True)
        tr.logger.tb = None
        rows = []
        for precision in precisions:
            tr.autocast = (torch.autocast(tr.device.type, dtype=torch.bfloat16) if precision == "bf16"
                           else contextlib.nullcontext())
            step_s, peak = _timed_steps(tr, steps)
            rows.append({"precision": precision, "batch": cfg.train.batch_size, "micro": tr.layout.micro,
                         "d_steps": cfg.train.d_steps, "sec_per_step": step_s,
                         "videos_per_s": _sampling_rate(tr), "peak_mb": peak})
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--set", dest="sets", action="append", default=[])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--device", default=None)
    p.add_argument("--bf16", action="store_true", help="also measure bf16 autocast")
    args = p.parse_args()
    sets = args.sets + ([f"train.device={args.device}"] if args.device else [])
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{args.preset} on {name}")
    print("| precision | global batch | micro-batch | D steps | s / step | G videos / s (inference) | peak memory MB |")
    print("|---|---|---|---|---|---|---|")
    for r in measure(args.preset, sets, args.steps, ["fp32", "bf16"] if args.bf16 else ["fp32"]):
        print(f"| {r['precision']} | {r['batch']} | {r['micro']} | {r['d_steps']} | {r['sec_per_step']:.3f} | "
              f"{r['videos_per_s']:.1f} | {r['peak_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
