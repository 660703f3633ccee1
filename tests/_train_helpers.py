"""Small configs and helpers shared by the training tests."""

from __future__ import annotations

from pathlib import Path

import torch

from dvdgan.config import DVDGANConfig, load_preset

MICRO = [
    "model.resolution=16",
    "model.num_frames=4",
    "model.generator.ch=2",
    "model.discriminator.ch=4",
    "model.discriminator.k_frames=2",
    "train.batch_size=4",
    "train.d_steps=2",
    "train.log_every=1",
    "train.sample_every=0",
    "train.checkpoint_every=2",
    "train.keep_checkpoints=10",
    "train.ema_start=1",
    "train.device=cpu",
]


def micro_cfg(*extra: str, preset: str = "tiny") -> DVDGANConfig:
    return load_preset(preset).override([*MICRO, *extra])


def load_payload(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_states_equal(a: dict, b: dict, keys=("G", "D", "G_ema"), atol: float = 0.0, skip: str = "") -> None:
    for key in keys:
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            if skip and skip in name:
                continue
            x, y = a[key][name], b[key][name]
            if atol == 0.0:
                assert torch.equal(x, y), f"{key}.{name} differs"
            else:
                assert torch.allclose(x, y, atol=atol, rtol=0), f"{key}.{name} differs by {(x - y).abs().max()}"
