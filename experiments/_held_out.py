"""Shared by the discriminator diagnostics: a run's discriminator and held-out real clips of the run's data."""

from __future__ import annotations

import torch

from dvdgan.data import build_dataset
from dvdgan.training.checkpoint import LoadedCheckpoint, load_checkpoint
from dvdgan.video import uint8_to_video


def discriminator_and_clips(
    run: str, clips: int, seed_offset: int
) -> tuple[LoadedCheckpoint, torch.Tensor, torch.Tensor | None]:
    """(checkpoint with D in eval mode, ``clips`` real videos in [-1, 1], their labels or None); the clips come from
    the run's data at seed ``train.seed + seed_offset``, so training never saw them."""
    ckpt = load_checkpoint(run, networks=("D",))
    ckpt.D.eval()
    cfg = ckpt.config
    data = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + seed_offset)
    items = [data[i] for i in range(clips)]
    video = uint8_to_video(torch.stack([torch.as_tensor(x) for x, _ in items]))
    labels = torch.tensor([label for _, label in items]) if cfg.model.num_classes else None
    return ckpt, video, labels
