"""``dvdgan train``: train a preset (default ``tiny`` on built-in ``shapes`` data, on the CPU)."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from dvdgan.cli import UserError
from dvdgan.config import MOVED_KEYS, DVDGANConfig, list_presets, load_preset, resolve_config

RUNS_ROOT = Path("runs")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train DVD-GAN (no arguments: tiny preset, built-in shapes data, CPU)",
                       description=__doc__)
    p.add_argument("--preset", default=None, help=f"preset name (default tiny): {', '.join(list_presets())}")
    p.add_argument("--config", default=None, help="YAML file of overrides on top of the preset")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config value, e.g. --set train.lr_g=2e-4 (repeatable)")
    p.add_argument("--data", default=None,
                   help="data spec: shapes | motion | digits (built in) | folder:DIR | prepared:DIR | npz:FILE "
                        "(uint8 clips [N, T, H, W, C], optional labels) (default: the preset's data.source, shapes "
                        "for tiny)")
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


def _flag_values(args: argparse.Namespace) -> dict[str, object]:
    """--data, --steps, --device as config values: set as they are, never parsed as YAML (a path may hold ' #')."""
    flags = {"data.source": args.data, "train.steps": args.steps, "train.device": args.device}
    return {key: value for key, value in flags.items() if value is not None}


def resolve(args: argparse.Namespace) -> tuple[DVDGANConfig, Path]:
    if args.steps is not None and args.steps < 1:
        raise UserError(f"--steps must be >= 1, got {args.steps}")
    if args.resume:
        run_dir = Path(args.out) if args.out else _latest_run_dir(RUNS_ROOT)
        if not (run_dir / "config.yaml").is_file():
            raise UserError(f"--resume: {run_dir} holds no config.yaml (not a dvdgan run directory)")
        if args.preset or args.config:
            raise UserError("--resume takes the run's own config.yaml; use --set to change values")
        cfg = DVDGANConfig.load(run_dir / "config.yaml").override(args.sets).with_values(_flag_values(args))
        return cfg, run_dir
    cfg = resolve_config(args.preset, args.config, args.sets).with_values(_flag_values(args))
    if args.config:
        _refuse_comment_cut_paths(Path(args.config))
    cfg = _fit_to_data(cfg, load_preset(args.preset or "tiny"), args)
    if args.out:
        run_dir = Path(args.out)
    else:
        run_dir = _next_run_dir(RUNS_ROOT, f"{args.preset or 'tiny'}-{_slug(cfg.data.source)}")
    return cfg, run_dir


PATH_KEYS = (("data", "source"), ("data", "annotations"))  # config values that name files
SPEC_PREFIX = re.compile(r"^(folder|prepared|npz):")


def _refuse_comment_cut_paths(config_file: Path) -> None:
    """In a YAML file `` #`` starts a comment, so ``source: folder:vids/good #2`` means ``folder:vids/good``. That
    is YAML's rule and comments after values are common; but when the text with its "comment" names a file that
    exists, the user meant the whole text, and training on the shorter path would be silently wrong: refuse."""
    import yaml

    text = config_file.read_text()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return  # resolve_config has read this file: nothing to add
    for section, key in PATH_KEYS:
        node = _mapping_value(_mapping_value(root, section), key)
        if not isinstance(node, yaml.ScalarNode) or node.style:  # quoted: YAML took no comment out of it
            continue
        line_end = text.find("\n", node.end_mark.index)
        after = text[node.end_mark.index: None if line_end < 0 else line_end]
        if not re.match(r"\s+#", after):
            continue
        whole = (node.value + after).rstrip()
        if Path(SPEC_PREFIX.sub("", whole)).expanduser().exists():
            raise UserError(f"{config_file}: {section}.{key} reads as {node.value!r} (YAML takes {after.strip()!r} "
                            f"for a comment) but {SPEC_PREFIX.sub('', whole)!r} exists; quote the value: "
                            f"{key}: {whole!r}")


def _mapping_value(node, key: str):
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def _fit_to_data(cfg: DVDGANConfig, preset: DVDGANConfig, args: argparse.Namespace) -> DVDGANConfig:
    """What the preset chose and the user did not: the number of classes comes from --data (0 for a flat,
    unlabelled folder, which also turns the preset's class loss off), and the in-loop metrics from what the data
    and model allow (``adapt_metrics``)."""
    fit_classes = args.data is not None and not any(s.startswith("model.num_classes=") for s in args.sets)
    fit_metrics = cfg.train.eval_every > 0 and cfg.eval.metrics == preset.eval.metrics
    if not (fit_classes or fit_metrics):
        return cfg
    from dvdgan.data import build_dataset
    from dvdgan.training.metric_plan import adapt_metrics

    ds = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed)
    n = int(getattr(ds, "num_classes", 0))
    keep_names = any(s.startswith("model.class_names=") for s in args.sets)
    if fit_classes and not keep_names and cfg.model.class_names:
        # e.g. another run's config.yaml with new --data: the names of --data's classes (training fills them in)
        cfg = cfg.with_values({"model.class_names": []})
    if fit_classes and n != cfg.model.num_classes:
        values: dict[str, object] = {"model.num_classes": n}
        set_keys = {MOVED_KEYS.get(k, k) for k in (s.split("=", 1)[0].strip() for s in args.sets)}  # old names too
        if n < 2 and "train.extra_terms.class_loss" not in set_keys:
            values["train.extra_terms.class_loss"] = 0.0  # the preset's: nothing to classify in unlabelled data
        cfg = cfg.with_values(values)
    if fit_metrics:
        cfg = adapt_metrics(cfg, ds, keep_protocol=cfg.eval.protocol != preset.eval.protocol)
    return cfg


def run(args: argparse.Namespace) -> int:
    from dvdgan.data.decode import DecodeError
    from dvdgan.training.checkpoint import CheckpointError
    from dvdgan.training.distributed import shutdown_distributed
    from dvdgan.training.loop import NonFiniteLossError, check_sizes, train

    finished = False
    try:
        cfg, run_dir = resolve(args)
        if args.dry_run:  # the same size checks as a run's, so that a dry run says what the run would refuse
            check_sizes(cfg, int(os.environ.get("WORLD_SIZE", "1")))
            print(f"# run directory: {run_dir}")
            print(cfg.to_yaml(), end="")
            return 0
        result = train(cfg, run_dir, resume=args.resume, quiet=args.quiet)  # prints where it starts and ends
        finished = True
    # DecodeError: a video that no longer decodes when no other can stand in (the state is saved first)
    except (ValueError, CheckpointError, NonFiniteLossError, DecodeError) as exc:
        raise UserError(str(exc)) from None
    finally:
        shutdown_distributed(finished)  # a torchrun rank leaves its process group before the interpreter exits
    # Stopped by a signal: the shell's 128 + N, so a scheduler does not take the run for finished.
    return 128 + result.stop_signal if result.stop_signal else 0
