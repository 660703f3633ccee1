"""``dvdgan fvd A B``: FVD between two video sources (folders, .npy/.npz arrays, prepared stores), like pytorch-fid.

Preprocessing is the original FVD code's (TF1 bilinear resize to 224x224, Kinetics-400 I3D logits); inputs with
fewer clips than the protocol names are used whole, with a warning that the number is not comparable.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from dvdgan.cli import UserError, require_positive


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fvd", help="FVD between two video sources", description=__doc__)
    p.add_argument("a", help="first source: folder of videos / frame folders, .npy/.npz [N,T,H,W,C] uint8, store")
    p.add_argument("b", help="second source")
    p.add_argument("--protocol", default="fvd2048_16f", help="named protocol (default fvd2048_16f)")
    p.add_argument("--batch-size", type=int, default=8, help="clips per I3D forward pass (default 8)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | mps | auto (default cpu)")
    p.add_argument("--seed", type=int, default=0, help="seed for the clip windows taken from long videos")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of text (keys fvd, protocol, "
                                                       "first, second, num_first, num_second, comparable)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dvdgan.metrics import compute_statistics, compute_video_metrics, load_i3d
    from dvdgan.protocols import get_protocol
    from dvdgan.training.distributed import resolve_device
    from dvdgan.training.logger import json_line

    require_positive(batch_size=args.batch_size)
    try:
        protocol = get_protocol(args.protocol)
        device = resolve_device(args.device)
    except (ValueError, KeyError) as exc:
        raise UserError(_text(exc)) from None
    # The two inputs are any two sources, neither "real" nor "fake": each is called by its place and path
    inputs = (("first", args.a, protocol.num_real), ("second", args.b, protocol.num_fake))
    sources = [_load(which, src, n, protocol, args.seed) for which, src, n in inputs]
    short = len(sources[0]) < protocol.num_real or len(sources[1]) < protocol.num_fake
    if short:  # said before the work, which takes minutes
        print(f"warning: {protocol.name} names {protocol.num_real} vs {protocol.num_fake} clips but the inputs "
              f"hold {len(sources[0])} and {len(sources[1])}; this FVD is not comparable to the full protocol",
              file=sys.stderr)
    i3d = load_i3d(device=device)
    stats = []
    for (which, src, n), clips in zip(inputs, sources, strict=True):
        try:
            stats.append(compute_statistics(clips, i3d, args.batch_size, resize=protocol.resize, max_clips=n,
                                            device=device, num_frames=protocol.num_frames, keep_features=False,
                                            desc=f"I3D {_short(src)}"))
        except (ValueError, TypeError) as exc:  # a clip read later than the first (another size, another shape)
            raise UserError(_about(which, src, _text(exc))) from None
    result = compute_video_metrics(stats[0], stats[1], None, protocol, metrics=("fvd",), strict=False)
    out = {"protocol": protocol.name, "first": args.a, "second": args.b, "num_first": result["num_real"],
           "num_second": result["num_fake"], "fvd": result["fvd"], "comparable": not short}
    if args.json:
        print(json_line(out))
    else:
        print(f"FVD ({protocol.name}) between {args.a} ({out['num_first']} clips) and {args.b} "
              f"({out['num_second']} clips): {out['fvd']:.4f}")
    return 0


def _about(which: str, src: str, text: str) -> str:
    """``first input SRC: problem``, without naming SRC twice when the problem's text starts with it."""
    return f"{which} input {text}" if text.startswith(src) else f"{which} input {src}: {text}"


def _text(exc: BaseException) -> str:
    return str(exc).strip("'\"")  # a KeyError's message comes quoted


def _short(src: str, width: int = 24) -> str:
    """A source as a progress bar's label: as typed, or its last part when that is long."""
    name = src.rstrip("/") or src
    return name if len(name) <= width else "..." + name.rsplit("/", 1)[-1][-width:]


def _load(which: str, src: str, n: int, protocol, seed: int):
    """The clips of one input; every problem with it (a wrong path, too few frames, too few clips) as one line that
    names the input and what the protocol expects; warnings about it (videos skipped) name it too."""
    from dvdgan.data import load_clips

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            clips = load_clips(src, num_frames=protocol.num_frames, max_clips=n, seed=seed)
        except (KeyError, FileNotFoundError) as exc:
            raise UserError(_about(which, src, _text(exc))) from None
        except ValueError as exc:  # a clip length, shape or size: a message about frames gets the protocol's
            text = _text(exc)
            expected = f"; {protocol.name} expects clips of {protocol.num_frames} frames" * ("frame" in text)
            raise UserError(_about(which, src, text) + expected) from None
    for warning in caught:
        print(f"warning: {which} input {src}: {' '.join(str(warning.message).split())}", file=sys.stderr)
    if len(clips) < 2:
        raise UserError(f"{which} input {src} gives {len(clips)} clip(s) of {protocol.num_frames} frames; FVD needs "
                        "2+")
    return clips
