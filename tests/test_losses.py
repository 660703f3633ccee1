"""Hinge losses on hand-made scores [paper v2 section 4]."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dvdgan.losses import class_loss, d_hinge_loss, g_hinge_loss, mode_seeking_loss


def test_d_hinge_loss_sums_each_discriminator() -> None:
    real = {"spatial": torch.tensor([2.0, 0.5]), "temporal": torch.tensor([-1.0, 1.0])}
    fake = {"spatial": torch.tensor([-2.0, 0.0]), "temporal": torch.tensor([3.0, -0.5])}
    loss, terms = d_hinge_loss(real, fake)
    # spatial: real relu(1-2)=0, relu(1-0.5)=0.5 -> 0.25; fake relu(1-2)=0, relu(1)=1 -> 0.5
    # temporal: real relu(2)=2, 0 -> 1.0; fake relu(4)=4, relu(0.5)=0.5 -> 2.25
    assert torch.isclose(terms["d_real_spatial"], torch.tensor(0.25))
    assert torch.isclose(terms["d_fake_spatial"], torch.tensor(0.5))
    assert torch.isclose(terms["d_real_temporal"], torch.tensor(1.0))
    assert torch.isclose(terms["d_fake_temporal"], torch.tensor(2.25))
    assert torch.isclose(loss, torch.tensor(4.0))


def test_g_hinge_loss_is_negative_mean_score() -> None:
    loss, terms = g_hinge_loss({"spatial": torch.tensor([1.0, 3.0]), "temporal": torch.tensor([-2.0, 0.0])})
    assert torch.isclose(terms["g_spatial"], torch.tensor(-2.0))
    assert torch.isclose(terms["g_temporal"], torch.tensor(1.0))
    assert torch.isclose(loss, torch.tensor(-1.0))


def test_class_loss_is_weighted_cross_entropy_over_positions() -> None:
    logits = {"spatial": torch.tensor([[[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]])}  # 1 clip, 2 frames, 3 classes
    loss, terms = class_loss(logits, torch.tensor([1]), 0.5, "g")
    per_frame = -torch.log_softmax(logits["spatial"][0], dim=-1)[:, 1]  # the label's -log p at each frame
    assert torch.isclose(terms["g_class_spatial"], 0.5 * per_frame.mean())
    assert torch.isclose(loss, 0.5 * F.cross_entropy(logits["spatial"][0], torch.tensor([1, 1])))
    right, _ = class_loss({"t": torch.tensor([[[0.0, 5.0, 0.0]]])}, torch.tensor([1]), 1.0, "d")
    wrong, _ = class_loss({"t": torch.tensor([[[5.0, 0.0, 0.0]]])}, torch.tensor([1]), 1.0, "d")
    assert right < 0.02 < 5.0 < wrong


def test_capped_class_loss_gives_no_gradient_where_worse_than_saying_nothing() -> None:
    """Frame 0 is confidently wrong (CE > ln 3): with the cap it keeps its value but adds no gradient; frame 1
    (CE < ln 3) is untouched."""
    raw = torch.tensor([[[0.0, 6.0, 0.0], [1.0, 0.0, 0.0]]])  # label 0
    y = torch.tensor([0])
    grads = {}
    for cap in (False, True):
        logits = raw.clone().requires_grad_(True)
        loss, _ = class_loss({"s": logits}, y, 1.0, "g", cap=cap)
        loss.backward()
        grads[cap] = (loss.detach(), logits.grad[0])
    assert torch.isclose(grads[True][0], grads[False][0])  # the same value
    assert torch.count_nonzero(grads[True][1][0]) == 0 and torch.count_nonzero(grads[False][1][0]) > 0
    assert torch.allclose(grads[True][1][1], grads[False][1][1])


def test_mode_seeking_loss_is_the_inverse_distance_ratio_of_each_pair() -> None:
    """Pairs are (i, i + B/2). Pair 0: clips differ by 0.5, noises by 1 -> 1 / 0.5; pair 1: clips by 0.25, noises
    by 2 -> 1 / 0.125. A pair whose clips ignore z costs about 1/eps."""
    z = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, -1.0], [-1.0, 3.0]])
    video = torch.zeros(4, 2, 3, 4, 4)
    video[2] = 0.5
    video[1], video[3] = 0.1, 0.35
    loss, terms = mode_seeking_loss(video, z, 2.0, eps=0.0)
    assert torch.isclose(terms["g_diversity"], loss)
    assert torch.isclose(loss, torch.tensor(2.0 * (2.0 + 8.0) / 2))
    collapsed, _ = mode_seeking_loss(torch.zeros(2, 2, 3, 4, 4), torch.randn(2, 2), 1.0, eps=1e-5)
    assert collapsed > 1e4
