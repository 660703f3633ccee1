"""torch.profiler over training steps of a preset: the top ops by self time (CPU, and CUDA on a GPU).

    python benchmarks/profile_step.py --preset small --threads 1
    python benchmarks/profile_step.py --preset kinetics600-12x64 --set train.batch_size=16 --device cuda --bf16
"""

from __future__ import annotations

import argparse
import sys
import tempfile

import torch
from torch.profiler import ProfilerActivity, profile

from dvdgan.config import resolve_config
from dvdgan.training.loop import Trainer


def top_ops(prof, attr: str, rows: int) -> list[tuple[str, float, int]]:
    events = [(e.key, getattr(e, attr) / 1e3, e.count) for e in prof.key_averages()]
    events = [e for e in events if e[1] > 0]
    return sorted(events, key=lambda e: -e[1])[:rows]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="small")
    p.add_argument("--set", dest="sets", action="append", default=[])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--rows", type=int, default=15)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sets = [*args.sets, f"train.device={args.device}", "train.sample_every=0", "train.checkpoint_every=0",
            "train.eval_every=0", "train.log_every=1000000"] + (["train.precision=bf16"] if args.bf16 else [])
    tr = Trainer(resolve_config(args.preset, None, sets), tempfile.mkdtemp(), quiet=True)
    tr.train_step()  # warm-up
    cuda = tr.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(args.steps):
            tr.train_step()
        if cuda:
            torch.cuda.synchronize(tr.device)
    print("command: python " + " ".join(sys.argv))
    kinds = [("self_cpu_time_total", "CPU")] + ([("self_device_time_total", "CUDA")] if cuda else [])
    for attr, label in kinds:
        ops = top_ops(prof, attr, args.rows)
        total = sum(getattr(e, attr) for e in prof.key_averages()) / 1e3
        print(f"\n{args.preset}, {args.steps} step(s), {label} self time {total:.0f} ms in all\n")
        print(f"| op | {label} self ms | share | calls |")
        print("|---|---|---|---|")
        for key, ms, count in ops:
            print(f"| `{key}` | {ms:.1f} | {ms / total:.0%} | {count} |")


if __name__ == "__main__":
    main()
