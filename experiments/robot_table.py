"""The robot benchmark's table (docs/results.md, the robot section): runs' generators against the test store, next
to the untrained generator and, for DVD-GAN-FP, the baseline that repeats the last context frame.

    python experiments/robot_table.py --test data/robot/test --protocol fvd256_16f \\
        --run cpu=runs/robot/cpu --run paper=runs/robot/paper --run fp=runs/robot/fp [--steps 500 1000] \\
        [--skip untrained repeat] --json docs/results/robot-table.json

Every row is evaluated by ``dvdgan.training.evaluate.evaluate_generator`` on the same test store, protocol and
seed, so a DVD-GAN-FP row and its baseline continue the same test contexts and are compared with the same real
clips. Rows per run: its checkpoints at ``--steps`` (those still on disk) and its newest; "untrained" (the run's
config, its seed, no training step); for DVD-GAN-FP "repeat context" (the last context frame held for the whole
prediction). Columns: FVD, and the motion profile's ratio fake / real per frame step (smallest and largest).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from dvdgan.config import DVDGANConfig
from dvdgan.data import build_dataset
from dvdgan.models import Generator
from dvdgan.training.checkpoint import checkpoint_path, list_checkpoints, load_checkpoint
from dvdgan.training.evaluate import evaluate_generator


class RepeatContext(nn.Module):
    """A "generator" whose prediction is the last context frame, held: the baseline any predictor must beat."""

    def __init__(self, frames: int):
        super().__init__()
        self.frames = frames

    def forward(self, z: torch.Tensor, y: torch.Tensor | None, context: torch.Tensor) -> torch.Tensor:
        return context[:, -1:].expand(-1, self.frames, -1, -1, -1).contiguous()


def untrained(cfg: DVDGANConfig) -> nn.Module:
    torch.manual_seed(cfg.train.seed)  # the trainer's first draw: the run's own step-0 generator
    return Generator(cfg.model).eval()


def row(name: str, G: nn.Module, cfg: DVDGANConfig, dataset, protocol: str, step: int | None) -> dict:
    out = evaluate_generator(G, cfg, dataset, torch.device("cpu"), metrics=["fvd", "motion"],
                             num_samples=protocol_clips(protocol), protocol=protocol, progress=False)
    ratios = out["motion_ratio"]
    result = {"row": name, "step": step, "fvd": round(float(out["fvd"]), 1),
              "motion_min": round(min(ratios), 2), "motion_max": round(max(ratios), 2), "motion": ratios}
    print(json.dumps({k: v for k, v in result.items() if k != "motion"}), flush=True)
    return result


def protocol_clips(protocol: str) -> int:
    from dvdgan.protocols import get_protocol

    return get_protocol(protocol).num_fake


def run_rows(label: str, run: Path, test: str, protocol: str, steps: list[int], skip: tuple[str, ...] = ()
             ) -> list[dict]:
    newest = load_checkpoint(run)
    cfg = newest.config.with_values({"data.source": f"prepared:{test}", "eval.standing_stats": 0})
    dataset = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + 1)
    rows = [] if "untrained" in skip else [row(f"{label}: untrained", untrained(cfg), cfg, dataset, protocol, 0)]
    if cfg.model.context_frames and "repeat" not in skip:
        frames = cfg.model.num_frames - cfg.model.context_frames
        rows.append(row(f"{label}: repeat context", RepeatContext(frames), cfg, dataset, protocol, None))
    kept = set(list_checkpoints(run))
    for step in steps:
        path = checkpoint_path(run, step)
        if path in kept and step != newest.step:
            rows.append(row(label, load_checkpoint(path).G_ema, cfg, dataset, protocol, step))
    rows.append(row(label, newest.G_ema, cfg, dataset, protocol, newest.step))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--test", required=True, help="the test store (prepared)")
    p.add_argument("--run", action="append", required=True, metavar="LABEL=RUN_DIR")
    p.add_argument("--protocol", default="fvd256_16f")
    p.add_argument("--steps", type=int, nargs="*", default=[])
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="write the rows here")
    p.add_argument("--skip", nargs="*", default=[], choices=["untrained", "repeat"],
                   help="rows already measured by an earlier table (same test store, protocol and seed)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for spec in args.run:
        label, _, run = spec.partition("=")
        rows += run_rows(label, Path(run), args.test, args.protocol, sorted(args.steps), tuple(args.skip))
    print(f"\n| row | step | FVD ({args.protocol}) | motion ratio min | max |\n|---|---:|---:|---:|---:|")
    for r in rows:
        step = "" if r["step"] is None else r["step"]
        print(f"| {r['row']} | {step} | {r['fvd']} | {r['motion_min']} | {r['motion_max']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
