"""G_ema's BN statistics from its own clips (BigGAN's standing statistics, ``eval.standing_stats``)."""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from _train_helpers import load_payload, micro_cfg
from dvdgan.config import DVDGANConfig
from dvdgan.data import build_dataset
from dvdgan.models import Generator
from dvdgan.models.layers import batch_statistics, conditional_bns
from dvdgan.sampling import recompute_standing_statistics, standing_inputs
from dvdgan.training.checkpoint import load_checkpoint
from dvdgan.training.evaluate import evaluate_generator, standing_statistics
from dvdgan.training.loop import train


def _classes(cfg: DVDGANConfig) -> torch.Tensor:
    return torch.arange(cfg.model.num_classes)


def _batch_statistics_output(G: Generator, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """What G makes when BN normalises with the statistics of this (large) batch itself."""
    G = copy.deepcopy(G)
    with torch.no_grad(), batch_statistics(G):
        return G(z, y)


def _ema_like(G: Generator) -> Generator:
    """A copy with other weights but G's running statistics: what the EMA gives (weights lag, statistics copied)."""
    lagging = copy.deepcopy(G)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in lagging.parameters():
            p.add_(0.5 * p.std() * torch.randn(p.shape, generator=gen))
    return lagging


def test_standing_statistics_match_the_weights(tiny_cfg: DVDGANConfig) -> None:
    G = Generator(tiny_cfg.model)
    recompute_standing_statistics(G, standing_inputs(G, 512, 64, seed=0, classes=_classes(tiny_cfg), contexts=None))
    G_ema = _ema_like(G).eval()
    sn_vectors = {n: b.clone() for n, b in G_ema.named_buffers() if n.endswith(("_u", "_v"))}
    gen = torch.Generator().manual_seed(2)
    z, y = torch.randn(256, G.z_dim, generator=gen), torch.arange(256) % tiny_cfg.model.num_classes
    target = _batch_statistics_output(G_ema, z, y)
    with torch.no_grad():
        copied = (G_ema(z, y) - target).abs().mean().item()
        batches = recompute_standing_statistics(
            G_ema, standing_inputs(G_ema, 512, 64, seed=3, classes=_classes(tiny_cfg), contexts=None))
        standing = (G_ema(z, y) - target).abs().mean().item()
    assert batches == 8
    # The statistics now belong to these weights (measured: 0.36 -> 0.04, the rest is the target's own batch noise).
    assert standing < copied / 5, (standing, copied)
    assert not G_ema.training and all(not m.training for m in conditional_bns(G_ema))  # modes restored
    for name, value in sn_vectors.items():  # no SN power iteration ran
        assert torch.equal(dict(G_ema.named_buffers())[name], value), name


def _head_statistics_at_generation(G: Generator, into: list) -> None:
    def record(module, args):
        if not G.head_bn.training:  # generating, not recomputing statistics
            into.append(G.head_bn.running_mean.clone())

    G.register_forward_pre_hook(record)


def test_evaluation_option_uses_and_then_restores_standing_statistics(tiny_cfg: DVDGANConfig) -> None:
    cfg = tiny_cfg.override(["data.source=shapes", "eval.batch_size=4"])
    dataset = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=1)
    G = _ema_like(Generator(cfg.model)).eval()
    for m in conditional_bns(G):  # statistics that are plainly not G's: the test can tell them apart
        m.running_mean.fill_(0.5)
    stored = G.head_bn.running_mean.clone()
    seen: list[torch.Tensor] = []
    _head_statistics_at_generation(G, seen)
    evaluate_generator(G, cfg, dataset, torch.device("cpu"), metrics=["motion"], num_samples=4)
    assert seen and all(torch.equal(s, stored) for s in seen)  # off (0): the stored statistics
    standing_cfg = cfg.override(["eval.standing_stats=32"])
    with standing_statistics(G, standing_cfg, dataset, torch.device("cpu")):
        expected = G.head_bn.running_mean.clone()
    seen.clear()
    evaluate_generator(G, standing_cfg, dataset, torch.device("cpu"), metrics=["motion"], num_samples=4)
    assert seen and all(torch.equal(s, expected) for s in seen)
    assert not torch.allclose(expected, stored)
    assert torch.equal(G.head_bn.running_mean, stored)  # G_ema itself is left as it was


def test_checkpoints_hold_g_emas_own_statistics(tmp_path: Path) -> None:
    cfg = micro_cfg("train.steps=2", "eval.standing_stats=16")
    payload = load_payload(train(cfg, tmp_path / "run", quiet=True).last_checkpoint)
    stored = {k: v for k, v in payload["G_ema"].items() if "running_" in k}
    assert any(not torch.equal(v, payload["G"][k]) for k, v in stored.items())  # not those the EMA copies from G
    loaded = load_checkpoint(tmp_path / "run")
    assert loaded.standing_stats == 16  # the checkpoint says whose statistics G_ema holds
    G_ema = loaded.G_ema
    dataset = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed)
    with standing_statistics(G_ema, cfg, dataset, torch.device("cpu")):  # G_ema's own, recomputed: the same
        for name, value in G_ema.state_dict().items():
            if "running_" in name:
                torch.testing.assert_close(value, stored[name])
