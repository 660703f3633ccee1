"""One Markdown row per run: in-loop class accuracy at chosen steps, then a larger fresh evaluation of the newest
checkpoint (``dvdgan eval --num-samples N``; the in-loop one uses 180 clips, 20 per class, and a class can swing
by 0.1-0.2 between draws), with the worst class, the squares (``shapes`` classes 0-2) and the empty clips.

    python experiments/class_table.py RUN [RUN ...] [--steps 1000 1500 2000] [--samples 900]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
from pathlib import Path

from dvdgan.cli import main as dvdgan_main


def in_loop(run: Path, steps: list[int]) -> tuple[str, str]:
    rows = {r["step"]: r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())}
    accuracy = " / ".join(f"{rows[s]['class_acc']:.3f}" if s in rows else "-" for s in steps)
    last = rows[max(rows)]
    return accuracy, f"{last['motion_ratio_min']:.2f}-{last['motion_ratio_max']:.2f} (step {max(rows)})"


def fresh(run: Path, samples: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "eval.json"
        with contextlib.redirect_stdout(io.StringIO()):  # eval prints its JSON too; only the table goes out
            status = dvdgan_main(["eval", str(run), "--metrics", "class_acc", "--num-samples", str(samples),
                                  "--json-out", str(out)])
        if status:
            raise SystemExit(status)
        found = json.loads(out.read_text())
    m = found.get("metrics", found)
    squares = " ".join(f"{a:.2f}" for a in m["class_acc_per_class"][:3])
    return (f"{m['class_acc']:.3f} (step {found.get('step')}) | {m['class_acc_worst']:.2f} | {squares} "
            f"| {m['class_acc_no_object']:.1%}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--steps", type=int, nargs="+", default=[1000, 1500, 2000])
    p.add_argument("--samples", type=int, default=900)
    args = p.parse_args()
    rows = []
    for run in args.runs:
        accuracy, motion = in_loop(run, args.steps)
        rows.append(f"| `{run.name}` | {accuracy} | {fresh(run, args.samples)} | {motion} |")
    steps = " / ".join(f"{s:,}" for s in args.steps)
    print(f"| run | in-loop class accuracy at {steps} | class accuracy, {args.samples} fresh samples | worst class "
          "| squares (red, green, blue) | empty clips | motion ratio, smallest-largest (last in-loop) |")
    print("|---|---|---|---:|---|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
