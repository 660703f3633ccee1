"""The objective on hand-made scores: hinge losses [paper v2 section 4] and our extra terms."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dvdgan.losses import (
    DOutputs,
    ExtraTerms,
    GOutputs,
    class_loss,
    d_hinge_loss,
    d_objective,
    g_hinge_loss,
    g_objective,
    mode_seeking_loss,
    mode_seeking_pairs,
    pair_labels,
)


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


def test_mode_seeking_pairs_are_the_labels_g_shares() -> None:
    """The pairs the mode-seeking term compares are those whose labels ``pair_labels`` makes equal; with an odd
    batch the last clip is in no pair and keeps its label."""
    y = torch.tensor([3, 1, 4, 1, 5])
    paired = pair_labels(y)
    first, second = mode_seeking_pairs(5)
    assert torch.equal(paired, torch.tensor([3, 1, 3, 1, 5])) and torch.equal(y, torch.tensor([3, 1, 4, 1, 5]))
    assert torch.equal(paired[first], paired[second])
    z, video = torch.randn(5, 2), torch.randn(5, 2, 3, 4, 4)
    video[4] = 100.0  # the unpaired clip does not count
    loss, _ = mode_seeking_loss(video, z, 1.0)
    expected = [1 / ((video[i] - video[i + 2]).abs().mean() / (z[i] - z[i + 2]).abs().mean() + 1e-5) for i in (0, 1)]
    assert torch.isclose(loss, torch.stack(expected).mean())


def test_objectives_add_their_terms_to_the_hinge() -> None:
    """With every extra term off each objective is the paper's hinge loss; each term switched on joins the loss
    and the logged terms under its name."""
    scores = {"spatial": torch.tensor([2.0, 0.5, -2.0, 0.0]), "temporal": torch.tensor([-1.0, 1.0, 3.0, -0.5])}
    logits = {"spatial": torch.randn(4, 2, 3), "temporal": torch.randn(4, 1, 3)}
    y = torch.tensor([0, 2])
    out = DOutputs.split(scores, {}, 2)
    loss, terms = d_objective(out, y, ExtraTerms())
    hinge, hinge_terms = d_hinge_loss(out.real, out.fake)
    assert torch.equal(loss, hinge) and all(torch.equal(terms[k], v) for k, v in hinge_terms.items())
    assert torch.isclose(terms["score_std_temporal"], scores["temporal"].std())  # a diagnostic, not in the loss
    with_class = DOutputs.split(scores, logits, 2)
    loss, terms = d_objective(with_class, y, ExtraTerms(class_d=2.0))
    d_class, _ = class_loss({k: v[:2] for k, v in logits.items()}, y, 2.0, "d")  # the real clips' logits
    assert torch.isclose(loss, hinge + d_class) and "d_class_temporal" in terms

    video, z = torch.randn(4, 2, 3, 4, 4), torch.randn(4, 5)
    g_out = GOutputs(video, z, torch.tensor([0, 1, 0, 1]), scores, logits)
    assert torch.equal(g_objective(g_out, ExtraTerms())[0], g_hinge_loss(scores)[0])
    loss, terms = g_objective(g_out, ExtraTerms(class_g=0.5, mode_seeking=2.0))
    expected = (g_hinge_loss(scores)[0] + mode_seeking_loss(video, z, 2.0)[0]
                + class_loss(logits, g_out.y, 0.5, "g")[0])
    assert torch.isclose(loss, expected) and {"g_diversity", "g_class_spatial", "g_spatial"} <= terms.keys()
