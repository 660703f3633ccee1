"""``dvdgan fvd A B``: FVD between two video sources (folders, .npy/.npz arrays, prepared stores), like pytorch-fid.

Preprocessing is the original FVD code's (TF1 bilinear resize to 224x224, Kinetics-400 I3D logits); inputs with
fewer clips than the protocol names are used whole, with a warning that the number is not comparable.
"""

from __future__ import annotations

import argparse
import sys

from dvdgan.cli import UserError, require_positive


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fvd", help="FVD between two video sources", description=__doc__)
    p.add_argument("a", help="first source: folder of videos / frame folders, .npy/.npz [N,T,H,W,C] uint8, store")
    p.add_argument("b", help="second source")
    p.add_argument("--protocol", default="fvd2048_16f", help="named protocol (default fvd2048_16f)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0, help="seed for the clip windows taken from long videos")
    p.add_argument("--json", action="store_true", help="print a JSON object (with an 'fvd' key) instead of text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dvdgan.data import load_clips
    from dvdgan.metrics import compute_video_metrics, load_i3d
    from dvdgan.metrics.protocols import get_protocol
    from dvdgan.training.distributed import resolve_device
    from dvdgan.training.logger import json_line

    require_positive(batch_size=args.batch_size)
    try:
        protocol = get_protocol(args.protocol)
        device = resolve_device(args.device)
        sources = [
            load_clips(src, num_frames=protocol.num_frames, max_clips=n, seed=args.seed)
            for src, n in ((args.a, protocol.num_real), (args.b, protocol.num_fake))
        ]
        for src, clips in zip((args.a, args.b), sources, strict=True):
            if len(clips) < 2:
                raise UserError(f"{src} gives {len(clips)} clip(s) of {protocol.num_frames} frames; FVD needs 2+")
        short = len(sources[0]) < protocol.num_real or len(sources[1]) < protocol.num_fake
        if short:  # said before the work, which takes minutes
            print(f"warning: {protocol.name} names {protocol.num_real} vs {protocol.num_fake} clips but the inputs "
                  f"hold {len(sources[0])} and {len(sources[1])}; this FVD is not comparable to the full protocol",
                  file=sys.stderr)
        i3d = load_i3d(device=device)
        result = compute_video_metrics(sources[0], sources[1], i3d, protocol, metrics=("fvd",),
                                       batch_size=args.batch_size, device=device, strict=False)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise UserError(str(exc).strip("'\"")) from None
    result["comparable"] = not short
    if args.json:
        print(json_line(result))
    else:
        print(f"FVD ({protocol.name}, {result['num_real']} vs {result['num_fake']} clips): {result['fvd']:.4f}")
    return 0
