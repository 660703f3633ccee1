"""Loss totals and the finiteness check kept on the device, read once per log interval [ours; issue 15].

``loss.item()`` or ``if not torch.isfinite(loss)`` inside a step makes the host wait for the device at every
micro-batch, which serialises a GPU step into launch-bound pieces. Here both stay device tensors; ``read`` and
``raise_if_bad`` are the only syncs, and the loop calls them at log intervals and before anything is saved.
"""

from __future__ import annotations

import torch

NETWORKS = ("discriminator", "generator")


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the run stops without saving the broken state."""


class DeviceTotals:
    """Running sums of named scalar losses on one device; ``read()`` syncs once and starts a new window."""

    def __init__(self, device: torch.device):
        self.device = device
        self._sums: dict[str, torch.Tensor] = {}
        self.steps = 0

    def add(self, terms: dict[str, torch.Tensor], scale: float) -> None:
        for k, v in terms.items():
            term = v.detach().float() * scale
            self._sums[k] = self._sums[k] + term if k in self._sums else term

    def read(self) -> dict[str, float]:
        """The window's per-step means as floats (one host-device sync), and a fresh window."""
        keys = sorted(self._sums)
        values = torch.stack([self._sums[k] for k in keys]).tolist() if keys else []
        steps = max(self.steps, 1)
        self._sums, self.steps = {}, 0
        return {k: v / steps for k, v in zip(keys, values, strict=True)}


class FiniteGuard:
    """Remembers, on the device, the first non-finite loss: (step, network, value); ``raise_if_bad`` syncs."""

    def __init__(self, device: torch.device):
        self._first = torch.tensor([-1.0, -1.0, 0.0], device=device)  # step -1: none yet

    def observe(self, loss: torch.Tensor, step: int, network: str) -> None:
        bad = ~torch.isfinite(loss.detach()) & (self._first[0] < 0)
        seen = torch.stack([torch.full_like(loss, step), torch.full_like(loss, NETWORKS.index(network)),
                            loss.detach()]).float()
        self._first = torch.where(bad, seen, self._first)

    def seen_bad(self) -> bool:
        return bool(self._first[0] >= 0)

    def raise_if_bad(self, where: str) -> None:
        step, network, value = self._first.tolist()
        if step >= 0:
            raise NonFiniteLossError(
                f"non-finite {NETWORKS[int(network)]} loss ({value}) at step {int(step)}; stopping without saving. "
                f"Resume from the last checkpoint in {where} with a lower learning rate or train.precision=fp32"
            )
