"""Training-step time of this tree against another checkout (e.g. the previous commit), measured side by side:
rounds alternate between the two, each in a fresh process, so that a shared machine's load falls on both.

    git worktree add --detach /tmp/ref HEAD~1
    python benchmarks/step_ab.py --ref /tmp/ref --preset small --threads 1 --rounds 3 --steps 3
    python benchmarks/step_ab.py --ref /tmp/ref --preset small --threads 1 --new-set train.channels_last=true

``--new-set`` overrides go to this tree only (flags the reference does not know).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# Runs inside the child process, with PYTHONPATH choosing which checkout's dvdgan is imported.
CHILD = """
import json, sys, tempfile, time, torch
from dvdgan.config import resolve_config
from dvdgan.training.loop import Trainer
preset, steps, threads, sets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
torch.set_num_threads(threads)
cfg = resolve_config(preset, None, [*sets, "train.sample_every=0", "train.checkpoint_every=0",
                                    "train.eval_every=0", "train.log_every=1000000", "train.device=cpu"])
tr = Trainer(cfg, tempfile.mkdtemp(), quiet=True)
tr.train_step()  # warm-up
t0 = time.perf_counter()
for _ in range(steps):
    tr.train_step()
print(json.dumps({"sec_per_step": (time.perf_counter() - t0) / steps}))
"""


def one_run(tree: Path, preset: str, steps: int, threads: int, sets: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-c", CHILD, preset, str(steps), str(threads), json.dumps(sets)],
                         env=env, cwd=tree, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["sec_per_step"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ref", type=Path, required=True, help="the other checkout (a git worktree)")
    p.add_argument("--preset", default="small")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--set", dest="sets", action="append", default=[], help="override for both trees")
    p.add_argument("--new-set", dest="new_sets", action="append", default=[], help="override for this tree only")
    args = p.parse_args()
    here = Path(__file__).resolve().parents[1]
    times: dict[str, list[float]] = {"reference": [], "this tree": []}
    for _ in range(args.rounds):
        times["reference"].append(one_run(args.ref, args.preset, args.steps, args.threads, args.sets))
        times["this tree"].append(one_run(here, args.preset, args.steps, args.threads, args.sets + args.new_sets))
    print("command: python " + " ".join(sys.argv))
    print(f"\n{args.preset}, {args.threads} thread(s), {args.steps} steps per process, {args.rounds} alternating "
          f"rounds; this tree's extra settings: {args.new_sets or 'none'}\n")
    print("| code | s / step (median) | s / step (min) | all rounds |")
    print("|---|---|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {statistics.median(ts):.3f} | {min(ts):.3f} | {', '.join(f'{t:.2f}' for t in ts)} |")
    ratio = statistics.median(times["reference"]) / statistics.median(times["this tree"])
    print(f"\nspeed-up (median reference / median this tree): {ratio:.2f}x")


if __name__ == "__main__":
    main()
