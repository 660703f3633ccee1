"""Exponential moving average of the generator's weights [paper v1 section 4: decay 0.9999 after 20k steps]."""

from __future__ import annotations

import torch
from torch import nn


class EMA:
    """Keeps ``shadow`` = EMA of ``model``'s parameters; buffers (BN running stats, SN vectors) are copied.

    The copied BN statistics are the live G's; ``eval.standing_stats`` recomputes the shadow's own for evaluation,
    samples and checkpoints (``dvdgan.sampling.recompute_standing_statistics``).

    Before ``start`` the shadow simply tracks the weights (BigGAN's ``ema_start``), so sampling early in a run
    shows the current generator rather than its initialisation.
    """

    def __init__(self, model: nn.Module, shadow: nn.Module, decay: float, start: int):
        self.model, self.shadow, self.decay, self.start = model, shadow, decay, start
        self.shadow.requires_grad_(False)

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Fold in the weights after optimiser step ``step`` (0-based)."""
        decay = self.decay if step >= self.start else 0.0
        for s, p in zip(self.shadow.parameters(), self.model.parameters(), strict=True):
            s.lerp_(p.detach(), 1.0 - decay)
        for s, b in zip(self.shadow.buffers(), self.model.buffers(), strict=True):
            s.copy_(b)
