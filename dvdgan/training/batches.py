"""Which samples and which random numbers every micro-batch uses.

Everything random in a training step is a pure function of ``(seed, step, phase, micro-batch index)``: the real
clips (positions in one seeded global index stream) and the torch RNG seed used for z, fake labels and D_S's
frame choice. So a resumed run continues exactly where the killed one stopped, and at a fixed micro-batch a run
gives the same result (to float reduction order) whatever its world size or gradient accumulation as long as G's
BN is per rank: with cross-replica BN its statistics cover micro-batch x world size clips (docs/architecture.md
section 4).

Global micro-batch ``g = accum_index * world_size + rank`` of a phase covers stream positions
``[g * micro, (g + 1) * micro)`` of that phase's global batch: ranks read disjoint shards of every batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


def micro_seed(seed: int, step: int, phase: int, g: int) -> int:
    """A 63-bit seed for one micro-batch's random numbers."""
    return int(np.random.SeedSequence([seed, step, phase, g]).generate_state(2, np.uint64)[0] >> np.uint64(1))


class GlobalStream:
    """Position -> dataset index: one seeded permutation of the dataset per pass (cycle).

    Pass ``c`` yields ``index + c * size``: the datasets of :mod:`dvdgan.data` accept any index and draw a new clip
    window, flip or procedural clip on every pass instead of repeating the first one's.
    """

    def __init__(self, size: int, seed: int):
        if size <= 0:
            raise ValueError("the dataset is empty")
        self.size, self.seed = size, seed
        self._cycle, self._perm = -1, np.empty(0, dtype=np.int64)

    def __getitem__(self, position: int) -> int:
        cycle, offset = divmod(position, self.size)
        if cycle != self._cycle:
            self._perm = np.random.default_rng([self.seed, cycle]).permutation(self.size)
            self._cycle = cycle
        return int(self._perm[offset]) + cycle * self.size


@dataclass(frozen=True)
class BatchLayout:
    """Batch arithmetic: global batch = micro * world_size * accum."""

    batch_size: int  # global batch per D or G step
    micro: int  # per-rank forward batch
    world_size: int
    data_phases: int  # phases per step that read real clips (D steps, plus the G step for DVD-GAN-FP)

    @property
    def accum(self) -> int:
        return self.batch_size // (self.micro * self.world_size)

    @classmethod
    def create(cls, batch_size: int, micro_batch: int, world_size: int, data_phases: int) -> BatchLayout:
        micro = micro_batch or batch_size // world_size
        if micro <= 0 or batch_size % (micro * world_size):
            raise ValueError(
                f"train.batch_size={batch_size} must be a multiple of train.micro_batch={micro} x "
                f"world size {world_size}"
            )
        return cls(batch_size, micro, world_size, data_phases)


class RankBatchSampler:
    """Yields this rank's micro-batches of dataset indices, in training order, from ``start_step`` on (infinite)."""

    def __init__(self, stream: GlobalStream, layout: BatchLayout, rank: int, start_step: int = 0):
        self.stream, self.layout, self.rank, self.start_step = stream, layout, rank, start_step

    def __iter__(self) -> Iterator[list[int]]:
        lay = self.layout
        step = self.start_step
        while True:
            for phase in range(lay.data_phases):
                base = (step * lay.data_phases + phase) * lay.batch_size
                for a in range(lay.accum):
                    g = a * lay.world_size + self.rank
                    start = base + g * lay.micro
                    yield [self.stream[p] for p in range(start, start + lay.micro)]
            step += 1
