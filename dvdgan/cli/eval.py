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
    p.add_argument("--num-samples", type=int, default=None,
                   help="generated clips for class_acc, motion, travel, psnr_ssim and continuation (default: the "
                        "model's eval.num_samples)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="clips per forward pass of G and I3D (default: the model's eval.batch_size, 8 unless set)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | mps | auto (default cpu)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the generated clips' z and classes (default 0; the real clips are fixed)")
    p.add_argument("--standing-stats", type=int, default=0, metavar="N",
                   help="recompute G_ema's BN statistics from N of its own clips first (default 0: those in the "
                        "checkpoint, G_ema's own when the run set eval.standing_stats)")
    p.add_argument("--json-out", default=None,
                   help="write the results as JSON here (default: RUN/eval-STEP.json for a run, beside a checkpoint "
                        "file or an export folder; none for pretrained: and hf: models)")
    p.add_argument("--json", action="store_true",
                   help="print the full results as JSON on stdout instead of the table")
    p.set_defaults(run=run)


def _json_path(args: argparse.Namespace, ckpt) -> Path | None:
    """--json-out, else ``eval-<step>.json`` in the run directory of a run's checkpoint, beside a loose file or an
    export folder; None (no file) for a shipped or Hub model, whose folder is part of the installed package or of
    the Hub's cache, and which has no folder of the user's to write beside."""
    from dvdgan.release import HUB_PREFIX, SHIPPED_PREFIX

    if args.json_out:
        return Path(args.json_out)
    if args.checkpoint.startswith((SHIPPED_PREFIX, HUB_PREFIX)):
        return None
    name = f"eval-{ckpt.step:08d}.json"
    if ckpt.path.is_dir():
        return ckpt.path.parent / f"{ckpt.path.name}-{name}"
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
        out = _json_path(args, ckpt)
        if out is not None:
            check_writable(out)  # before the evaluation, which may take hours
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
    results = {"checkpoint": str(ckpt.path), "step": ckpt.step, "data": cfg.data.source, "seed": args.seed,
               **_class_names(cfg.model), **results}
    text = json_line(results, indent=2)  # NaN (e.g. an undefined ratio) becomes null: strict JSON
    print(text if args.json else format_table(results))
    if out is not None:
        out.write_text(text + "\n")
        print(f"wrote {out} (all results, JSON)", file=sys.stderr)
    elif not args.json:
        print("not saved: --json-out FILE writes all results as JSON, --json prints them", file=sys.stderr)
    return 0


# The clips each family of metrics is measured on: (key prefixes, the results' count of generated clips)
_SAMPLE_FAMILIES = ((("class_acc",), "class_acc_samples"), (("motion",), "motion_samples"),
                    (("travel",), "travel_samples"), (("psnr", "ssim"), "psnr_ssim_samples"),
                    (("continuation",), "continuation_samples"))
_VIDEO_METRICS = ("fvd", "is_i3d400", "is_i3d400_std", "kvd_i3d400")
_NOT_METRICS = ("step", "seed", "num_real", "num_fake")


def _protocol(key: str, results: dict) -> str:
    if key in _VIDEO_METRICS:
        return (f"{results.get('protocol')} (I3D-400; {results.get('num_real')} real, "
                f"{results.get('num_fake')} generated)")
    for prefixes, count in _SAMPLE_FAMILIES:
        if key.startswith(prefixes) and count in results:
            return f"{results[count]} generated clips, seed {results.get('seed', 0)}"
    return ""


def _class_names(model) -> dict:
    """``{"class_names": [...]}``, the name of each class id (the model's, else the ids), for the per-class lists
    of the results; empty for an unconditional model."""
    if not model.num_classes:
        return {}
    return {"class_names": list(model.class_names) or [str(c) for c in range(model.num_classes)]}


def format_table(results: dict) -> str:
    """The headline numbers as a short table (metric, value, protocol), then class accuracy per class by name with
    its most common reason of rejection; other lists and details stay in the JSON."""
    rows = []
    for key, value in results.items():
        if key in _NOT_METRICS or key.endswith(("_samples", "_fake", "_real", "_std")) or isinstance(value, bool):
            continue
        if value is None or isinstance(value, int | float):
            shown = "undefined" if value is None or value != value else f"{value:.4g}"
            rows.append((key, shown, _protocol(key, results)))
    head = f"{results['checkpoint']} (step {results['step']}) against {results['data']}"
    if not rows:
        return f"{head}: no scalar metric (--json shows the results)"
    widths = [max(len(r[i]) for r in [("metric", "value", "protocol"), *rows]) for i in range(2)]
    lines = [head, f"{'metric':<{widths[0]}}  {'value':>{widths[1]}}  protocol"]
    lines += [f"{k:<{widths[0]}}  {v:>{widths[1]}}  {p}".rstrip() for k, v, p in rows]
    return "\n".join(lines + _per_class_lines(results))


def _per_class_lines(results: dict) -> list[str]:
    """class_acc per class, named, with the reason that rejected most of that class's clips."""
    accuracy, names = results.get("class_acc_per_class"), results.get("class_names")
    if not accuracy or not names or len(names) != len(accuracy):
        return []
    rejected = results.get("class_acc_rejected") or {}
    width = max(len(n) for n in ["class", *names])
    lines = ["", f"{'class':<{width}}  class_acc  most rejected as"]
    for c, (name, acc) in enumerate(zip(names, accuracy, strict=True)):
        shares = {reason: values[c] for reason, values in rejected.items() if values[c] and values[c] == values[c]}
        worst = max(shares, key=shares.get) if shares else ""
        shown = "undefined" if acc is None or acc != acc else f"{acc:.3f}"
        lines.append(f"{name:<{width}}  {shown:>9}  {f'{worst} ({shares[worst]:.2f})' if worst else ''}".rstrip())
    return lines
