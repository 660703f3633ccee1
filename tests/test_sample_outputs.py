"""`dvdgan sample --outdir`: one MP4 per clip, class name in the file name; grids carry a class label per row."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from _train_helpers import micro_cfg
from dvdgan.cli import main
from dvdgan.cli.sample import CLIP_NAME, clip_names
from dvdgan.sampling import make_grid
from dvdgan.training.loop import train


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample_outputs") / "run"
    train(micro_cfg("train.steps=1"), out, quiet=True)
    return out


def test_outdir_writes_one_mp4_per_clip_named_by_class(run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "clips"
    assert main(["sample", str(run), "--outdir", str(out), "--classes", "2,green triangle", "--n", "3"]) == 0
    names = sorted(p.name for p in out.iterdir())  # the run recorded the shapes' names: blue square, ...
    assert names == [f"0000{i}-{c}.mp4" for i, c in enumerate(["blue-square"] * 3 + ["green-triangle"] * 3)]
    with av.open(str(out / names[0])) as video:
        frames = [f.to_ndarray(format="rgb24") for f in video.decode(video=0)]
    assert len(frames) == 4 and frames[0].shape == (16, 16, 3)  # the model's clip: 4 frames of 16x16
    capsys.readouterr()
    assert main(["sample", str(run), "--outdir", str(out), "--n", "1"]) == 2  # never overwrites clips
    assert "already holds clips (00000-blue-square.mp4, 6 in all)" in capsys.readouterr().err
    # one or the other (argparse's usage error, as one line)
    assert main(["sample", str(run), "--outdir", str(out), "--out", str(tmp_path / "x.gif")]) == 2
    assert "not allowed with argument --outdir" in capsys.readouterr().err


def test_clip_names_are_safe_file_words_or_ids() -> None:
    labels = np.array([0, 1, 2])
    names = clip_names(labels, 3, ["Jump/Rope", "..", "x" * 60])
    assert names == ["00000-jump-rope.mp4", "00001-class.mp4", f"00002-{'x' * 40}.mp4"]
    assert all(CLIP_NAME.match(n) for n in names)  # so a second call refuses to write over them
    assert clip_names(labels, 3) == ["00000-class0.mp4", "00001-class1.mp4", "00002-class2.mp4"]  # no names: ids
    assert clip_names(None, 2) == ["00000.mp4", "00001.mp4"]  # unconditional


def test_grid_rows_carry_their_class_label() -> None:
    videos = np.zeros((4, 2, 16, 16, 3), dtype=np.uint8)
    plain = make_grid(videos, rows=2)
    labelled = make_grid(videos, rows=2, row_labels=["3", "8"])
    assert labelled.shape[:2] == plain.shape[:2] and labelled.shape[2] > plain.shape[2]
    column = labelled[0, :, : labelled.shape[2] - plain.shape[2]]
    row_height = 16 + 2
    first, second = column[2 : 2 + row_height], column[2 + row_height : 2 + 2 * row_height]
    assert first.any() and second.any() and not np.array_equal(first, second)  # text in each row, not the same
    assert np.array_equal(labelled[1, :, : column.shape[1]], column)  # the same labels in every frame
    with pytest.raises(ValueError, match="3 row labels"):
        make_grid(videos, rows=2, row_labels=["1", "2", "3"])
