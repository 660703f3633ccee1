"""Config tests: presets, YAML round trip, overrides and their errors."""

from __future__ import annotations

import pytest

from dvdgan.config import ConfigError, DVDGANConfig, list_presets, load_preset, resolve_config

PAPER = ["kinetics600-12x64", "kinetics600-48x64", "kinetics600-12x128", "kinetics600-48x128",
         "kinetics600-12x256", "ucf101-16x128"]


def test_paper_presets_carry_paper_values() -> None:
    for name in PAPER:
        cfg = load_preset(name)
        t, res = (16, 128) if name.startswith("ucf") else map(int, name.split("-")[1].split("x"))
        assert (cfg.model.num_frames, cfg.model.resolution) == (t, res)
        assert cfg.model.num_classes == (101 if name.startswith("ucf") else 600)
        assert cfg.model.discriminator.k_frames == 8
        assert cfg.train.batch_size == 512 and cfg.train.d_steps == 2
        assert (cfg.train.lr_g, cfg.train.lr_d) == (1e-4, 5e-4)
        assert (cfg.train.ema_decay, cfg.train.ema_start) == (0.9999, 20000)
        assert cfg.data.frame_stride == (1 if name.startswith("ucf") else 2)
    for name in [*PAPER, "kinetics600-fp-5to11", "bair-fp-1to15"]:
        assert load_preset(name).model.generator.z_scale == 1.0  # the paper's z ~ N(0, I), unscaled


def test_every_preset_loads_and_round_trips(tmp_path) -> None:
    names = list_presets()
    assert {"tiny", "small", *PAPER} <= set(names)
    for name in names:
        cfg = load_preset(name)
        cfg.save(tmp_path / "c.yaml")
        assert DVDGANConfig.load(tmp_path / "c.yaml") == cfg


def test_overrides_and_type_checks() -> None:
    cfg = load_preset().override(["train.lr_g=3e-4", "model.generator.ch=8", "train.betas=[0.1, 0.9]"])
    assert cfg.train.lr_g == 3e-4 and cfg.model.generator.ch == 8 and cfg.train.betas == [0.1, 0.9]
    with pytest.raises(ConfigError, match="unknown config key 'train.lrg'.*lr_g"):
        load_preset().override(["train.lrg=1"])
    with pytest.raises(ConfigError, match="'train.steps' expects an integer"):
        load_preset().override(["train.steps=abc"])
    with pytest.raises(ConfigError, match="z_scale must be > 0"):
        load_preset().override(["model.generator.z_scale=0"])
    with pytest.raises(ConfigError, match="power of two"):
        load_preset().override(["model.resolution=48"])
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        load_preset("nope")


def test_config_file_unknown_key_is_error(tmp_path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("train:\n  stepz: 3\n")
    with pytest.raises(ConfigError, match="stepz"):
        resolve_config(config_file=path)
    path.write_text("train:\n  steps: 3\n")
    assert resolve_config(config_file=path, overrides=["train.seed=4"]).train.steps == 3
