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
    # every [ours] flag off: tests/test_paper_presets.py, from the config's own markers


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


REMOVED = {"model.generator.bn_pool_time": (False, True), "model.generator.tanh_grad_floor": (0.0, 0.1),
           "train.temporal_negatives": ([], ["still"]), "train.mismatched_labels": (False, True)}


@pytest.mark.parametrize("key", sorted(REMOVED))
def test_removed_flags_load_only_at_their_old_default(key: str) -> None:
    """Configs stored before issue 27 (checkpoints, exports, shipped models) hold the removed flags: at their old
    default they load as if absent; any other value, or a --set of one, is a one-line error saying so."""
    default, other = REMOVED[key]

    def stored(value):  # the config as a run stored it, with the removed key
        data = load_preset().to_dict()
        *path, name = key.split(".")
        node = data
        for part in path:
            node = node[part]
        node[name] = value
        return data

    assert DVDGANConfig.from_dict(stored(default)) == load_preset()
    for attempt in (lambda: DVDGANConfig.from_dict(stored(other)), lambda: load_preset().override([f"{key}=x"])):
        with pytest.raises(ConfigError, match=f"{key} was removed in issue 27") as info:
            attempt()
        assert "\n" not in str(info.value)


def test_bad_values_are_one_line_config_errors() -> None:
    """Bad-input review 2 and 9: each bad value is a ConfigError naming the key, before anything runs."""
    cases = {
        "train.device=tpu": "train.device must be auto, cpu, cuda, cuda:N or mps, got 'tpu'",
        "model.channels=1": "model.channels must be 3",
        "train.lr_g=[1,": "override 'train.lr_g=[1,': the value is not valid YAML",
        "eval.protocol=bogus": "eval.protocol: unknown FVD protocol 'bogus'",
        "eval.protocol=fvd64_4f": "FVD is undefined for fewer than 9 frames",
        "eval.protocol=fvd1_16f": "at least 2 real and 2 generated clips",
    }
    for item, message in cases.items():
        with pytest.raises(ConfigError) as info:
            load_preset().override([item])
        assert message in str(info.value) and "\n" not in str(info.value), str(info.value)
    # A protocol name carries its counts: fvd64_12f is 64 vs 64 clips of 12 frames.
    assert load_preset().override(["eval.protocol=fvd64_12f"]).eval.protocol == "fvd64_12f"


def test_values_set_as_values_are_not_parsed_as_yaml() -> None:
    """A path with ' #' or ': ' is a path (`--data` is passed as a value, not spliced into YAML)."""
    cfg = load_preset().with_values({"data.source": "folder:/videos #2: new", "train.steps": 7})
    assert cfg.data.source == "folder:/videos #2: new" and cfg.train.steps == 7
    with pytest.raises(ConfigError, match="expects an integer"):
        load_preset().with_values({"train.steps": "7"})
