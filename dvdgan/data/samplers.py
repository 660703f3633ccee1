"""Infinite, rank-sharded index sampler for training [docs/architecture.md section 8: per-rank data shards].

Same idea as stylegan2-ada's ``InfiniteSampler``: every cycle draws a fresh seeded permutation of the data and
rank ``r`` takes positions ``r, r + world_size, ...`` of it, so within a cycle the shards are disjoint and
together cover every index. Ranks never wait for each other at cycle ends (the stream is infinite), so a rank
with one index more per cycle is harmless.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch.utils.data


class InfiniteSampler(torch.utils.data.Sampler[int]):
    """Yield dataset indices forever, deterministically from ``seed``.

    ``cycle_offsets=True`` yields ``index + cycle * size`` instead of ``index``: the datasets of
    :mod:`dvdgan.data` accept any index >= 0 and then draw a new clip window, flip or procedural clip for
    every pass over the data instead of repeating the first pass's (recommended for training).
    """

    def __init__(
        self,
        size: int,  # number of items in the dataset
        rank: int = 0,  # this process's rank
        world_size: int = 1,  # number of ranks sharing the data
        seed: int = 0,  # permutation seed; every rank must use the same one
        shuffle: bool = True,  # False: cycle through 0..size-1 in order
        cycle_offsets: bool = False,  # add cycle * size to every index (see class docstring)
    ) -> None:
        if size <= 0:
            raise ValueError(f"InfiniteSampler needs a non-empty dataset, got size={size}")
        if world_size <= 0 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        if size < world_size:
            raise ValueError(f"dataset of {size} items cannot be sharded over {world_size} ranks")
        self.size, self.rank, self.world_size = size, rank, world_size
        self.seed, self.shuffle, self.cycle_offsets = seed, shuffle, cycle_offsets

    def cycle(self, cycle: int) -> np.ndarray:
        """This rank's indices for pass number ``cycle`` (without offsets)."""
        if self.shuffle:
            order = np.random.default_rng([self.seed, cycle]).permutation(self.size)
        else:
            order = np.arange(self.size)
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        cycle = 0
        while True:
            offset = cycle * self.size if self.cycle_offsets else 0
            for index in self.cycle(cycle):
                yield int(index) + offset
            cycle += 1
