"""Hinge losses for the dual discriminator [paper v2 section 4].

The hinge is applied to each discriminator's score and the results are summed:
``L_D = sum_{S,T} E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` and ``L_G = -sum_{S,T} E[D(G(z))]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


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


def d_mismatch_loss(scores: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Hinge term ``E[relu(1 + D(x, y'))]`` per discriminator for real clips with a wrong label y'
    (``train.mismatched_labels``)."""
    terms = {f"d_mismatch_{name}": torch.relu(1.0 + score).mean() for name, score in scores.items()}
    return sum(terms.values()), terms


def d_negative_loss(scores: torch.Tensor, kind: str) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Hinge term ``E[relu(1 + D_T(x))]`` for D_T on negatives made from real clips (``train.temporal_negatives``)."""
    term = torch.relu(1.0 + scores).mean()
    return term, {f"d_{kind}_temporal": term}


def class_loss(
    logits: dict[str, torch.Tensor], y: torch.Tensor, weight: float, prefix: str, cap: bool = False
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``weight * CE(<embed(c), h>, y)`` per discriminator head, over its positions (``train.class_loss``).

    ``logits[name]`` is ``[B, positions, classes]``; terms are named ``{prefix}_class_{name}`` (prefix d or g).
    With ``cap`` a position whose cross-entropy exceeds ln(classes), that of logits that say nothing, adds no
    gradient (its value still counts): confidently wrong, the cheapest way down is to fade the object until D
    sees nothing, which is not the class either (``train.class_loss_g_cap``).
    """
    terms = {}
    for name, v in logits.items():
        ce = F.cross_entropy(v.flatten(0, 1), y.repeat_interleave(v.shape[1]), reduction="none")
        if cap:
            ce = torch.where(ce > math.log(v.shape[-1]), ce.detach(), ce)
        terms[f"{prefix}_class_{name}"] = weight * ce.mean()
    return sum(terms.values()), terms


def mode_seeking_loss(video: torch.Tensor, z: torch.Tensor, weight: float,
                      eps: float = 1e-5) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``weight * E[1 / (mean|x1 - x2| / mean|z1 - z2| + eps)]`` over the pairs (first half, second half) of the
    batch, which share labels (MSGAN, Mao et al. 2019; ``train.diversity``)."""
    half = video.shape[0] // 2
    dx = (video[:half] - video[half : 2 * half]).abs().flatten(1).mean(dim=1)
    dz = (z[:half] - z[half : 2 * half]).abs().mean(dim=1)
    term = weight * (1.0 / (dx / dz + eps)).mean()
    return term, {"g_diversity": term}
