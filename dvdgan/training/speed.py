"""Speed switches of the training step [ours; issue 15]: optimiser implementation, memory format, activation
checkpointing and ``torch.compile``. Each is a config flag; those that change float rounding are off by default."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable

import torch
from torch import nn

from dvdgan.config import TrainConfig
from dvdgan.models.checkpointing import set_checkpointing


def adam(module: nn.Module, lr: float, t: TrainConfig, device: torch.device) -> torch.optim.Adam:
    """Adam over ``module``'s parameters. ``foreach`` (the default, the same arithmetic as the per-tensor loop)
    updates all tensors in a few kernel launches; ``train.fused_optimizer`` uses the single fused kernel
    (rounding may differ in the last bit)."""
    kwargs = {"fused": True} if t.fused_optimizer else {"foreach": device.type != "mps"}
    return torch.optim.Adam(module.parameters(), lr=lr, betas=tuple(t.betas), eps=t.adam_eps, **kwargs)


def apply_memory_format(modules: Iterable[nn.Module], channels_last: bool) -> None:
    """Store 2-D conv weights channels_last (3-D: channels_last_3d); convolutions then return that layout and
    oneDNN/cuDNN skip the NCHW reorders. Parameters are restrided in place, so optimisers built later see them."""
    if not channels_last:
        return
    for module in modules:
        for p in module.parameters():
            fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(p.ndim)
            if fmt is not None:
                p.data = p.data.contiguous(memory_format=fmt)


def set_activation_checkpointing(modules: Iterable[nn.Module], enabled: bool) -> None:
    """Recompute G's levels and D's blocks in the backward pass instead of storing their activations."""
    for module in modules:
        set_checkpointing(module, enabled)


def compiler_problem(device: torch.device) -> str | None:
    """Why ``torch.compile`` cannot run here (inductor on a CPU needs a C++ compiler), or None."""
    if device.type == "cpu" and not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        return "torch.compile on the CPU needs a C++ compiler (c++, g++ or clang++) on PATH; none was found"
    return None


def compile_networks(G: nn.Module, D: nn.Module, device: torch.device) -> tuple[nn.Module, nn.Module]:
    """``torch.compile`` both networks, or leave them eager with a one-line warning when no compiler exists."""
    problem = compiler_problem(device)
    if problem is not None:
        print(f"warning: {problem}; train.compile=true ignored, running eagerly", file=sys.stderr)
        return G, D
    return torch.compile(G), torch.compile(D)
