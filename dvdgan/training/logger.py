"""Rank-0 run logging: ``stats.jsonl``, ``metrics.jsonl`` and TensorBoard scalars and videos."""

from __future__ import annotations

import io
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as None: strict JSON, which other tools (and ``jq``) can read."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def json_line(record: dict[str, Any], **kwargs: Any) -> str:
    return json.dumps(json_safe(record), allow_nan=False, **kwargs)


class RunLogger:
    """Appends JSON lines (always) and mirrors scalars and GIF videos to the ``log_to`` backends: TensorBoard
    (when it is installed) and Weights & Biases (``config`` is the run's, shown there)."""

    def __init__(self, run_dir: Path, enabled: bool = True, log_to: tuple[str, ...] | list[str] = ("tensorboard",),
                 config: dict[str, Any] | None = None):
        self.run_dir, self.enabled = Path(run_dir), enabled
        self.tb = self.wandb = None
        if enabled and "tensorboard" in log_to:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))
            except ImportError:  # tensorboard is a dependency, but logging must never stop a run
                self.tb = None
        if enabled and "wandb" in log_to:  # asked for explicitly: a missing package is an error, not a silence
            from dvdgan.training.wandb_log import WandbMirror

            self.wandb = WandbMirror(self.run_dir, config)

    def _append(self, name: str, record: dict[str, Any]) -> None:
        with open(self.run_dir / name, "a") as f:
            f.write(json_line(record) + "\n")

    def _record(self, file: str, tb_prefix: str, step: int, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self._append(file, {"step": step, "time": time.time(), **values})
        if self.wandb is not None:
            self.wandb.scalars(step, _scalars(tb_prefix, values))
        if self.tb is not None:  # per-class or per-time-step lists: one scalar per entry
            for key, value in _scalars(tb_prefix, values).items():
                self.tb.add_scalar(key, value, step)

    def stats(self, step: int, values: dict[str, float]) -> None:
        self._record("stats.jsonl", "train", step, values)

    def metrics(self, step: int, values: dict[str, Any]) -> None:
        self._record("metrics.jsonl", "metrics", step, values)

    def video(self, tag: str, frames: np.ndarray, step: int, fps: int = 8) -> None:
        """Log ``frames`` (uint8 [T, H, W, 3]) as an animated GIF: an image summary, as TensorBoard's video tab
        expects, and a wandb video."""
        if not self.enabled or (self.tb is None and self.wandb is None):
            return
        gif = gif_bytes(frames, fps)
        if self.wandb is not None:
            self.wandb.video(tag, gif, step)
        if self.tb is not None:
            from tensorboard.compat.proto.summary_pb2 import Summary

            image = Summary.Image(height=frames.shape[1], width=frames.shape[2], colorspace=3,
                                  encoded_image_string=gif)
            self.tb._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
        if self.wandb is not None:
            self.wandb.close()
            self.wandb = None


def gif_bytes(frames: np.ndarray, fps: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    images = [Image.fromarray(f) for f in frames]
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=1000 // fps, loop=0)
    return buf.getvalue()


def _scalars(prefix: str, values: dict[str, Any]) -> dict[str, float]:
    """``prefix/key`` for numbers and ``prefix/key/i`` for each number of a list (as in TensorBoard)."""
    out = {}
    for key, value in values.items():
        if isinstance(value, (int, float)):
            out[f"{prefix}/{key}"] = value
        elif isinstance(value, list):
            out.update({f"{prefix}/{key}/{i}": v for i, v in enumerate(value) if isinstance(v, (int, float))})
    return out


class ProgressSummary:
    """One line on stderr now and then (``step 120/3000 (4%)  2.31 steps/s  ETA 20m46s  loss_d 1.234  loss_g
    0.567``): what a log file gets instead of a progress bar, whose redraws a file keeps as one long line. A line
    at most every ``every_s`` seconds, at a ``train.log_every`` step, and always at the last step."""

    def __init__(self, start: int, end: int, enabled: bool, every_s: float = 10.0) -> None:
        self.start, self.end, self.enabled, self.every_s = start, end, enabled, every_s
        self.t0 = self.last = time.perf_counter()

    def update(self, step: int, stats: dict[str, float]) -> None:
        import sys

        now = time.perf_counter()
        if not self.enabled or (now - self.last < self.every_s and step < self.end):
            return
        self.last = now
        rate = (step - self.start) / max(now - self.t0, 1e-9)
        eta = (self.end - step) / rate if rate > 0 else float("inf")
        losses = "  ".join(f"{k} {stats[k]:.3f}" for k in ("loss_d", "loss_g") if k in stats)
        print(f"step {step}/{self.end} ({100 * step / max(self.end, 1):.0f}%)  {rate:.2f} steps/s  "
              f"ETA {_duration(eta)}  {losses}", file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"
