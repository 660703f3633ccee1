"""``dvdgan prepare SRC OUT --size S``: decode a video folder once into a memory-mapped training store.

Several processes decode with PyAV, resize the short side to S (area filter) and centre-crop to SxS. Unreadable,
truncated and too-short videos are skipped and listed in OUT/skipped.json. Interrupt and rerun to resume.
Train on the result with --data prepared:OUT (details: docs/architecture.md section 6).
A folder of BAIR robot-pushing TFRecords (softmotion30_44k) is read too, without TensorFlow: docs/bair.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dvdgan.cli import UserError

if TYPE_CHECKING:
    from dvdgan.data.prepare import PrepareOptions, PrepareSummary


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="decode videos once into a memory-mapped store", description=__doc__)
    p.add_argument("src", help="video root: <class>/<video>.mp4|avi|..., <class>/<video>/<frame>.png, or flat; "
                   "or BAIR's softmotion30_44k folder (TFRecords)")
    p.add_argument("out", help="output store directory (resumed if it holds an unfinished run)")
    p.add_argument("--size", type=int, required=True, help="frame side S of the store (SxS)")
    p.add_argument("--max-frames", type=int, default=None, help="keep at most N frames per video")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--stride", type=int, default=1, help="keep every N-th frame (default 1)")
    rate.add_argument("--fps", type=float, default=None, help="or resample to at most F frames per second")
    p.add_argument("--min-frames", type=int, default=2, help="skip videos with fewer kept frames (default 2)")
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1),
                   help="decoding processes (default: min(8, CPUs))")
    p.add_argument("--split", default="all",
                   help="all | train | test (UCF-101 split files), or a Kinetics CSV split (train, val, test)")
    p.add_argument("--split-index", type=int, default=1, help="UCF-101 split 1..3 (default 1)")
    p.add_argument("--split-dir", default=None, help="folder of classInd.txt/trainlist0N.txt if not near SRC")
    p.add_argument("--annotations", default=None, help="Kinetics CSV: label,youtube_id,time_start,time_end,split")
    p.add_argument("--format", choices=("auto", "videos", "bair"), default="auto",
                   help="source kind; auto (default): bair when SRC holds *.tfrecords (itself or train/, test/)")
    p.add_argument("--overwrite", action="store_true", help="replace a finished store made with other settings")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler, ``kill``) as an exception, so the pool is stopped and the run ends with one line."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    owner = os.getpid()

    def handle(signum: int, frame: object) -> None:
        # A decoding worker forked from us holds this handler until its initializer resets it. Pool.terminate()
        # can reach a worker that is still starting (a loaded machine): raising there would unwind the fork into
        # the caller's stack (under pytest, a second copy of the test session ran on). A child just ends.
        if os.getpid() != owner:
            os._exit(128 + signum)
        raise _Terminated

    try:
        old = signal.signal(signal.SIGTERM, handle)
    except ValueError:  # not the main thread: leave the signal alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run(args: argparse.Namespace) -> int:
    from dvdgan.data.prepare import PrepareOptions, prepare_store

    try:
        options = PrepareOptions(args.size, args.stride, args.fps, args.max_frames, args.min_frames)
        with _sigterm_raises():
            if _is_bair(args):
                summary = _prepare_bair(args, options)
            else:
                summary = prepare_store(
                    args.src, args.out, options, workers=args.workers, split=args.split,
                    split_index=args.split_index, annotations=args.annotations, split_dir=args.split_dir,
                    overwrite=args.overwrite, progress=not args.quiet,
                )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: the finished shards stay, a rerun resumes from them
        sig = signal.SIGTERM if isinstance(exc, _Terminated) else signal.SIGINT
        print(f"dvdgan prepare: stopped by {sig.name}; the videos finished so far are kept in "
              f"{os.path.join(args.out, '.work')}: rerun the same command to resume", file=sys.stderr)
        return 128 + sig
    if summary.already_complete:
        print(f"{args.out} is already complete: {summary.kept} videos, {summary.frames} frames "
              f"(pass --overwrite to rebuild)")
        return 0
    resumed = f", {summary.reused} reused from an interrupted run" if summary.reused else ""
    print(f"kept {summary.kept} videos ({summary.frames} frames of {args.size}x{args.size}); "
          f"skipped {len(summary.skipped)}; decoded {summary.decoded}{resumed}")
    for item in summary.skipped[:20]:
        print(f"  skipped {item['path']}: {item['reason']}")
    if len(summary.skipped) > 20:
        print(f"  ... {len(summary.skipped) - 20} more in {os.path.join(args.out, 'skipped.json')}")
    if summary.dropped_classes:
        names = ", ".join(summary.dropped_classes[:10]) + (" ..." if len(summary.dropped_classes) > 10 else "")
        print(f"dropped {len(summary.dropped_classes)} class(es) with no usable video: {names} "
              f"(listed in {os.path.join(args.out, 'skipped.json')}); the others are renumbered")
    print(f"train with --data prepared:{args.out}")
    return 0


def _is_bair(args: argparse.Namespace) -> bool:
    if args.format != "auto":
        return args.format == "bair"
    from dvdgan.data.bair import is_bair_source

    return is_bair_source(args.src)


def _prepare_bair(args: argparse.Namespace, options: PrepareOptions) -> PrepareSummary:
    from dvdgan.data.bair import prepare_bair

    # Refused rather than ignored: each would otherwise look as if it had selected something.
    if args.annotations or args.split_dir:
        raise UserError("--annotations and --split-dir are for video folders; BAIR's splits are its train/ and test/")
    return prepare_bair(args.src, args.out, options, split=args.split, workers=args.workers,
                        overwrite=args.overwrite, progress=not args.quiet)
