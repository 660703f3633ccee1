"""``dvdgan eval``: metrics of a checkpoint's G_ema against a data source (FVD/IS/KVD with I3D-400, class accuracy)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dvdgan.cli import MODEL_HELP, UserError, check_writable, load_generator, require_positive


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint", description=__doc__)
    p.add_argument("checkpoint", help=MODEL_HELP)
    p.add_argument("--data", default=None, help="real data spec (default: the run's data.source)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated: fvd,is,kvd,class_acc,motion,travel,psnr_ssim,continuation "
                        "(default: eval.metrics)")
    p.add_argument("--protocol", default=None, help="FVD protocol, e.g. fvd2048_16f (default: eval.protocol)")
    p.add_argument("--num-samples", type=int, default=None, help="generated clips for class_acc and motion")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--standing-stats", type=int, default=0, metavar="N",
                   help="recompute G_ema's BN statistics from N of its own clips first (default 0: those in the "
                        "checkpoint, G_ema's own when the run set eval.standing_stats)")
    p.add_argument("--json-out", default=None, help="write the results here (default: <run>/eval-<step>.json)")
    p.set_defaults(run=run)


def _json_path(args: argparse.Namespace, ckpt) -> Path:
    """--json-out, else ``eval-<step>.json`` in the run directory of a run's checkpoint, beside a loose file, or in
    the current directory for an export (a shipped model's folder is part of the installed package)."""
    if args.json_out:
        return Path(args.json_out)
    name = f"eval-{ckpt.step:08d}.json"
    if ckpt.path.is_dir():
        return Path(f"{ckpt.path.name}-{name}")
    if ckpt.path.parent.name == "checkpoints" and (ckpt.path.parent.parent / "config.yaml").is_file():
        return ckpt.path.parent.parent / name
    return ckpt.path.with_name(f"{ckpt.path.stem}-{name}")


def run(args: argparse.Namespace) -> int:
    from dvdgan.data import build_dataset
    from dvdgan.training.checkpoint import CheckpointError
    from dvdgan.training.evaluate import evaluate_generator
    from dvdgan.training.logger import json_line

    require_positive(batch_size=args.batch_size, num_samples=args.num_samples)
    try:
        ckpt = load_generator(args.checkpoint, args.device)
        out = check_writable(_json_path(args, ckpt))  # before the evaluation, which may take hours
        values = {"data.source": args.data, "eval.batch_size": args.batch_size,
                  "eval.standing_stats": args.standing_stats,  # 0: the checkpoint's statistics
                  "eval.metrics": [m.strip() for m in args.metrics.split(",")] if args.metrics else None}
        cfg = ckpt.config.with_values({k: v for k, v in values.items() if v is not None})
        # seed + 1, as the in-loop evaluation: procedural clips training never saw
        dataset = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + 1)
        results = evaluate_generator(ckpt.G_ema, cfg, dataset, ckpt.G_ema.linear.weight.device,
                                     num_samples=args.num_samples, protocol=args.protocol, progress=True,
                                     seed=args.seed)
    except (ValueError, KeyError, CheckpointError) as exc:
        raise UserError(str(exc).strip("'\"")) from None
    results = {"checkpoint": str(ckpt.path), "step": ckpt.step, "data": cfg.data.source, **results}
    text = json_line(results, indent=2)  # NaN (e.g. an undefined ratio) becomes null: strict JSON
    print(text)
    out.write_text(text + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0
