"""I3D feature-extraction throughput (16x224x224 clips) and the implied cost of a full FVD evaluation.

    python benchmarks/i3d_throughput.py [--batch-sizes 4 8] [--repeats 3] [--threads N] [--device cpu]

Times the network forward (after one warm-up call) plus the FVD preprocessing of uint8 clips (TF1 resize from
`--input-size`, scaling), reports the median over `--repeats`, and extrapolates to `fvd2048_16f`
(2048 real + 2048 generated clips; real statistics are usually cached, halving it).
docs/architecture.md section 10 quotes the reference JAX implementation at ~1.6 s per clip on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from dvdgan.metrics import get_protocol, load_i3d, preprocess_clips


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--input-size", type=int, default=224, help="side of the uint8 clips before resizing")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--protocol", default="fvd2048_16f")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    protocol = get_protocol(args.protocol)
    total_clips = protocol.num_real + protocol.num_fake
    i3d = load_i3d(device=device)
    print(f"device {device} ({platform.processor() or platform.machine()}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; clips {args.frames}x{args.input_size}x{args.input_size} uint8 "
          f"-> {args.frames}x224x224")
    print(f"| batch | s/batch (median of {args.repeats}) | clips/s | s/clip | {protocol.name}: "
          f"{total_clips} clips |")
    print("|---:|---:|---:|---:|---:|")
    for bs in args.batch_sizes:
        clips = torch.randint(0, 256, (bs, args.frames, args.input_size, args.input_size, 3), dtype=torch.uint8)
        times = []
        with torch.inference_mode():
            for rep in range(args.repeats + 1):
                _sync(device)
                start = time.perf_counter()
                i3d(preprocess_clips(clips.to(device), protocol.resize))
                _sync(device)
                if rep:  # the first call warms up allocators and kernels
                    times.append(time.perf_counter() - start)
        per_batch = statistics.median(times)
        rate = bs / per_batch
        hours = total_clips / rate / 3600
        print(f"| {bs} | {per_batch:.2f} | {rate:.2f} | {1 / rate:.3f} | {hours:.2f} h ({hours * 60:.0f} min) |")


if __name__ == "__main__":
    main()
