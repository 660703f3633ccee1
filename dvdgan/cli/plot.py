"""``dvdgan plot RUN``: a PNG of a run's losses (``loss_d``, ``loss_g`` of ``stats.jsonl``) and of every metric of
its evaluations (each numeric key of ``metrics.jsonl``: fvd, class_acc, motion_ratio_min, ...) over training steps.

Needs matplotlib (extra 'plot': ``pip install matplotlib``); TensorBoard shows the same numbers live."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from dvdgan.cli import UserError, check_writable

LOSSES = ("loss_d", "loss_g")
# numeric keys of metrics.jsonl that are no metric: the record's own, and counts of the clips a metric used
NOT_METRICS = ("step", "time", "num_real", "num_fake")
COLUMNS = 3


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="PNG of a run's losses and metrics over steps", description=__doc__)
    p.add_argument("run_dir", metavar="RUN", help="run directory (with stats.jsonl; metrics.jsonl if it evaluated)")
    p.add_argument("--out", default=None, metavar="FILE.png", help="PNG to write (default: RUN/curves.png)")
    p.set_defaults(run=run)


def read_log(path: Path) -> list[dict]:
    """The records of a step log, one per step: a resumed run logs some steps twice, and the later record is the
    run that went on. Lines that are not JSON objects (a log cut off by a crash) are skipped."""
    by_step: dict[int, dict] = {}
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            by_step[record["step"]] = record
    return [by_step[s] for s in sorted(by_step)]


def series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of ``key`` where it is a finite number."""
    points = [(r["step"], float(r[key])) for r in records if _number(r.get(key)) and math.isfinite(r[key])]
    return [s for s, _ in points], [v for _, v in points]


def metric_keys(records: list[dict]) -> list[str]:
    """Every numeric key of the evaluations, in the order they first appear, less the counts of clips."""
    keys: dict[str, None] = {}
    for record in records:
        for key, value in record.items():
            if _number(value) and key not in NOT_METRICS and not key.endswith("_samples"):
                keys[key] = None
    return list(keys)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    stats_path = run_dir / "stats.jsonl"
    if not stats_path.is_file():
        what = "does not exist" if not run_dir.exists() else "has no stats.jsonl (not a run directory, or no step " \
                                                              "logged yet)"
        raise UserError(f"{run_dir} {what}")
    out = check_writable(Path(args.out) if args.out else run_dir / "curves.png")
    try:
        from matplotlib.figure import Figure  # the object API: no pyplot, no GUI backend, no global state
    except ImportError:
        from dvdgan.extras import missing_extra

        raise missing_extra("plot") from None
    stats = read_log(stats_path)
    metrics_path = run_dir / "metrics.jsonl"
    metrics = read_log(metrics_path) if metrics_path.is_file() else []
    keys = metric_keys(metrics)
    if not metrics:
        print(f"{run_dir}: no metrics.jsonl records (no evaluation yet): losses only", file=sys.stderr)

    panels = 1 + len(keys)
    rows, cols = math.ceil(panels / COLUMNS), min(panels, COLUMNS)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    ax = axes[0]
    for key in LOSSES:
        steps, values = series(stats, key)
        if steps:
            ax.plot(steps, values, label=key, linewidth=1)
    ax.set_title("losses (stats.jsonl)")
    if ax.lines:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no loss_d / loss_g", ha="center", va="center", transform=ax.transAxes)
    protocol = next((r["protocol"] for r in metrics if isinstance(r.get("protocol"), str)), None)
    for ax, key in zip(axes[1:], keys, strict=False):
        steps, values = series(metrics, key)
        ax.plot(steps, values, marker="o", markersize=3, linewidth=1)
        ax.set_title(f"{key} ({protocol})" if protocol and key.startswith(("fvd", "is_", "kvd")) else key)
    last = max([r["step"] for r in stats + metrics] + [1])
    for ax in axes[:panels]:  # one step axis for all: an evaluation lines up with the losses around it
        ax.set_xlim(0, last * 1.03)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    for ax in axes[panels:]:
        ax.set_visible(False)
    fig.suptitle(str(run_dir))
    fig.savefig(out, dpi=100)
    print(f"wrote {out} (losses and {len(keys)} metric(s) over {len(stats)} logged steps)")
    return 0
