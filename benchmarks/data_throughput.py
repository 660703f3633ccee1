"""Data throughput: clips/s of every training source at 16x64x64 (docs/architecture.md section 6).

    python benchmarks/data_throughput.py [--clips 400] [--videos 24] [--workers 2]

Builds its own data in a temporary directory from the procedural generators: `--videos` H.264 mp4 files of
64 frames at 160x120 (UCF-101-like 4:3, resized and centre-cropped to 64x64 on the fly), then a prepared store of
them (`dvdgan prepare --size 64`). Reads `--clips` clips per row through a DataLoader (batch 8) after one warm-up
batch and prints a markdown table. "prepared vs folder" compares the store with direct decoding at equal workers.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
import torch.utils.data

from dvdgan.data import (
    BouncingShapes,
    ClipDataset,
    MotionClasses,
    MovingDigits,
    PreparedStore,
    PrepareOptions,
    VideoFolder,
    prepare_store,
)

T, SIZE, BATCH = 16, 64, 8


def write_mp4(path: Path, frames: np.ndarray, fps: int = 25) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def clips_per_second(dataset: torch.utils.data.Dataset, clips: int, workers: int) -> float:
    """Steady-state clips/s through a DataLoader; the first batch (worker start-up) is not timed."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, sampler=range(clips + BATCH),
                                         num_workers=workers)
    batches = iter(loader)
    next(batches)
    start = time.perf_counter()
    count = sum(len(labels) for _, labels in batches)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=400, help="clips timed per row")
    parser.add_argument("--videos", type=int, default=24, help="mp4 files to build")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the multi-process rows")
    args = parser.parse_args()
    torch.set_num_threads(1)

    rows: list[tuple[str, int, float]] = []
    for name, cls in (("shapes", BouncingShapes), ("motion", MotionClasses), ("digits", MovingDigits)):
        rows.append((f"procedural `{name}`", 0, clips_per_second(cls(T, SIZE), args.clips, 0)))

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "videos"
        src.mkdir()
        scenes = MotionClasses(64, (120, 160), seed=1)
        for i in range(args.videos):
            write_mp4(src / f"clip{i:03d}.mp4", scenes.clip(i))
        start = time.perf_counter()
        prepare_store(src, Path(tmp) / "store", PrepareOptions(SIZE), workers=args.workers, progress=False)
        prepare_s = time.perf_counter() - start
        store = ClipDataset(PreparedStore(Path(tmp) / "store"), T, seed=0)
        folder = ClipDataset(VideoFolder(src), T, seed=0, size=SIZE)
        speed = {}
        for workers in (0, args.workers):
            speed["prepared", workers] = clips_per_second(store, args.clips, workers)
            rows.append(("prepared store (memmap)", workers, speed["prepared", workers]))
        for workers in (0, args.workers):
            speed["folder", workers] = clips_per_second(folder, max(args.clips // 8, 2 * BATCH), workers)
            rows.append(("direct decoding, mp4 folder (160x120 h264)", workers, speed["folder", workers]))

    print(f"Data throughput, {T}x{SIZE}x{SIZE} clips, batch {BATCH}; {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch thread, Python {sys.version.split()[0]}")
    print()
    print("| source | DataLoader workers | clips/s | ms/clip |")
    print("|---|---:|---:|---:|")
    for name, workers, rate in rows:
        print(f"| {name} | {workers} | {rate:,.0f} | {1000 / rate:.2f} |")
    print()
    for workers in (0, args.workers):
        ratio = speed["prepared", workers] / speed["folder", workers]
        print(f"prepared vs folder with {workers} workers: {ratio:.0f}x")
    print(f"dvdgan prepare of {args.videos} videos x 64 frames ({args.workers} processes): {prepare_s:.1f} s")


if __name__ == "__main__":
    main()
