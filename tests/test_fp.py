"""DVD-GAN-FP: the context encoder, per-sample conditioning on context, and FP training through the same loop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from _train_helpers import assert_states_equal, load_payload, micro_cfg
from dvdgan.cli import main
from dvdgan.config import load_preset
from dvdgan.data import build_dataset
from dvdgan.models import DualDiscriminator, Generator


def _fp_model():
    cfg = load_preset("tiny-fp").model  # 4 context frames -> 4 predicted at 32x32
    return cfg, Generator(cfg).eval()


def test_encoder_states_match_convgru_shapes() -> None:
    cfg, g = _fp_model()
    context = torch.rand(3, cfg.context_frames, 3, 32, 32) * 2 - 1
    states = g.encoder(context)
    assert [tuple(s.shape[1:]) for s in states] == g.state_shapes()
    assert all(s.shape[0] == 3 for s in states)
    assert len(states) == len(g.levels)


def test_prediction_depends_on_context_per_sample() -> None:
    cfg, g = _fp_model()
    z = torch.randn(3, cfg.generator.z_dim)
    context = torch.rand(3, cfg.context_frames, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        base = g(z, None, context=context)
        assert base.shape == (3, cfg.generated_frames, 3, 32, 32)
        other = context.clone()
        other[0] = -other[0]
        changed = g(z, None, context=other)
    assert not torch.allclose(changed[0], base[0], atol=1e-4)
    assert torch.equal(changed[1:], base[1:])


def test_z_scale_multiplies_the_noise() -> None:
    """generator.z_scale = s makes G(z) what the same weights give for s * z at z_scale 1."""
    cfg = load_preset("tiny-fp").override(["model.generator.z_scale=1.0"]).model
    g = Generator(cfg).eval()
    scaled = Generator(load_preset("tiny-fp").override(["model.generator.z_scale=0.25"]).model).eval()
    scaled.load_state_dict(g.state_dict())
    z = torch.randn(2, cfg.generator.z_dim)
    context = torch.rand(2, cfg.context_frames, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(scaled(z, None, context=context), g(0.25 * z, None, context=context), atol=1e-6)
        assert not torch.allclose(scaled(z, None, context=context), g(z, None, context=context), atol=1e-3)


def test_context_residual_draws_changes_of_the_last_context_frame() -> None:
    import dataclasses

    cfg, _ = _fp_model()
    plain_cfg, residual_cfg = (dataclasses.replace(cfg, generator=dataclasses.replace(cfg.generator,
                                                                                     context_residual=flag))
                               for flag in (False, True))
    plain, residual = Generator(plain_cfg).eval(), Generator(residual_cfg).eval()
    residual.load_state_dict(plain.state_dict())  # no new weights: the same head, another output rule
    z = torch.randn(2, cfg.generator.z_dim)
    context = torch.rand(2, cfg.context_frames, 3, 32, 32) * 1.6 - 0.8
    context[0, -1, 0, 0, 0] = 1.0  # a saturated pixel stays finite
    with torch.no_grad():
        head = torch.atanh(plain(z, None, context=context).double().clamp(-1 + 1e-12, 1 - 1e-12))
        made = residual(z, None, context=context).double()
    last = torch.atanh(context[:, -1:].double().clamp(-0.995, 0.995))
    expected = torch.tanh(head + last)
    assert torch.isfinite(made).all()
    assert (made - expected).abs().max() < 1e-4
    assert (made - plain(z, None, context=context)).abs().mean() > 0.05  # the rule changed the frames


def test_context_residual_needs_context_frames() -> None:
    from dvdgan.config import ConfigError

    with pytest.raises(ConfigError, match="context_residual needs model.context_frames > 0"):
        load_preset("tiny").override(["model.generator.context_residual=true"])


def test_spatial_d_samples_predicted_frames_only() -> None:
    cfg = load_preset("tiny-fp").model
    d = DualDiscriminator(cfg)
    idx = d.spatial.sample_frames(256, cfg.num_frames, torch.device("cpu"))
    assert idx.min() >= cfg.context_frames and idx.max() < cfg.num_frames
    assert set(idx.flatten().tolist()) == set(range(cfg.context_frames, cfg.num_frames))


def test_fp_training_resume_and_sampling(tmp_path: Path) -> None:
    from dvdgan.training.loop import train

    cfg = micro_cfg("train.steps=4", "model.context_frames=1", "data.source=motion", preset="tiny-fp")
    full = train(cfg, tmp_path / "full", quiet=True)
    train(cfg, tmp_path / "part", max_steps=2, quiet=True)
    resumed = train(cfg, tmp_path / "part", resume=True, quiet=True)
    assert_states_equal(load_payload(full.last_checkpoint), load_payload(resumed.last_checkpoint))
    # Sampling continues given clips: the grid has the real clip then the sampled futures in each row.
    clips = np.random.default_rng(0).integers(0, 256, (2, 4, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "ctx.npy", clips)
    out = tmp_path / "pred.npz"
    assert main(["sample", str(tmp_path / "full"), "--context", str(tmp_path / "ctx.npy"), "--n", "3",
                 "--out", str(out)]) == 0
    videos = np.load(out)["videos"]
    assert videos.shape == (2 * 4, 4, 16, 16, 3)
    assert np.array_equal(videos[0], clips[0])  # row 0 starts with the real clip
    assert np.array_equal(videos[1, :1], clips[0, :1])  # then samples that keep the real context frame
    # No --context: a model of built-in data continues held-out clips of that data (the evaluation's seed).
    assert main(["sample", str(tmp_path / "full"), "--n", "1", "--out", str(tmp_path / "own.npz")]) == 0
    held_out = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + 1)
    assert np.array_equal(np.load(tmp_path / "own.npz")["videos"][0], np.asarray(held_out[0][0]))
    assert main(["sample", str(tmp_path / "full"), "--n", "1", "--out", str(tmp_path / "own.gif")]) == 0
    from PIL import Image

    from dvdgan.cli.sample import BUILT_IN_CONTEXTS
    cell = 16 + 2  # 2-pixel padding between clips
    assert Image.open(tmp_path / "own.gif").size == (2 * cell + 2, BUILT_IN_CONTEXTS * cell + 2)  # real + 1 per row
    from dvdgan.cli import UserError
    from dvdgan.cli.sample import _built_in_contexts

    with pytest.raises(UserError, match="pass --context"):  # a user's own data: the clips must be given
        _built_in_contexts(cfg.override(["data.source=folder:/nowhere"]))
    # FP evaluation: PSNR/SSIM per predicted frame against the real future; the context's object kept, with the
    # repeat-the-last-frame and real-future baselines (which keep it in every frame).
    report = tmp_path / "eval.json"
    assert main(["eval", str(tmp_path / "full"), "--metrics", "psnr_ssim,continuation,class_acc",
                 "--num-samples", "8", "--json-out", str(report)]) == 0
    results = json.loads(report.read_text())
    predicted = cfg.model.num_frames - cfg.model.context_frames
    assert len(results["psnr_per_frame"]) == predicted and len(results["ssim_per_frame"]) == predicted
    assert 0.0 <= results["continuation_kept"] <= 1.0 and 0.0 <= results["class_acc"] <= 1.0
    # (at 16x16 a thin object's brightness varies with its sub-pixel position: the real future is not always "kept")
    assert results["continuation_real_kept"] >= 0.9 and results["continuation_real_track_error"] == 0.0
    assert len(results["continuation_kept_per_frame"]) == predicted
