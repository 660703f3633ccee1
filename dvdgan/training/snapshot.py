"""Sample grids from a fixed z/y (and fixed DVD-GAN-FP contexts) at every snapshot: MP4, GIF and TensorBoard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from dvdgan.config import DVDGANConfig
from dvdgan.sampling import class_grid_inputs, class_labels, generate, make_grid, write_video
from dvdgan.training.evaluate import standing_statistics
from dvdgan.training.logger import RunLogger
from dvdgan.video import uint8_to_video, video_to_uint8

MAX_ROWS = 10  # grids of models with many classes show an evenly spaced subset of them
PER_ROW = 4
UNCOND_ROWS = 4
MAX_LABEL_SCAN = 100_000  # labels looked at (no frames read) to find each class's clips for the real-data grid
MAX_CLIP_SCAN = 200  # clips read for that where the data has no label lookup


class Snapshotter:
    """One row per class, ``PER_ROW`` samples per row, the same z and contexts at every snapshot."""

    def __init__(self, cfg: DVDGANConfig, run_dir: Path, dataset, device: torch.device, enabled: bool = True):
        self.enabled, self.out = enabled, Path(run_dir) / "samples"
        self.cfg, self.dataset, self.device = cfg, dataset, device
        m = cfg.model
        # Unconditional models (and DVD-GAN-FP, one context per sample) get UNCOND_ROWS rows.
        per_class = PER_ROW if m.num_classes else PER_ROW * UNCOND_ROWS
        z, y = class_grid_inputs(m.num_classes, per_class, m.generator.z_dim, seed=cfg.train.seed + 12345,
                                 truncation=cfg.train.truncation)
        if m.num_classes > MAX_ROWS:
            keep_classes = np.linspace(0, m.num_classes - 1, MAX_ROWS).round().astype(int)
            rows = torch.cat([torch.arange(c * PER_ROW, (c + 1) * PER_ROW) for c in keep_classes])
            z, y = z[rows], y[rows]
        self.z, self.y = z, y
        self.rows = min(m.num_classes, MAX_ROWS) if m.num_classes else UNCOND_ROWS
        self.row_labels = class_labels(y[::PER_ROW], m.class_names) if y is not None else None  # each row's class
        self.context = None
        if m.context_frames and enabled:
            clips = torch.stack([torch.as_tensor(dataset[i][0]) for i in range(len(z))])
            self.context = uint8_to_video(clips)[:, : m.context_frames]

    def write(self, G: nn.Module, step: int, logger: RunLogger | None = None) -> Path | None:
        if not self.enabled:
            return None
        was_training = G.training
        G.eval()
        with standing_statistics(G, self.cfg, self.dataset, self.device):
            videos = generate(G, self.z, self.y, batch_size=16, context=self.context).numpy()
        G.train(was_training)
        if self.context is not None:
            ctx = video_to_uint8(self.context).numpy()
            videos = np.concatenate([ctx, videos], axis=1)
        grid = make_grid(videos, rows=self.rows, row_labels=self.row_labels)
        path = self.out / f"samples-{step:08d}.mp4"
        write_video(path, grid)
        write_video(path.with_suffix(".gif"), grid)
        if logger is not None:
            logger.video("samples", grid, step)
        return path

    def real_clips(self) -> np.ndarray:
        """Training clips laid out as the sample grids: per class row, that class's first ``PER_ROW`` clips (found
        by label, without reading other clips); DVD-GAN-FP: the clips whose starts are the grids' contexts."""
        if self.context is not None or self.y is None:
            return np.stack([np.asarray(self.dataset[i][0]) for i in range(len(self.z))])
        wanted = [int(c) for c in self.y[::PER_ROW]]
        label = getattr(self.dataset, "label", None)
        scan = MAX_LABEL_SCAN if label is not None else MAX_CLIP_SCAN  # without labels, each look reads a clip
        label = label or (lambda i: int(self.dataset[i][1]))
        found: dict[int, list[int]] = {c: [] for c in wanted}
        for i in range(min(len(self.dataset), scan)):
            c = int(label(i))
            if c in found and len(found[c]) < PER_ROW:
                found[c].append(i)
                if all(len(v) == PER_ROW for v in found.values()):
                    break
        clips = {i: np.asarray(self.dataset[i][0]) for v in found.values() for i in v}
        if not clips:
            raise ValueError(f"none of the first {scan} clips is of a class the grid shows")
        black = np.zeros_like(next(iter(clips.values())))
        # a class with fewer clips than a row: the rest of its row is black
        return np.stack([clips[found[c][k]] if k < len(found[c]) else black for c in wanted for k in range(PER_ROW)])

    def write_reals(self, logger: RunLogger | None = None) -> Path | None:
        """``samples/reals.{mp4,gif}``: real clips in the sample grids' layout, to hold the samples against."""
        if not self.enabled:
            return None
        grid = make_grid(self.real_clips(), rows=self.rows, row_labels=self.row_labels)
        path = self.out / "reals.mp4"
        write_video(path, grid)
        write_video(path.with_suffix(".gif"), grid)
        if logger is not None:
            logger.video("reals", grid, 0)
        return path
