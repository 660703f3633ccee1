"""``dvdgan export``: G_ema of a run or checkpoint as a shareable folder (``model.safetensors``, ``config.json`` and
a ``README.md`` model card; no pickle), which ``dvdgan.from_pretrained(OUT_DIR)`` and ``dvdgan sample OUT_DIR``
load. ``--push-to-hub user/repo`` also uploads it (extra 'hub')."""

from __future__ import annotations

import argparse
import sys

from dvdgan.cli import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export G_ema as model.safetensors + config.json + model card",
                       description=__doc__)
    p.add_argument("checkpoint", help="checkpoint file, or a run directory (its newest checkpoint)")
    p.add_argument("out_dir", help="folder to write (new, empty, or an earlier export)")
    p.add_argument("--name", default=None, help="the model's name on its card (default: the folder's name)")
    p.add_argument("--command", dest="train_command", default=None,
                   help="the command that trained it, for the card (default: dvdgan train --config RUN/config.yaml)")
    p.add_argument("--contexts", default=None, metavar="CLIPS",
                   help="DVD-GAN-FP: a few real clips (.npy/.npz, uint8 [N, T, H, W, 3]) stored as contexts.npz, "
                        "which `dvdgan sample` continues when given no --context (at most 16 kept)")
    p.add_argument("--fp16", action="store_true", help="store the weights as float16 (half the file; they load "
                                                       "as float32)")
    p.add_argument("--push-to-hub", default=None, metavar="USER/REPO", help="then upload the folder to the Hub")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from dvdgan.release import export_checkpoint, hub
    from dvdgan.training.checkpoint import CheckpointError

    try:
        contexts = _contexts(args.contexts) if args.contexts else None
        out = export_checkpoint(args.checkpoint, args.out_dir, name=args.name, command=args.train_command,
                                contexts=contexts, dtype=torch.float16 if args.fp16 else torch.float32)
        files = "model.safetensors, config.json, README.md" + (", contexts.npz" if contexts is not None else "")
        print(f"wrote {out}/ ({files})")
        if args.push_to_hub:
            print(f"pushed to {hub.upload(out, args.push_to_hub)}", file=sys.stderr)
    except (ValueError, CheckpointError) as exc:  # ExportError, CheckpointError: one line naming the file
        raise UserError(str(exc)) from None
    return 0


def _contexts(path: str):
    """The clips of ``--contexts`` (checked, never unpickled); the export checks them against the model."""
    from pathlib import Path

    import numpy as np

    from dvdgan.data.arrays import load_array_file

    p = Path(path)
    if p.suffix not in (".npy", ".npz") or not p.is_file():
        raise UserError(f"--contexts {p}: expected an existing .npy or .npz file of uint8 clips [N, T, H, W, 3]")
    try:
        clips, _, _ = load_array_file(p)
    except ValueError as exc:
        raise UserError(f"--contexts {exc}") from None
    return np.asarray(clips)
