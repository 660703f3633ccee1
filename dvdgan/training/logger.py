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
    """Appends JSON lines and mirrors scalars (and GIF videos) to TensorBoard when it is installed."""

    def __init__(self, run_dir: Path, enabled: bool = True, tensorboard: bool = True):
        self.run_dir, self.enabled = Path(run_dir), enabled
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))
            except ImportError:  # tensorboard is a dependency, but logging must never stop a run
                self.tb = None

    def _append(self, name: str, record: dict[str, Any]) -> None:
        with open(self.run_dir / name, "a") as f:
            f.write(json_line(record) + "\n")

    def _record(self, file: str, tb_prefix: str, step: int, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self._append(file, {"step": step, "time": time.time(), **values})
        if self.tb is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)):
                    self.tb.add_scalar(f"{tb_prefix}/{key}", value, step)
                elif isinstance(value, list):  # per-class or per-time-step values: one scalar per entry
                    for i, v in enumerate(value):
                        if isinstance(v, (int, float)):
                            self.tb.add_scalar(f"{tb_prefix}/{key}/{i}", v, step)

    def stats(self, step: int, values: dict[str, float]) -> None:
        self._record("stats.jsonl", "train", step, values)

    def metrics(self, step: int, values: dict[str, Any]) -> None:
        self._record("metrics.jsonl", "metrics", step, values)

    def video(self, tag: str, frames: np.ndarray, step: int, fps: int = 8) -> None:
        """Log ``frames`` (uint8 [T, H, W, 3]) as an animated GIF image summary, as TensorBoard's video tab expects."""
        if not self.enabled or self.tb is None:
            return
        from PIL import Image
        from tensorboard.compat.proto.summary_pb2 import Summary

        buf = io.BytesIO()
        images = [Image.fromarray(f) for f in frames]
        images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=1000 // fps, loop=0)
        image = Summary.Image(height=frames.shape[1], width=frames.shape[2], colorspace=3,
                              encoded_image_string=buf.getvalue())
        self.tb._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
