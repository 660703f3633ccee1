"""The paper presets: every departure from the paper (a field marked ``paper_value`` in the config) stays at the
paper's value, and each preset evaluates on a protocol that fits its clips and task."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import dvdgan.config as config_module
from dvdgan.config import load_preset, paper_presets, paper_value_fields
from dvdgan.data import build_dataset
from dvdgan.protocols import get_protocol
from dvdgan.training.metric_plan import adapt_metrics, metric_problem

TABLES = {  # preset -> (frames, resolution, classes, context frames, protocol) as the paper's tables report them
    "kinetics600-12x64": (12, 64, 600, 0, "fvd2048_12f"),
    "kinetics600-12x128": (12, 128, 600, 0, "fvd2048_12f"),
    "kinetics600-12x256": (12, 256, 600, 0, "fvd2048_12f"),
    "kinetics600-48x64": (48, 64, 600, 0, "fvd2048_48f"),
    "kinetics600-48x128": (48, 128, 600, 0, "fvd2048_48f"),
    "ucf101-16x128": (16, 128, 101, 0, "fvd2048_16f"),
    "kinetics600-fp-5to11": (16, 64, 600, 5, "fvd50000_16f_k600"),
    "bair-fp-1to15": (16, 64, 0, 1, "fvd25600_16f_bair"),
}


def _get(cfg, dotted: str):
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def test_the_paper_presets_are_those_of_the_paper_tables() -> None:
    assert sorted(paper_presets()) == sorted(TABLES)


def test_the_departures_are_read_from_the_config_itself() -> None:
    fields = paper_value_fields()
    # every field whose comment calls it an [ours flag] is marked, and the marked ones include the paper's ablations
    source = inspect.getsource(config_module)
    field_re = re.compile(r"\s+(\w+): [^=]+ = ")
    flagged = set()
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if "[ours flag]" in line and (line.strip().startswith("#") or field_re.match(line)):
            flagged.add(next(field_re.match(x)[1] for x in lines[i:] if field_re.match(x)))
    assert flagged and flagged <= {key.rsplit(".", 1)[1] for key in fields}
    assert {"model.discriminator.k_frames", "model.discriminator.temporal_pool",
            "model.generator.relu_slope"} <= set(fields)
    # and those of a nested section: every term beyond the paper's loss
    extra = {"class_loss": 0.0, "class_loss_g": None, "class_loss_g_cap": False, "mode_seeking": 0.0}
    assert {f"train.extra_terms.{k}": v for k, v in extra.items()}.items() <= fields.items()


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_paper_preset_keeps_every_departure_at_the_paper_value(name: str) -> None:
    cfg = load_preset(name)
    drifted = {key: _get(cfg, key) for key, paper in paper_value_fields().items() if _get(cfg, key) != paper}
    assert drifted == {}, f"{name} departs from the paper in {drifted}"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_paper_preset_evaluates_on_a_protocol_for_its_clips(name: str) -> None:
    frames, resolution, classes, context, protocol = TABLES[name]
    cfg = load_preset(name)
    m = cfg.model
    assert (m.num_frames, m.resolution, m.num_classes, m.context_frames) == (frames, resolution, classes, context)
    assert cfg.eval.protocol == protocol and "fvd" in cfg.eval.metrics
    assert get_protocol(protocol).num_frames == m.num_frames


def test_the_prediction_benchmarks_are_the_literature_protocols() -> None:
    bair = get_protocol("fvd25600_16f_bair")  # 256 test sequences, frames 0-15, 100 predictions per first frame
    assert (bair.split, bair.first_frames, bair.num_real, bair.per_context, bair.num_fake) == ("test", True, 256,
                                                                                               100, 25600)
    k600 = get_protocol("fvd50000_16f_k600")  # 50,000 test clips, random windows, one prediction each
    assert (k600.split, k600.first_frames, k600.num_real, k600.num_fake) == ("test", False, 50000, 50000)


@pytest.fixture
def videos(tmp_path):
    path = tmp_path / "clips.npz"
    np.savez(path, clips=np.random.default_rng(0).integers(0, 256, (3, 16, 16, 16, 3), dtype=np.uint8))
    return str(path)


def test_a_named_protocol_is_never_switched_silently(videos) -> None:
    # a paper preset whose clips were made 12 frames long still names a 16-frame protocol: an error, not fvd64_12f
    cfg = load_preset("ucf101-16x128").override(["model.resolution=16", "model.num_frames=12"])
    cfg = cfg.with_values({"data.source": videos})
    dataset = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution)
    with pytest.raises(ValueError, match=r"eval.protocol=fvd2048_16f: fvd2048_16f compares 16-frame clips but "
                                         r"this model makes 12-frame clips; use a protocol of 12 frames"):
        adapt_metrics(cfg, dataset)
    kept = adapt_metrics(cfg.override(["eval.protocol=fvd2048_12f"]), dataset)
    assert kept.eval.protocol == "fvd2048_12f"


def test_a_benchmark_protocol_needs_the_data_it_names(videos) -> None:
    cfg = load_preset("tiny").override(["model.num_frames=16", "model.resolution=16"])
    shapes = build_dataset(cfg.data, 16, 16)
    assert metric_problem(cfg, shapes, "fvd", "fvd50000_16f_k600") == (
        "fvd50000_16f_k600 evaluates on fixed clips of a video dataset, not on procedural 'shapes'")
    synth = cfg.with_values({"data.source": videos, "model.num_classes": 0, "train.extra_terms.class_loss": 0.0})
    arrays = build_dataset(synth.data, 16, 16)
    assert metric_problem(synth, arrays, "fvd", "fvd25600_16f_bair") == (
        "fvd25600_16f_bair makes 100 predictions per context: only for DVD-GAN-FP models")
