"""Print one Markdown row per run directory: its last in-loop class accuracy and motion-ratio profile.

    python experiments/summarise_runs.py runs/sweep/*
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    print("| run | step | class accuracy | per class | motion ratio per step (fake / real) |")
    print("|---|---:|---:|---|---|")
    for run in sorted(Path(p) for p in sys.argv[1:]):
        lines = (run / "metrics.jsonl").read_text().splitlines() if (run / "metrics.jsonl").is_file() else []
        if not lines:
            continue
        last = json.loads(lines[-1])
        per_class = " ".join(f"{v:.2f}" for v in last["class_acc_per_class"])
        ratio = " ".join(f"{v:.2f}" for v in last["motion_ratio"])
        print(f"| {run.name} | {last['step']} | {last['class_acc']:.3f} | {per_class} | {ratio} |")


if __name__ == "__main__":
    main()
