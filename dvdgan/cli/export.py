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
    p.add_argument("--push-to-hub", default=None, metavar="USER/REPO", help="then upload the folder to the Hub")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dvdgan.release import export_checkpoint, hub
    from dvdgan.training.checkpoint import CheckpointError

    try:
        out = export_checkpoint(args.checkpoint, args.out_dir, name=args.name, command=args.train_command)
        print(f"wrote {out}/ (model.safetensors, config.json, README.md)")
        if args.push_to_hub:
            print(f"pushed to {hub.upload(out, args.push_to_hub)}", file=sys.stderr)
    except (ValueError, CheckpointError) as exc:  # ExportError, CheckpointError: one line naming the file
        raise UserError(str(exc)) from None
    return 0
