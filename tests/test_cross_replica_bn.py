"""Cross-replica BN: G on 2 gloo ranks equals G in one process with the whole batch (docs/architecture.md section 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dvdgan.config import DVDGANConfig, load_preset
from dvdgan.models import Generator

WORLD = 2
MICROS = (1, 2)


def _cfg(cross_replica: bool = True) -> DVDGANConfig:
    return load_preset("tiny").override([
        "model.resolution=16", "model.num_frames=3", "model.num_classes=3", "model.generator.ch=2",
        "model.discriminator.k_frames=2", f"model.generator.cross_replica_bn={str(cross_replica).lower()}",
    ])


def _inputs(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """z, y and a fixed weighting of the output for a batch of ``n``, the same in every process."""
    gen = torch.Generator().manual_seed(7)
    cfg = _cfg().model
    z = torch.randn(n, cfg.generator.z_dim, generator=gen)
    y = torch.randint(cfg.num_classes, (n,), generator=gen)
    w = torch.randn(n, cfg.num_frames, 3, cfg.resolution, cfg.resolution, generator=gen)
    return z, y, w


def _step(G: Generator, z: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> dict[str, torch.Tensor]:
    """One training-mode forward and backward: output, parameter gradients, BN running statistics."""
    out = G(z, y)
    (out * w).sum().backward()
    grads = {f"grad.{n}": p.grad.clone() for n, p in G.named_parameters()}
    stats = {f"buf.{n}": b.clone() for n, b in G.named_buffers() if "running_" in n}
    return {"out": out.detach(), **grads, **stats}


def _fresh_generator(cross_replica: bool) -> Generator:
    torch.manual_seed(0)  # the same weights in every process
    return Generator(_cfg(cross_replica).model).train()


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    torch.set_num_threads(1)
    try:
        for micro in MICROS:
            z, y, w = _inputs(WORLD * micro)
            shard = slice(rank * micro, (rank + 1) * micro)
            for cross in (True, False):
                result = _step(_fresh_generator(cross), z[shard], y[shard], w[shard])
                for name, value in result.items():
                    if name.startswith("grad."):
                        dist.all_reduce(value)  # the gradient of the summed loss of both ranks
                torch.save(result, Path(out_dir) / f"rank{rank}-micro{micro}-cross{int(cross)}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cross_replica")
    mp.spawn(_worker, args=(str(out / "init"), str(out)), nprocs=WORLD, join=True)
    return out


@pytest.mark.parametrize("micro", MICROS)
def test_two_ranks_equal_one_process_with_the_whole_batch(rank_results: Path, micro: int) -> None:
    z, y, w = _inputs(WORLD * micro)
    whole = _step(_fresh_generator(True), z, y, w)  # one process, no process group: plain batch norm
    ranks = [torch.load(rank_results / f"rank{r}-micro{micro}-cross1.pt", weights_only=True) for r in range(WORLD)]
    torch.testing.assert_close(torch.cat([r["out"] for r in ranks]), whole["out"], atol=2e-5, rtol=0)
    # Gradients (summed over ranks) and running statistics agree on every rank, to float32 rounding: relative to
    # each tensor and, for the biases before a BN (whose exact gradient is 0), to the largest gradient.
    scale = max(v.abs().max().item() for n, v in whole.items() if n.startswith("grad."))
    for name, value in whole.items():
        if name == "out":
            continue
        for r in ranks:
            err = (r[name] - value).abs().max().item()
            assert err <= 1e-5 * value.abs().max().item() + 1e-6 * scale, f"{name} differs by {err}"
    # The check can fail: each rank normalising its own micro-batch gives another output.
    local = torch.cat([torch.load(rank_results / f"rank{r}-micro{micro}-cross0.pt", weights_only=True)["out"]
                       for r in range(WORLD)])
    assert (local - whole["out"]).abs().mean() > 1e-2


def test_one_process_is_plain_batch_norm_bit_for_bit() -> None:
    z, y, w = _inputs(4)
    a, b = _step(_fresh_generator(True), z, y, w), _step(_fresh_generator(False), z, y, w)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_start_up_line_names_the_bn_batch() -> None:
    from dvdgan.training.batches import BatchLayout
    from dvdgan.training.loop import Trainer

    trainer = Trainer.__new__(Trainer)  # just what the note reads
    trainer.cfg = _cfg(cross_replica=True)
    trainer.layout = BatchLayout.create(512, 4, 8, 2)
    note = trainer._bn_note()
    assert "statistics over 32 of the batch's 512 clips (micro-batches of 4 x 8 ranks)" in note
    assert "below 64" in note
    trainer.layout = BatchLayout.create(512, 64, 8, 2)
    assert trainer._bn_note() == ""  # the whole batch, as the paper
    trainer.cfg = _cfg(cross_replica=False)
    assert "statistics over 64 of the batch's 512 clips" in trainer._bn_note()  # per rank
