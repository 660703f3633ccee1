"""Activation checkpointing of G's levels and D's blocks that leaves training state as it was [ours; issue 15].

A checkpointed module runs its forward twice: once without storing activations, once more in the backward pass.
The second run must not change state the first already changed: spectral norm's power iteration (u, v) and the
batch-norm running statistics. During the recomputation power iteration is off (the weights are then W / sigma
with the u, v the first run left, the same sigma) and BN momentum is 0 (running statistics unchanged).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn
from torch.nn.utils.parametrizations import _SpectralNorm
from torch.utils.checkpoint import checkpoint


class Checkpointable(nn.Module):
    """A module whose ``forward`` goes through ``run_checkpointed`` when ``checkpoint_activations`` is set."""

    checkpoint_activations = False


def set_checkpointing(module: nn.Module, enabled: bool) -> None:
    for m in module.modules():
        if isinstance(m, Checkpointable):
            m.checkpoint_activations = enabled


@contextlib.contextmanager
def _replaying(module: nn.Module) -> Iterator[None]:
    """No SN power iteration and no running-statistics update inside ``module`` (restored on exit)."""
    from dvdgan.models.layers import ClassConditionalBN

    sns = [m for m in module.modules() if isinstance(m, _SpectralNorm) and m.training]
    bns = [(m, m.momentum) for m in module.modules() if isinstance(m, ClassConditionalBN)]
    for m in sns:
        m.training = False
    for m, _ in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m in sns:
            m.training = True
        for m, momentum in bns:
            m.momentum = momentum


def run_checkpointed(module: nn.Module, fn: Callable[..., torch.Tensor], *args, **kwargs) -> torch.Tensor:
    """``fn(*args, **kwargs)`` under ``torch.utils.checkpoint`` when the module asks for it and grads are on."""
    if not (module.checkpoint_activations and torch.is_grad_enabled()):
        return fn(*args, **kwargs)
    calls = [0]

    def once_then_replay(*a, **kw):
        calls[0] += 1
        with _replaying(module) if calls[0] > 1 else contextlib.nullcontext():
            return fn(*a, **kw)

    return checkpoint(once_then_replay, *args, use_reentrant=False, **kwargs)
