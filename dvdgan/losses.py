"""The training objective: hinge losses for the dual discriminator [paper v2 section 4], and our extra terms.

The hinge is applied to each discriminator's score and the results are summed:
``L_D = sum_{S,T} E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` and ``L_G = -sum_{S,T} E[D(G(z))]``.
``d_objective`` and ``g_objective`` add the terms of ``ExtraTerms`` [ours] (all off: the paper's objective) to
these; the training loop calls them with named sub-batches of D's outputs and logs the terms they return.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

PerHead = dict[str, torch.Tensor]  # a discriminator output by head: {"spatial": ..., "temporal": ...}
Terms = dict[str, torch.Tensor]  # logged values by name: d_* and g_* add up to the loss, score_std_* are diagnostics


@dataclass(frozen=True)
class ExtraTerms:
    """Weights of the terms beyond the paper's hinge loss [ours], from ``train.extra_terms``; the defaults are the
    paper's objective."""

    class_d: float = 0.0  # class_loss: D classifies the real clips through its projection
    class_g: float = 0.0  # class_loss_g (None there: class_loss): G's clips should show their label
    class_g_cap: bool = False  # class_loss_g_cap
    mode_seeking: float = 0.0  # mode_seeking (0 for DVD-GAN-FP: no pairs to compare)


@dataclass
class DOutputs:
    """D's outputs on one micro-batch of real and generated clips, by sub-batch: each is ``{head: tensor}``
    (heads ``spatial`` and ``temporal``), scores ``[n]`` and class logits ``[n, positions, classes]``."""

    real: PerHead
    fake: PerHead
    real_logits: PerHead = field(default_factory=dict)  # only with a class loss

    @classmethod
    def split(cls, scores: PerHead, logits: PerHead, n: int) -> DOutputs:
        """From D's outputs on ``cat([real, fake])``, ``n`` clips each (one forward pass: one SN step)."""
        return cls({k: v[:n] for k, v in scores.items()}, {k: v[n:] for k, v in scores.items()},
                   {k: v[:n] for k, v in logits.items()})


@dataclass
class GOutputs:
    """G's micro-batch as its objective sees it: the clips, their noise and labels, and D's outputs on them."""

    video: torch.Tensor  # [n, T, 3, H, W]
    z: torch.Tensor  # [n, z_dim]
    y: torch.Tensor | None  # [n] labels (None: unconditional)
    scores: PerHead
    logits: PerHead = field(default_factory=dict)  # only with a class loss


def d_objective(out: DOutputs, y: torch.Tensor | None, extra: ExtraTerms) -> tuple[torch.Tensor, Terms]:
    """D's loss on one micro-batch and its logged terms: the hinge, and with ``class_d`` the class loss."""
    parts = [d_hinge_loss(out.real, out.fake)]
    if out.real_logits:
        parts.append(class_loss(out.real_logits, y, extra.class_d, "d"))
    loss, terms = _added(parts)
    return loss, terms | score_spread(out)


def g_objective(out: GOutputs, extra: ExtraTerms) -> tuple[torch.Tensor, Terms]:
    """G's loss on one micro-batch and its logged terms: the hinge, then the mode-seeking and class terms."""
    parts = [g_hinge_loss(out.scores)]
    if extra.mode_seeking:
        parts.append(mode_seeking_loss(out.video.float(), out.z, extra.mode_seeking))
    if out.logits and extra.class_g:
        parts.append(class_loss(out.logits, out.y, extra.class_g, "g", extra.class_g_cap))
    return _added(parts)


def _added(parts: list[tuple[torch.Tensor, Terms]]) -> tuple[torch.Tensor, Terms]:
    """The sum of the parts' losses, added in the order given (float addition is not associative), and their terms."""
    loss, terms = parts[0]
    for part_loss, part_terms in parts[1:]:
        loss, terms = loss + part_loss, terms | part_terms
    return loss, terms


def score_spread(out: DOutputs) -> Terms:
    """``score_std_<head>``: the spread of each head's scores over the real and fake clips. About 0 means its head
    units have died and it answers a constant (tiny's D_T at width 4 did; docs/results.md section 7)."""
    return {f"score_std_{k}": torch.cat([out.real[k], out.fake[k]]).detach().std() for k in out.real}


def d_hinge_loss(
    real: dict[str, torch.Tensor], fake: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Discriminator hinge loss summed over the discriminators; also returns the per-term values."""
    terms: dict[str, torch.Tensor] = {}
    for name in real:
        terms[f"d_real_{name}"] = torch.relu(1.0 - real[name]).mean()
        terms[f"d_fake_{name}"] = torch.relu(1.0 + fake[name]).mean()
    return sum(terms.values()), terms


def g_hinge_loss(fake: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Generator loss ``-sum_D E[D(G(z))]``; also returns the per-discriminator values."""
    terms = {f"g_{name}": -score.mean() for name, score in fake.items()}
    return sum(terms.values()), terms


def class_loss(
    logits: dict[str, torch.Tensor], y: torch.Tensor, weight: float, prefix: str, cap: bool = False
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``weight * CE(<embed(c), h>, y)`` per discriminator head, over its positions (``train.extra_terms.class_loss``).

    ``logits[name]`` is ``[B, positions, classes]``; terms are named ``{prefix}_class_{name}`` (prefix d or g).
    With ``cap`` a position whose cross-entropy exceeds ln(classes), that of logits that say nothing, adds no
    gradient (its value still counts): confidently wrong, the cheapest way down is to fade the object until D
    sees nothing, which is not the class either (``train.extra_terms.class_loss_g_cap``).
    """
    terms = {}
    for name, v in logits.items():
        ce = F.cross_entropy(v.flatten(0, 1), y.repeat_interleave(v.shape[1]), reduction="none")
        if cap:
            ce = torch.where(ce > math.log(v.shape[-1]), ce.detach(), ce)
        terms[f"{prefix}_class_{name}"] = weight * ce.mean()
    return sum(terms.values()), terms


def mode_seeking_pairs(n: int) -> tuple[slice, slice]:
    """The pairs the mode-seeking term compares in a batch of ``n``: clip i with clip i + n // 2, as the slices of
    their first and second members. G's batch gives both clips of a pair one label (``pair_labels``) and two
    noises; with n odd the last clip is in no pair."""
    half = n // 2
    return slice(0, half), slice(half, 2 * half)


def pair_labels(y: torch.Tensor) -> torch.Tensor:
    """``y`` with the second clip of each pair (``mode_seeking_pairs``) given its first clip's label."""
    first, second = mode_seeking_pairs(y.shape[0])
    paired = y.clone()
    paired[second] = y[first]
    return paired


def mode_seeking_loss(video: torch.Tensor, z: torch.Tensor, weight: float,
                      eps: float = 1e-5) -> tuple[torch.Tensor, Terms]:
    """``weight * E[1 / (mean|x1 - x2| / mean|z1 - z2| + eps)]`` over the pairs of ``mode_seeking_pairs``, which
    share labels (MSGAN, Mao et al. 2019; ``train.extra_terms.mode_seeking``)."""
    first, second = mode_seeking_pairs(video.shape[0])
    dx = (video[first] - video[second]).abs().flatten(1).mean(dim=1)
    dz = (z[first] - z[second]).abs().mean(dim=1)
    term = weight * (1.0 / (dx / dz + eps)).mean()
    # logged as g_diversity, the key's name before issue 27, so that old stats.jsonl and TensorBoard logs compare
    return term, {"g_diversity": term}
