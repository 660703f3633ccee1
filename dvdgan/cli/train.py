"""``dvdgan train``: train a preset (default ``tiny`` on built-in ``shapes`` data, on the CPU)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from dvdgan.cli import UserError
from dvdgan.config import DVDGANConfig, list_presets, resolve_config

RUNS_ROOT = Path("runs")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train DVD-GAN (no arguments: tiny preset, built-in shapes data, CPU)",
                       description=__doc__)
    p.add_argument("--preset", default=None, help=f"preset name (default tiny): {', '.join(list_presets())}")
    p.add_argument("--config", default=None, help="YAML file of overrides on top of the preset")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config value, e.g. --set train.lr_g=2e-4 (repeatable)")
    p.add_argument("--data", default=None, help="data spec: shapes | motion | digits | folder:PATH | prepared:PATH")
    p.add_argument("--out", default=None, help="run directory (default runs/NNNNN-<preset>-<data>)")
    p.add_argument("--steps", type=int, default=None, help="total generator steps (overrides train.steps)")
    p.add_argument("--device", default=None, help="cpu | cuda | cuda:N | mps | auto (overrides train.device)")
    p.add_argument("--resume", action="store_true",
                   help="continue the newest valid checkpoint in --out (default: the newest run under runs/)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _next_run_dir(root: Path, desc: str) -> Path:
    ids = [int(m.group(1)) for d in root.glob("*") if (m := re.match(r"^(\d{5})-", d.name))] if root.is_dir() else []
    return root / f"{max(ids, default=-1) + 1:05d}-{desc}"


def _latest_run_dir(root: Path) -> Path:
    runs = sorted(d for d in root.glob("[0-9][0-9][0-9][0-9][0-9]-*") if (d / "config.yaml").is_file()) \
        if root.is_dir() else []
    if not runs:
        raise UserError(f"--resume: no run directory with a config.yaml under {root}/; pass --out RUN_DIR")
    return runs[-1]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text.split(":", 1)[-1].rstrip("/").split("/")[-1]).strip("-")[:30]


def resolve(args: argparse.Namespace) -> tuple[DVDGANConfig, Path]:
    sets = list(args.sets)
    if args.data is not None:
        sets.append(f"data.source={args.data}")
    if args.steps is not None:
        sets.append(f"train.steps={args.steps}")
    if args.device is not None:
        sets.append(f"train.device={args.device}")
    if args.resume:
        run_dir = Path(args.out) if args.out else _latest_run_dir(RUNS_ROOT)
        if not (run_dir / "config.yaml").is_file():
            raise UserError(f"--resume: {run_dir} holds no config.yaml (not a dvdgan run directory)")
        if args.preset or args.config:
            raise UserError("--resume takes the run's own config.yaml; use --set to change values")
        cfg = DVDGANConfig.load(run_dir / "config.yaml").override(sets)
        return cfg, run_dir
    cfg = resolve_config(args.preset, args.config, sets)
    if args.data is not None and not any(s.startswith("model.num_classes=") for s in args.sets):
        cfg = _match_classes(cfg)
    if args.out:
        run_dir = Path(args.out)
        if (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").iterdir()):
            raise UserError(f"{run_dir} already holds checkpoints; add --resume to continue it or pick another --out")
    else:
        run_dir = _next_run_dir(RUNS_ROOT, f"{args.preset or 'tiny'}-{_slug(cfg.data.source)}")
    return cfg, run_dir


def _match_classes(cfg: DVDGANConfig) -> DVDGANConfig:
    """--data on a preset: take the number of classes from the data (0 for a flat, unlabelled folder)."""
    from dvdgan.data import build_dataset

    ds = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed)
    n = int(getattr(ds, "num_classes", 0))
    return cfg.override([f"model.num_classes={n}"]) if n != cfg.model.num_classes else cfg


def run(args: argparse.Namespace) -> int:
    from dvdgan.training.checkpoint import CheckpointError
    from dvdgan.training.loop import NonFiniteLossError, train

    try:
        cfg, run_dir = resolve(args)
        if args.dry_run:
            print(f"# run directory: {run_dir}")
            print(cfg.to_yaml(), end="")
            return 0
        result = train(cfg, run_dir, resume=args.resume, quiet=args.quiet)
    except (ValueError, CheckpointError, NonFiniteLossError) as exc:
        raise UserError(str(exc)) from None
    state = "stopped" if result.stopped_early else "finished"
    print(f"{state} at step {result.step}; run directory {result.run_dir}; "
          f"checkpoint {result.last_checkpoint}; samples in {result.run_dir / 'samples'}")
    return 0
