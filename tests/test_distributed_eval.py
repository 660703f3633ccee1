"""Evaluation spread over 2 gloo ranks equals one process's: sample metrics, FVD/IS (cached real statistics),
KVD, DVD-GAN-FP metrics, standing statistics."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from dvdgan.config import load_preset
from dvdgan.data import build_dataset
from dvdgan.models import Generator

WORLD = 2
COMMON = ["model.resolution=16", "model.num_frames=9", "model.generator.ch=2", "model.discriminator.ch=4",
          "model.discriminator.k_frames=2", "data.source=motion", "model.num_classes=8", "eval.batch_size=3",
          "eval.protocol=fvd20_9f"]
# 10 sample clips and 20 FVD clips (IS: 10 splits of 2) split 5/5 and 10/10 over the ranks, in batches of 3: other
# batches than one process's.
CASES = {
    "synthesis": (["eval.standing_stats=6"], ["class_acc", "motion", "travel", "fvd", "is"]),
    "fp": (["model.context_frames=2"], ["psnr_ssim", "continuation", "class_acc", "kvd"]),
}


class StandInI3D(nn.Module):
    """A small fixed network in the I3D's place (400 features per clip): the merging is what is under test."""

    weights_sha256 = "stand-in"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.proj = nn.Linear(3 * 4 * 4, 400)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        b, t = x.shape[:2]
        pooled = F.adaptive_avg_pool2d(x.flatten(0, 1), 4).view(b, t, -1).mean(1)
        return 30 * self.proj(pooled), None  # logits large enough for IS to be more than 1


def _evaluate(case: str) -> dict:
    from dvdgan.training import evaluate, metric_plan

    evaluate.load_i3d = lambda device: StandInI3D()
    metric_plan._i3d_problem = lambda: None
    extra, metrics = CASES[case]
    cfg = load_preset("tiny").override(COMMON + extra)
    dataset = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=1)
    torch.manual_seed(0)
    G = Generator(cfg.model)
    return evaluate.evaluate_generator(G, cfg, dataset, torch.device("cpu"), metrics=metrics, num_samples=10)


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    os.environ["DVDGAN_CACHE"] = str(Path(out_dir) / "cache")
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    torch.set_num_threads(1)
    try:
        results = {case: _evaluate(case) for case in CASES}
        (Path(out_dir) / f"rank{rank}.json").write_text(json.dumps(results))
    finally:
        dist.destroy_process_group()


def _close(a, b, key: str) -> None:
    if isinstance(a, list):
        assert len(a) == len(b), key
        for x, y in zip(a, b, strict=True):
            _close(x, y, key)
    elif isinstance(a, float) and math.isnan(a):  # a class no clip was made of
        assert math.isnan(b), (key, a, b)
    elif isinstance(a, float):
        # Profiles are reported rounded to 4 decimals, so two sums that differ in their last bits can come out one
        # unit of the 4th decimal apart; that difference, computed in floats, exceeds 1e-4 by an ulp.
        assert abs(a - b) <= 1e-4 * max(1.0, abs(b)) + 1e-12, (key, a, b)
    else:
        assert a == b, (key, a, b)


def test_two_ranks_equal_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=True)
    monkeypatch.setenv("DVDGAN_CACHE", str(tmp_path / "single-cache"))
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    assert ranks[0] == ranks[1]  # every rank returns the same result
    assert list((tmp_path / "cache" / "fvd-stats").glob("*.npz"))  # rank 0 cached the merged real statistics
    for case in CASES:
        single = _evaluate(case)
        assert set(single) == set(ranks[0][case])
        for key, value in single.items():
            _close(ranks[0][case][key], value, f"{case}.{key}")
    assert ranks[0]["synthesis"]["num_fake"] == 20 and ranks[0]["fp"]["class_acc_samples"] == 10


def test_shards_cover_every_clip_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from dvdgan.training import evaluate

    for world in (1, 2, 3, 4):
        shards = []
        for rank in range(world):
            monkeypatch.setattr(evaluate, "_rank_world", lambda r=rank, w=world: (r, w))
            shards.append(list(evaluate._shard(10)))
        assert sum(shards, []) == list(range(10))
