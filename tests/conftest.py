"""Shared fixtures: tiny CPU configs and a fixed seed."""

from __future__ import annotations

import pytest
import torch

from dvdgan.config import DVDGANConfig, load_preset


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _threads():
    """Each test starts with the suite's thread count: a test that raises it, or a run with ``train.threads``, must
    not change the float rounding of the tests after it (the DDP comparison failed in the full suite when the
    single-process run inherited 2 threads from an earlier test while its ranks used 1)."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


# The test models are tiny: one thread avoids OpenMP spin-waiting, which makes small convolutions ~10x slower
# when the two cores are shared. Tests of big networks (I3D) raise it locally.
torch.set_num_threads(1)


@pytest.fixture
def tiny_cfg() -> DVDGANConfig:
    """A very small model (16x16, 4 frames, 3 classes) for fast unit tests."""
    return load_preset("tiny").override(
        [
            "model.resolution=16",
            "model.num_frames=4",
            "model.num_classes=3",
            "model.generator.ch=2",
            "model.discriminator.ch=4",
            "model.discriminator.k_frames=2",
            # the paper's D_T (the tiny preset's own D_T options are tested where they are named)
            "model.discriminator.temporal_ch=0",
            "model.discriminator.temporal_pool=2",
            "model.discriminator.temporal_input=frames",
        ]
    )
