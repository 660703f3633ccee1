"""Class-conditional DVD-GAN-FP: a continuation keeps the class of the real clip whose context it continues
(training, evaluation, ``dvdgan sample --context``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from _train_helpers import micro_cfg
from dvdgan.cli import main
from dvdgan.data import build_dataset
from dvdgan.models import Generator
from dvdgan.training.evaluate import _fake_clips, _real_clips
from dvdgan.training.loop import Trainer, train

FP_CONDITIONAL = ("model.context_frames=1", "data.source=motion", "model.num_classes=8")


def _record_labels(module: torch.nn.Module, into: list) -> None:
    """Record the labels (second positional argument) of every call of ``module``."""
    module.register_forward_pre_hook(lambda m, args: into.append(args[1].clone()))


def test_training_gives_g_and_d_the_real_clips_labels(tmp_path: Path) -> None:
    trainer = Trainer(micro_cfg("train.steps=1", *FP_CONDITIONAL, preset="tiny-fp"), tmp_path / "run", quiet=True)
    real_labels, g_labels, d_labels = [], [], []
    next_real = trainer._next_real

    def spy():
        video, y = next_real()
        real_labels.append(y.clone())
        return video, y

    trainer._next_real = spy
    _record_labels(trainer.G, g_labels)
    _record_labels(trainer.D, d_labels)
    trainer.train_step()
    assert len(real_labels) == len(g_labels) == 3  # 2 D steps and the G step each read real clips
    assert len({tuple(y.tolist()) for y in real_labels}) > 1  # labels that a random draw would not match
    for real, given in zip(real_labels, g_labels, strict=True):
        assert torch.equal(given, real)  # G continues each context within its clip's class
    n = len(real_labels[0])
    for d_step in range(2):  # D sees [real, fake] with the fake half labelled as the real clips it continues
        assert torch.equal(d_labels[d_step][n : 2 * n], real_labels[d_step])
    assert torch.equal(d_labels[2], real_labels[2])  # G step: D judges the continuation under the real label


def test_evaluation_continues_each_context_in_its_class() -> None:
    cfg = micro_cfg(*FP_CONDITIONAL, preset="tiny-fp")
    m = cfg.model
    dataset = build_dataset(cfg.data, m.num_frames, m.resolution, seed=1)
    G = Generator(m).eval()
    given: list[torch.Tensor] = []
    _record_labels(G, given)
    samples = list(_fake_clips(G, cfg, dataset, 12, range(12), 5, torch.device("cpu"), seed=0))
    real = list(_real_clips(dataset, range(12), seed=1))  # the contexts' clips (seed + 1)
    labels = [label for _, label in real]
    assert len(set(labels)) > 1
    assert [label for _, label, _, _ in samples] == labels
    assert torch.cat(given).tolist() == labels
    for (_, _, _, real_clip), (clip, _) in zip(samples, real, strict=True):
        assert np.array_equal(real_clip, clip)


@pytest.fixture(scope="module")
def fp_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fp_labels") / "run"
    train(micro_cfg("train.steps=1", *FP_CONDITIONAL, preset="tiny-fp"), out, quiet=True)
    return out


def test_sample_takes_the_context_files_labels(fp_run: Path, tmp_path: Path, capsys) -> None:
    clips = np.random.default_rng(0).integers(0, 256, (3, 4, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "ctx.npz", videos=clips, labels=np.array([5, 2, 7]))
    out = tmp_path / "pred.npz"
    assert main(["sample", str(fp_run), "--context", str(tmp_path / "ctx.npz"), "--n", "2", "--out", str(out)]) == 0
    assert np.load(out)["labels"].tolist() == [5, 5, 2, 2, 7, 7]
    assert main(["sample", str(fp_run), "--context", str(tmp_path / "ctx.npz"), "--n", "2", "--classes", "4",
                 "--out", str(out)]) == 0
    assert np.load(out)["labels"].tolist() == [4] * 6  # --classes: the user's class for every context
    np.save(tmp_path / "ctx.npy", clips)  # no labels: the model cannot guess the contexts' class
    capsys.readouterr()
    assert main(["sample", str(fp_run), "--context", str(tmp_path / "ctx.npy"), "--out", str(out)]) == 2
    assert "pass --classes" in capsys.readouterr().err
    assert main(["sample", str(fp_run), "--context", str(tmp_path / "ctx.npy"), "--classes", "1,2",
                 "--out", str(out)]) == 2  # two classes for three contexts: ambiguous
