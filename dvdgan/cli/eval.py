"""``dvdgan eval``: metrics of a checkpoint's G_ema against a data source (FVD/IS/KVD with I3D-400, class accuracy)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dvdgan.cli import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint", description=__doc__)
    p.add_argument("checkpoint", help="checkpoint file, or a run directory (its newest checkpoint)")
    p.add_argument("--data", default=None, help="real data spec (default: the run's data.source)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated: fvd,is,kvd,class_acc,motion,psnr_ssim,context_colour (default: eval.metrics)")
    p.add_argument("--protocol", default=None, help="FVD protocol, e.g. fvd2048_16f (default: eval.protocol)")
    p.add_argument("--num-samples", type=int, default=None, help="generated clips for class_acc and motion")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json-out", default=None, help="write the results here (default: <run>/eval-<step>.json)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dvdgan.data import build_dataset
    from dvdgan.training.checkpoint import CheckpointError, load_checkpoint
    from dvdgan.training.evaluate import evaluate_generator

    try:
        ckpt = load_checkpoint(args.checkpoint, device=args.device)
        cfg = ckpt.config
        sets = []
        if args.data:
            sets.append(f"data.source={args.data}")
        if args.batch_size:
            sets.append(f"eval.batch_size={args.batch_size}")
        cfg = cfg.override(sets)
        metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
        if metrics:
            cfg = cfg.override([f"eval.metrics={metrics}"])
        # seed + 1, as the in-loop evaluation: procedural clips training never saw
        dataset = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + 1)
        results = evaluate_generator(ckpt.G_ema, cfg, dataset, ckpt.G_ema.linear.weight.device,
                                     num_samples=args.num_samples, protocol=args.protocol, progress=True,
                                     seed=args.seed)
    except (ValueError, KeyError, CheckpointError) as exc:
        raise UserError(str(exc).strip("'\"")) from None
    results = {"checkpoint": str(ckpt.path), "step": ckpt.step, "data": cfg.data.source, **results}
    text = json.dumps(results, indent=2)
    print(text)
    out = Path(args.json_out) if args.json_out else ckpt.path.parent.parent / f"eval-{ckpt.step:08d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return 0
