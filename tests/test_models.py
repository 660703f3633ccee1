"""Model tests: shapes, conditioning, per-time-step BN, the dual discriminator, SN, gradients, layering."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from dvdgan.config import load_preset
from dvdgan.models import DualDiscriminator, Generator, pixel_fraction
from dvdgan.models.blocks import DBlock
from dvdgan.models.layers import ClassConditionalBN, spectral_norm_of


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_generator_shape_and_range(preset: str) -> None:
    cfg = load_preset(preset).model
    g = Generator(cfg)
    z = torch.randn(2, cfg.generator.z_dim)
    video = g(z, torch.tensor([0, 1]))
    assert video.shape == (2, cfg.num_frames, 3, cfg.resolution, cfg.resolution)
    assert video.min() >= -1 and video.max() <= 1 and torch.isfinite(video).all()
    assert video.std() > 0.01  # not a constant output


@pytest.mark.parametrize(
    "preset,levels",
    [("kinetics600-12x64", 4), ("kinetics600-12x256", 6), ("ucf101-16x128", 5)],
)
def test_paper_presets_build_on_meta(preset: str, levels: int) -> None:
    cfg = load_preset(preset).model
    with torch.device("meta"):
        g = Generator(cfg)
        d = DualDiscriminator(cfg)
        z = torch.randn(1, cfg.generator.z_dim)
        video = g(z, torch.zeros(1, dtype=torch.long))
        scores = d(video, torch.zeros(1, dtype=torch.long))
    assert len(g.levels) == levels
    assert video.shape == (1, cfg.num_frames, 3, cfg.resolution, cfg.resolution)
    assert scores["spatial"].shape == (1,) and scores["temporal"].shape == (1,)
    assert len(d.temporal.blocks3d) == 2


def test_conditioning_is_per_sample(tiny_cfg) -> None:
    g = Generator(tiny_cfg.model).eval()  # eval: running BN stats, so samples do not interact via batch stats
    z = torch.randn(3, tiny_cfg.model.generator.z_dim)
    y = torch.tensor([0, 1, 2])
    with torch.no_grad():
        base = g(z, y)
        y2 = y.clone()
        y2[0] = 2
        other_class = g(z, y2)
        z2 = z.clone()
        z2[0] += 1.0
        other_z = g(z2, y)
    for changed in (other_class, other_z):
        assert not torch.equal(changed[0], base[0])
        assert torch.equal(changed[1:], base[1:])


def test_bn_statistics_are_per_time_step() -> None:
    t, c = 4, 3
    bn = ClassConditionalBN(c, cond_dim=5, num_frames=t)
    x = torch.randn(6, t, c, 5, 5)
    bn(x.flatten(0, 1), torch.randn(6, 5))
    before = bn.running_mean.view(t, c).clone()
    bn.running_mean.zero_()
    bn.running_var.fill_(1)
    shifted = x.clone()
    shifted[:, 2] += 5.0
    bn(shifted.flatten(0, 1), torch.randn(6, 5))
    after = bn.running_mean.view(t, c)
    diff = (after - before).abs().amax(dim=1)
    assert diff[2] > 0.4  # momentum 0.1 * shift 5
    assert torch.allclose(diff[[0, 1, 3]], torch.zeros(3), atol=1e-6)


def test_bn_output_normalised_per_time_step() -> None:
    t, c = 3, 2
    bn = ClassConditionalBN(c, cond_dim=4, num_frames=t)
    x = torch.randn(8, t, c, 4, 4) * torch.tensor([1.0, 5.0, 0.2])[None, :, None, None, None]
    cond = torch.zeros(8, 4)  # gain 1, bias 0
    out = bn(x.flatten(0, 1), cond).view(8, t, c, 4, 4)
    std = out.transpose(1, 2).reshape(8, c, t, 16).permute(2, 1, 0, 3).reshape(t, c, -1).std(dim=-1)
    assert torch.allclose(std, torch.ones_like(std), atol=0.05)


def test_spatial_d_sees_k_full_resolution_frames_and_sums(tiny_cfg) -> None:
    cfg = tiny_cfg.model
    d = DualDiscriminator(cfg)
    b, k = 5, cfg.discriminator.k_frames
    idx = d.spatial.sample_frames(b, cfg.num_frames, torch.device("cpu"))
    assert idx.shape == (b, k)
    assert all(len(set(row.tolist())) == k for row in idx)  # without replacement
    seen = []
    handle = d.spatial.trunk.register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape))
    video = torch.rand(b, cfg.num_frames, 3, cfg.resolution, cfg.resolution) * 2 - 1
    y = torch.tensor([0, 1, 2, 0, 1])
    score = d.spatial(video, y, idx)
    handle.remove()
    assert seen[0] == (b * k, 3, cfg.resolution, cfg.resolution)
    per_frame = torch.stack(
        [d.spatial.head(d.spatial.trunk(video[torch.arange(b), idx[:, j]]), y) for j in range(k)], dim=1
    )
    assert torch.allclose(score, per_frame.sum(dim=1), atol=1e-5)


def test_spatial_d_draws_frames_per_sample() -> None:
    from dvdgan.models.discriminator import SpatialDiscriminator

    cfg = load_preset("tiny").model  # 8 frames, k = 4
    d = SpatialDiscriminator(cfg)
    torch.manual_seed(1)
    idx = d.sample_frames(64, cfg.num_frames, torch.device("cpu"))
    assert len({tuple(r) for r in idx.tolist()}) > 10  # not one index set for the whole batch
    counts = torch.bincount(idx.flatten(), minlength=cfg.num_frames)
    assert counts.min() > 0  # every frame, the first included, can be picked


def test_temporal_d_sees_all_frames_at_half_resolution(tiny_cfg) -> None:
    cfg = tiny_cfg.model
    d = DualDiscriminator(cfg)
    seen = []
    first = d.temporal.blocks3d[0]
    handle = first.register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape))
    video = torch.rand(2, cfg.num_frames, 3, cfg.resolution, cfg.resolution)
    d(video, torch.tensor([0, 1]))
    handle.remove()
    assert seen[0] == (2, 3, cfg.num_frames, cfg.resolution // 2, cfg.resolution // 2)
    blocks3d = [b for b in d.temporal.blocks3d if isinstance(b, DBlock)]
    assert len(blocks3d) == 2 and all(isinstance(b.conv1, torch.nn.Conv3d) for b in blocks3d)
    assert blocks3d[0].conv1.kernel_size == (3, 3, 3)
    # Changing one frame changes D_T's score (it sees every frame).
    s0 = d.temporal(video, torch.tensor([0, 1]))
    video2 = video.clone()
    video2[:, -1] = 0
    assert not torch.allclose(s0, d.temporal(video2, torch.tensor([0, 1])))


def test_temporal_d_on_differences_sees_only_change(tiny_cfg) -> None:
    """temporal_input=differences: D_T scores x[t+1] - x[t], so a picture shared by all frames cannot matter."""
    torch.manual_seed(0)
    y = torch.tensor([0, 1])
    video = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    backdrop = torch.rand(2, 1, 3, 16, 16)  # added to every frame of a clip
    d = DualDiscriminator(tiny_cfg.override(["model.discriminator.temporal_input=differences"]).model).temporal
    seen = []
    d.blocks3d[0].register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape))
    assert torch.allclose(d(video, y), d(video + backdrop, y), atol=1e-5)
    still = video[:, :1].expand_as(video)
    assert torch.allclose(d(still, y), d(backdrop.expand_as(video), y), atol=1e-5)  # every still clip alike
    assert not torch.allclose(d(video, y), d(still, y), atol=1e-3)
    assert seen[0] == (2, 3, 3, 8, 8)  # T - 1 differences of the 2x2-pooled frames
    paper = DualDiscriminator(tiny_cfg.model).temporal  # frames: the backdrop changes the score
    assert not torch.allclose(paper(video, y), paper(video + backdrop, y), atol=1e-3)


def test_temporal_d_on_both_sees_frames_and_their_change(tiny_cfg) -> None:
    """temporal_input=both: D_T's input at step t is the pooled frame x[t+1] stacked with x[t+1] - x[t]."""
    torch.manual_seed(0)
    video = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    d = DualDiscriminator(tiny_cfg.override(["model.discriminator.temporal_input=both"]).model).temporal
    seen = []
    d.blocks3d[0].register_forward_hook(lambda m, inp, out: seen.append(inp[0]))
    d(video, torch.tensor([0, 1]))
    pooled = torch.nn.functional.avg_pool2d(video.flatten(0, 1), 2).unflatten(0, (2, 4)).transpose(1, 2)
    assert seen[0].shape == (2, 6, 3, 8, 8)  # [B, 2C, T - 1, h, w]
    assert torch.allclose(seen[0][:, :3], pooled[:, :, 1:])
    assert torch.allclose(seen[0][:, 3:], pooled[:, :, 1:] - pooled[:, :, :-1])


def test_projection_conditioning(tiny_cfg) -> None:
    d = DualDiscriminator(tiny_cfg.model)
    video = torch.rand(2, tiny_cfg.model.num_frames, 3, 16, 16)
    torch.manual_seed(3)
    a = d(video, torch.tensor([0, 0]))
    torch.manual_seed(3)
    b = d(video, torch.tensor([1, 2]))
    for key in ("spatial", "temporal"):
        assert not torch.allclose(a[key], b[key])
    assert d.spatial.head.embed is not None and d.temporal.head.embed is not None


def test_class_logits_are_the_projection_for_every_class(tiny_cfg) -> None:
    """train.extra_terms.class_loss's logits: a clip's score under label a minus under label b is the sum over a head's
    positions (D_S's frames, D_T's time steps) of logit[a] - logit[b]; asking for logits leaves scores as they are."""
    d = DualDiscriminator(tiny_cfg.model).eval()  # eval: no SN power iteration between the calls
    video = torch.rand(2, tiny_cfg.model.num_frames, 3, 16, 16) * 2 - 1
    a, b = torch.tensor([0, 2]), torch.tensor([1, 0])
    torch.manual_seed(5)
    plain = d(video, a)
    torch.manual_seed(5)
    scores_a, logits = d(video, a, class_logits=True)
    torch.manual_seed(5)
    scores_b = d(video, b)
    m = tiny_cfg.model
    steps = m.num_frames - (m.discriminator.temporal_input != "frames")
    positions = {"spatial": m.discriminator.k_frames, "temporal": steps}
    rows = torch.arange(2)
    for key in ("spatial", "temporal"):
        assert torch.equal(plain[key], scores_a[key])
        assert logits[key].shape == (2, positions[key], tiny_cfg.model.num_classes)
        gap = (logits[key][rows, :, a] - logits[key][rows, :, b]).sum(dim=-1)
        assert torch.allclose(scores_a[key] - scores_b[key], gap, atol=1e-4)
        assert gap.abs().min() > 1e-3  # the labels do change the scores
    unconditional = DualDiscriminator(
        tiny_cfg.override(["model.num_classes=0", "train.extra_terms.class_loss=0"]).model)
    with pytest.raises(ValueError, match="class-conditional"):
        unconditional(video, class_logits=True)


def test_pixel_fraction_matches_paper() -> None:
    frac = pixel_fraction(num_frames=48, resolution=128, k_frames=8)
    assert round((1 - frac) * 100) == 58


def test_gradients_reach_every_parameter(tiny_cfg) -> None:
    cfg = tiny_cfg.model
    g, d = Generator(cfg), DualDiscriminator(cfg)
    z = torch.randn(3, cfg.generator.z_dim)
    y = torch.tensor([0, 1, 2])
    scores = d(g(z, y), y)
    (scores["spatial"].sum() + scores["temporal"].sum()).backward()
    for name, module in (("G", g), ("D", d)):
        for pname, p in module.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}.{pname} got no gradient"


def test_spectral_norm_near_one_after_power_iterations(tiny_cfg) -> None:
    g = Generator(tiny_cfg.model)
    z = torch.randn(2, tiny_cfg.model.generator.z_dim)
    with torch.no_grad():
        for _ in range(30):  # each training-mode forward runs one power iteration
            g(z, torch.tensor([0, 1]))
    layers = [m for m in g.modules() if hasattr(m, "parametrizations")]
    assert len(layers) > 10
    for m in layers:
        assert abs(spectral_norm_of(m) - 1.0) < 0.05


def test_truncated_z_within_bound(tiny_cfg) -> None:
    g = Generator(tiny_cfg.model)
    z = g.sample_z(64, truncation=0.5)
    assert z.abs().max() <= 0.5 and z.std() > 0.1


def test_model_code_imports_nothing_from_training_data_metrics() -> None:
    models_dir = Path(__file__).resolve().parents[1] / "dvdgan" / "models"
    files = sorted(models_dir.glob("*.py"))
    assert files
    forbidden = ("dvdgan.training", "dvdgan.data", "dvdgan.metrics", "dvdgan.cli", "dvdgan.losses")
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


def test_gru_update_bias_sets_only_the_update_gate(tiny_cfg) -> None:
    g = Generator(tiny_cfg.override(["model.generator.gru_update_bias=2.5"]).model)
    for level in g.levels:
        hid, bias = level.gru.hidden_channels, level.gru.gates.bias
        assert torch.all(bias[:hid] == 0) and torch.all(bias[hid:] == 2.5)  # r keeps 0, u starts at sigmoid(2.5)
    assert torch.all(Generator(tiny_cfg.model).levels[0].gru.gates.bias == 0)  # default: the plain zero init


def test_relu_slope_makes_gs_activations_leaky(tiny_cfg) -> None:
    from dvdgan.config import ConfigError
    from dvdgan.models.blocks import g_activation

    x = torch.tensor([-2.0, 0.0, 3.0])
    assert torch.equal(g_activation(x, 0.0), torch.tensor([0.0, 0.0, 3.0]))
    assert torch.allclose(g_activation(x, 0.2), torch.tensor([-0.4, 0.0, 3.0]))
    torch.manual_seed(0)
    plain = Generator(tiny_cfg.override(["model.generator.relu_slope=0"]).model)
    leaky = Generator(tiny_cfg.override(["model.generator.relu_slope=0.2"]).model)
    leaky.load_state_dict(plain.state_dict())
    z, y = torch.randn(2, tiny_cfg.model.generator.z_dim), torch.tensor([0, 1])
    assert not torch.allclose(plain(z, y), leaky(z, y))  # same weights, other activation
    with pytest.raises(ConfigError, match="relu_slope"):
        tiny_cfg.override(["model.generator.relu_slope=1.0"])


@pytest.mark.parametrize("parts", [["spatial"], ["temporal"]])
def test_one_discriminator_alone_for_the_ablation(tiny_cfg, parts) -> None:
    cfg = tiny_cfg.override([f"model.discriminator.parts={parts}"]).model
    d = DualDiscriminator(cfg)
    scores = d(torch.rand(2, cfg.num_frames, 3, cfg.resolution, cfg.resolution) * 2 - 1, torch.tensor([0, 1]))
    assert list(scores) == parts
    other = "temporal" if parts == ["spatial"] else "spatial"
    assert getattr(d, other) is None and not any(n.startswith(other) for n, _ in d.named_parameters())


def test_discriminator_parts_are_validated(tiny_cfg) -> None:
    from dvdgan.config import ConfigError

    for bad in ("[]", "[spatial, spatial]", "[motion]"):
        with pytest.raises(ConfigError, match="model.discriminator.parts"):
            tiny_cfg.override([f"model.discriminator.parts={bad}"])


@pytest.mark.parametrize("preset", ["tiny", "tiny-fp"])
def test_every_weight_layer_is_spectrally_normalised(preset: str) -> None:
    # One public port left its ConvGRU and G's input map unnormalised (docs/peers.md). Only G's class
    # embedding, a lookup table as in BigGAN, is exempt.
    cfg = load_preset(preset).model
    weighted = (torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear, torch.nn.Embedding)
    for net in (Generator(cfg), DualDiscriminator(cfg)):
        layers = {n: m for n, m in net.named_modules() if isinstance(m, weighted)}
        assert any(".gru." in n for n in layers) or isinstance(net, DualDiscriminator)
        unnormalised = [n for n, m in layers.items() if not hasattr(m, "parametrizations")]
        assert unnormalised == (["embed"] if isinstance(net, Generator) and cfg.num_classes else []), unnormalised


def test_convgru_candidate_is_relu() -> None:
    # With a ReLU candidate and a zero initial state every hidden state is a convex combination of non-negative
    # values; a tanh candidate (as in one public port, docs/peers.md) gives negative states.
    from dvdgan.models.convgru import ConvGRU

    gru = ConvGRU(3, 5)
    h = gru(torch.randn(2, 6, 3, 8, 8))
    assert h.shape == (2, 6, 5, 8, 8) and h.min() >= 0 and (h > 0).float().mean() > 0.2


def test_shortcuts_equal_biggans_order() -> None:
    """The 1x1 shortcut convs run on the smaller side of the resampling; the blocks still compute BigGAN's
    function (skip = conv1x1(up(x)) in G, avgpool(conv1x1(x)) in D's preactivated blocks) up to rounding."""
    import torch.nn.functional as F

    from dvdgan.models.blocks import GBlock

    torch.manual_seed(0)
    g = GBlock(8, 4, cond_dim=6, num_frames=2, upsample=True).eval()
    with torch.no_grad():  # non-trivial BN statistics, so that every term matters
        for bn in (g.bn1, g.bn2):
            for p in bn.parameters():
                p.normal_()
    x, cond = torch.randn(4, 8, 5, 5), torch.randn(2, 6)  # 2 clips of 2 frames
    up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
    with torch.no_grad():
        h = g.conv2(torch.relu(g.bn2(g.conv1(up(torch.relu(g.bn1(x, cond)))), cond)))
        torch.testing.assert_close(g(x, cond), h + g.shortcut(up(x)), rtol=1e-5, atol=1e-5)

    for dims, pool in ((2, lambda t: F.avg_pool2d(t, 2)), (3, lambda t: F.avg_pool3d(t, (1, 2, 2)))):
        d = DBlock(4, 8, downsample=True, preactivation=True, dims=dims).eval()
        x = torch.randn(2, 4, 8, 8) if dims == 2 else torch.randn(2, 4, 3, 8, 8)
        with torch.no_grad():
            h = pool(d.conv2(torch.relu(d.conv1(torch.relu(x)))))
            torch.testing.assert_close(d(x), h + pool(d.shortcut(x)), rtol=1e-5, atol=1e-5)
