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
        # foreach: the same lerp and copy per tensor, in a few kernel launches instead of one per tensor
        shadow, params = list(self.shadow.parameters()), [p.detach() for p in self.model.parameters()]
        if len(shadow) != len(params):
            raise ValueError("EMA: the shadow and the model have different parameters")
        torch._foreach_lerp_(shadow, params, 1.0 - decay)
        torch._foreach_copy_(list(self.shadow.buffers()), list(self.model.buffers()))
