"""InfiniteSampler: rank shards disjoint within a cycle and covering the data, deterministic, infinite."""

from __future__ import annotations

import itertools

import pytest

from dvdgan.data import InfiniteSampler


def _take(sampler: InfiniteSampler, n: int) -> list[int]:
    return list(itertools.islice(iter(sampler), n))


@pytest.mark.parametrize("size,world", [(10, 1), (10, 2), (11, 3), (7, 4)])
def test_rank_shards_are_disjoint_and_cover_each_cycle(size, world):
    for cycle in range(3):
        shards = [InfiniteSampler(size, rank, world, seed=5).cycle(cycle).tolist() for rank in range(world)]
        flat = [i for shard in shards for i in shard]
        assert sorted(flat) == list(range(size))  # disjoint and complete
        assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_deterministic_per_seed_and_infinite():
    a = _take(InfiniteSampler(9, seed=3), 100)
    assert a == _take(InfiniteSampler(9, seed=3), 100)
    assert a != _take(InfiniteSampler(9, seed=4), 100)
    assert len(a) == 100 and set(a) == set(range(9))
    assert a[:9] != a[9:18] and sorted(a[:9]) == sorted(a[9:18]) == list(range(9))  # new order every cycle
    assert _take(InfiniteSampler(4, shuffle=False), 10) == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]


def test_cycle_offsets_number_every_pass():
    got = _take(InfiniteSampler(5, rank=1, world_size=2, seed=0, cycle_offsets=True), 9)
    plain = _take(InfiniteSampler(5, rank=1, world_size=2, seed=0), 9)
    assert [g % 5 for g in got] == plain
    assert [g // 5 for g in got] == [0, 0, 1, 1, 2, 2, 3, 3, 4]  # rank 1 of 2 takes 2 of 5 per pass


def test_invalid_arguments():
    with pytest.raises(ValueError):
        InfiniteSampler(0)
    with pytest.raises(ValueError):
        InfiniteSampler(5, rank=2, world_size=2)
    with pytest.raises(ValueError):
        InfiniteSampler(1, rank=0, world_size=2)
