"""Config tests: presets, YAML round trip, overrides and their errors."""

from __future__ import annotations

import pytest
import yaml

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


def assert_one_line_errors(cases: dict[str, str]) -> None:
    """Each ``--set`` item of ``cases`` is a one-line ConfigError holding its message."""
    for item, message in cases.items():
        with pytest.raises(ConfigError) as info:
            load_preset().override([item])
        assert message in str(info.value) and "\n" not in str(info.value), str(info.value)


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
    assert_one_line_errors(cases)
    # A protocol name carries its counts: fvd64_12f is 64 vs 64 clips of 12 frames.
    assert load_preset().override(["eval.protocol=fvd64_12f"]).eval.protocol == "fvd64_12f"


def test_values_set_as_values_are_not_parsed_as_yaml() -> None:
    """A path with ' #' or ': ' is a path (`--data` is passed as a value, not spliced into YAML)."""
    cfg = load_preset().with_values({"data.source": "folder:/videos #2: new", "train.steps": 7})
    assert cfg.data.source == "folder:/videos #2: new" and cfg.train.steps == 7
    with pytest.raises(ConfigError, match="expects an integer"):
        load_preset().with_values({"train.steps": "7"})


def _old_style(data: dict, **train) -> dict:
    """``data`` as configs stored before issue 27 hold it: the extra terms as keys of ``train`` (old names)."""
    old = {**data, "train": {**data["train"], **train}}
    del old["train"]["extra_terms"]
    return old


def test_keys_from_before_issue_27_load_under_their_new_names(tmp_path) -> None:
    """Checkpoints, a run's config.yaml and users' YAML files give train.class_loss, ... and train.diversity: they
    load as train.extra_terms.*, and the config then writes the new keys alone."""
    stored = _old_style(DVDGANConfig().to_dict(), class_loss=5.0, diversity=1.0)
    before = repr(stored)
    cfg = DVDGANConfig.from_dict(stored)
    assert (cfg.train.extra_terms.class_loss, cfg.train.extra_terms.mode_seeking) == (5.0, 1.0)
    assert repr(stored) == before  # the caller's dict (a checkpoint's) is left as it was
    train = cfg.to_dict()["train"]
    assert not {"class_loss", "class_loss_g", "class_loss_g_cap", "diversity"} & train.keys()
    assert train["extra_terms"] == {"class_loss": 5.0, "class_loss_g": None, "class_loss_g_cap": False,
                                    "mode_seeking": 1.0}
    # a user's YAML file over a preset whose terms are under the new keys: the file's old keys win, as they did
    path = tmp_path / "mine.yaml"
    path.write_text("train:\n  class_loss: 3.0\n  class_loss_g: null\n  diversity: 0.5\n")
    extra = resolve_config("tiny", path).train.extra_terms
    assert (extra.class_loss, extra.class_loss_g, extra.class_loss_g_cap, extra.mode_seeking) == (3.0, None, True, 0.5)
    run_config = tmp_path / "config.yaml"  # a run directory's config.yaml from before issue 27
    run_config.write_text(yaml.safe_dump(stored))
    assert DVDGANConfig.load(run_config) == cfg


def test_set_with_an_old_key_sets_the_new_one() -> None:
    cfg = load_preset().override(["train.diversity=0.25", "train.class_loss=2", "train.class_loss_g=null",
                                  "train.class_loss_g_cap=false"])
    extra = cfg.train.extra_terms
    assert (extra.class_loss, extra.class_loss_g, extra.class_loss_g_cap, extra.mode_seeking) == (2.0, None, False,
                                                                                                  0.25)
    assert cfg == load_preset().override(["train.extra_terms.mode_seeking=0.25", "train.extra_terms.class_loss=2",
                                          "train.extra_terms.class_loss_g=null",
                                          "train.extra_terms.class_loss_g_cap=false"])


def test_an_old_and_a_new_name_of_one_key_is_a_one_line_error(tmp_path) -> None:
    """Neither value is surely the one meant: a config giving a key under both names is refused, never resolved."""
    both = DVDGANConfig().to_dict()
    both["train"]["diversity"] = 1.0
    path = tmp_path / "both.yaml"
    path.write_text("train:\n  class_loss: 1.0\n  extra_terms: {class_loss: 2.0}\n")
    attempts = {
        "train.diversity and train.extra_terms.mode_seeking": lambda: DVDGANConfig.from_dict(both),
        "train.class_loss and train.extra_terms.class_loss": lambda: resolve_config("tiny", path),
        "train.class_loss_g and train.extra_terms.class_loss_g": lambda: load_preset().override(
            ["train.extra_terms.class_loss_g=1", "train.class_loss_g=2"]),
    }
    for names, attempt in attempts.items():
        with pytest.raises(ConfigError, match=f"config gives both {names}") as info:
            attempt()
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("name, values", [("tiny", (5.0, 1.0, True, 1.0)), ("small", (5.0, 1.0, True, 1.0)),
                                          ("tiny-motion", (0.0, 1.0, True, 0.0)), ("tiny-fp", (0.0, 1.0, True, 0.0))])
def test_the_cpu_presets_keep_their_extra_terms(name: str, values: tuple) -> None:
    """The values each preset gave as train.class_loss, class_loss_g, class_loss_g_cap and diversity before
    issue 27 moved them, now under train.extra_terms."""
    e = load_preset(name).train.extra_terms
    assert (e.class_loss, e.class_loss_g, e.class_loss_g_cap, e.mode_seeking) == values
    assert e.g_class_loss == values[1]


def test_extra_term_weights_are_checked_under_their_full_key() -> None:
    cases = {
        "train.extra_terms.mode_seeking=-1": "train.extra_terms.mode_seeking must be a finite weight >= 0, got -1.0",
        "train.diversity=.inf": "train.extra_terms.mode_seeking must be a finite weight >= 0, got inf",
        "train.extra_terms.class_loss=.nan": "train.extra_terms.class_loss must be a finite weight >= 0, got nan",
        "train.extra_terms.class_loss_g=-2": "train.extra_terms.class_loss_g must be a finite weight >= 0 or null",
    }
    assert_one_line_errors(cases)
    with pytest.raises(ConfigError, match=r"train.extra_terms.class_loss needs a class-conditional model .* set "
                                          r"train.extra_terms.class_loss=0$"):
        load_preset().override(["model.num_classes=0"])
