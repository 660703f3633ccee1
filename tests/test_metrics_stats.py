"""FeatureStats (streaming, mergeable, DDP) and the Fréchet distance (docs/architecture.md section 7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dvdgan.metrics import FeatureStats, frechet_distance


def stats_of(x: np.ndarray, keep: bool = False) -> FeatureStats:
    s = FeatureStats(x.shape[1], keep_features=keep)
    s.update(x)
    return s


def test_mean_and_unbiased_covariance() -> None:
    x = np.random.default_rng(0).normal(size=(50, 6)) * 3 + 5
    s = stats_of(x)
    np.testing.assert_allclose(s.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(s.cov, np.cov(x, rowvar=False, ddof=1), rtol=1e-9, atol=1e-12)
    assert not np.allclose(s.cov, np.cov(x, rowvar=False, ddof=0))


def test_merged_shards_equal_whole_set() -> None:
    x = np.random.default_rng(1).normal(size=(103, 8))
    whole = stats_of(x, keep=True)
    merged = FeatureStats(8, keep_features=True)
    for shard in np.array_split(x, [10, 11, 60]):
        part = FeatureStats(8, keep_features=True)
        part.update(torch.from_numpy(shard))  # torch batches are accepted too
        merged.merge(part)
    assert merged.count == whole.count == 103
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(merged.cov, whole.cov, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(merged.features, x)
    with pytest.raises(ValueError, match="dim"):
        merged.merge(FeatureStats(3))


def test_save_load_roundtrip(tmp_path: Path) -> None:
    s = stats_of(np.random.default_rng(2).normal(size=(20, 5)), keep=True)
    path = s.save(tmp_path / "sub" / "stats.npz")
    assert [p.name for p in path.parent.iterdir()] == ["stats.npz"]  # no temporary files left behind
    t = FeatureStats.load(path)
    assert t.count == 20 and t.keep_features
    np.testing.assert_array_equal(t.sum_outer, s.sum_outer)
    np.testing.assert_array_equal(t.features, s.features)


def _ddp_worker(rank: int, world: int, init_file: str, shards: list[np.ndarray], out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        s = stats_of(shards[rank], keep=True).all_reduce()
        s.save(Path(out_dir) / f"rank{rank}.npz")
    finally:
        dist.destroy_process_group()


def test_all_reduce_across_ranks(tmp_path: Path) -> None:
    x = np.random.default_rng(3).normal(size=(30, 4))
    shards = [x[:12], x[12:]]
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "init"), shards, str(tmp_path)), nprocs=2, join=True)
    whole = stats_of(x)
    for rank in range(2):
        s = FeatureStats.load(tmp_path / f"rank{rank}.npz")
        assert s.count == 30
        np.testing.assert_allclose(s.cov, whole.cov, rtol=1e-10)
        np.testing.assert_array_equal(s.features, x)  # gathered in rank order


def test_all_reduce_is_noop_without_process_group() -> None:
    s = stats_of(np.ones((3, 2)))
    assert s.all_reduce() is s and s.count == 3


def test_frechet_zero_for_identical_statistics() -> None:
    x = np.random.default_rng(4).normal(size=(500, 16))
    s = stats_of(x)
    assert abs(frechet_distance(s, s)) < 1e-8
    assert abs(frechet_distance(s.mean, s.cov, s.mean, s.cov)) < 1e-8


def test_frechet_closed_form_diagonal() -> None:
    rng = np.random.default_rng(5)
    mu1, mu2 = rng.normal(size=10), rng.normal(size=10)
    s1, s2 = rng.uniform(0.1, 4, 10), rng.uniform(0.1, 4, 10)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-9)


def test_frechet_closed_form_commuting_covariances() -> None:
    # S1 = R diag(a) R^T, S2 = R diag(b) R^T  =>  Tr(S1 + S2 - 2 (S1 S2)^1/2) = sum (sqrt a - sqrt b)^2.
    rng = np.random.default_rng(6)
    r, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    a, b = rng.uniform(0.5, 3, 12), rng.uniform(0.5, 3, 12)
    mu = rng.normal(size=12)
    fd = frechet_distance(mu, r @ np.diag(a) @ r.T, mu + 1.0, r @ np.diag(b) @ r.T)
    assert fd == pytest.approx(12.0 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2), rel=1e-8)


def test_frechet_symmetric() -> None:
    rng = np.random.default_rng(7)
    s1 = stats_of(rng.normal(size=(200, 20)))
    s2 = stats_of(rng.normal(size=(200, 20)) * 1.5 + 0.3)
    d12, d21 = frechet_distance(s1, s2), frechet_distance(s2, s1)
    assert d12 > 1.0
    assert d12 == pytest.approx(d21, rel=1e-8)


@pytest.mark.parametrize("n", [5, 30, 399])
def test_frechet_stable_with_rank_deficient_covariances(n: int) -> None:
    # Fewer samples than dimensions (as a 16- or 256-clip FVD on 400-d logits): finite and non-negative.
    rng = np.random.default_rng(n)
    s1 = stats_of(rng.normal(size=(n, 400)) * 2)
    s2 = stats_of(rng.normal(size=(n, 400)) * 2 + 0.2)
    fd = frechet_distance(s1, s2)
    assert np.isfinite(fd) and fd > 0
    same = frechet_distance(s1, s1)
    assert np.isfinite(same) and 0 <= same < 1e-3 * fd


def test_frechet_falls_back_to_eps_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    from dvdgan.metrics import frechet

    calls: list[np.ndarray] = []
    real_sqrtm = frechet._sqrtm

    def flaky_sqrtm(mat: np.ndarray) -> np.ndarray:
        calls.append(mat)
        return np.full_like(mat, np.nan) if len(calls) == 1 else real_sqrtm(mat)

    monkeypatch.setattr(frechet, "_sqrtm", flaky_sqrtm)
    s1, s2 = np.diag([1.0, 4.0]), np.diag([4.0, 1.0])
    fd = frechet_distance(np.zeros(2), s1, np.zeros(2), s2)
    assert len(calls) == 2 and not np.array_equal(calls[1], s1 @ s2)  # retried with eps * I added
    assert fd == pytest.approx(2.0, abs=1e-4)  # (1-2)^2 + (2-1)^2
