"""The bad-input review: each finding gets a clear one-line error (or the right behaviour) and loses nothing.
Numbers refer to the review's list; docs/bad-inputs.md maps every input to the test that holds it. Findings 4-8
(checkpoints, resume, locks, foreign directories, full disks) are held by test_run_safety.py."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from _train_helpers import load_payload, micro_cfg
from dvdgan.cli import main
from dvdgan.config import DataConfig
from dvdgan.data import ArrayVideos, PreparedStore, build_dataset, load_clips
from dvdgan.training import checkpoint as ckpt
from dvdgan.training.logger import json_line
from dvdgan.training.loop import train


def _one_line_error(capsys, argv: list[str], needle: str, code: int = 2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    line = err.strip().splitlines()[-1]  # `train` prints its start-up lines first
    assert line.startswith(f"dvdgan {argv[0]}: error: ") and needle in line, line
    return line


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished micro run: 2 steps, a checkpoint, 4-frame 16x16 clips of 9 classes."""
    out = tmp_path_factory.mktemp("runs") / "run"
    train(micro_cfg("train.steps=2"), out, quiet=True)
    return out


def _clips(n: int = 3, t: int = 4, c: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, t, 16, 16, c), dtype=np.uint8)


# Files never run code ---------------------------------------------------------------------------------------------


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_files_given_to_dvdgan_never_run_code(run_dir, tmp_path, capsys) -> None:
    marker = tmp_path / "ran"
    data = load_payload(ckpt.checkpoint_path(run_dir, 2))
    data["extra"] = _Payload(marker)
    torch.save(data, tmp_path / "evil.pt")
    _one_line_error(capsys, ["sample", str(tmp_path / "evil.pt"), "--out", str(tmp_path / "x.gif")],
                    "holds objects other than tensors and plain types (refused by weights_only=True loading)")
    np.save(tmp_path / "evil.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    _one_line_error(capsys, ["fvd", str(tmp_path / "evil.npy"), "shapes"],
                    "it holds Python objects (refused: unpickling could run code)")
    assert not marker.exists()


# 1. Memory exhaustion from tiny files ------------------------------------------------------------------------------


def test_1_a_small_checkpoint_cannot_make_sample_build_a_huge_model(run_dir, tmp_path, capsys, monkeypatch) -> None:
    import dvdgan.models as models

    data = load_payload(ckpt.checkpoint_path(run_dir, 2))
    data["config"]["model"]["generator"]["ch"] = 512  # ~13 GB of generator for a file of a few KB
    torch.save({k: data[k] for k in ("format_version", "config", "step", "G_ema")}, tmp_path / "big.pt")
    built_on = []
    real = models.Generator

    def recording(cfg):
        built_on.append(torch.empty(0).device.type)  # where a tensor made now would live
        return real(cfg)

    monkeypatch.setattr(models, "Generator", recording)
    _one_line_error(capsys, ["sample", str(tmp_path / "big.pt"), "--out", str(tmp_path / "x.gif")],
                    "G_ema does not match this architecture ('linear.bias' has shape [256] in the checkpoint, "
                    "[65536] in the model)")
    assert built_on == ["meta"]  # checked on the meta device: nothing was allocated
    data["config"]["model"]["num_frames"] = 10**6
    torch.save(data, tmp_path / "long.pt")
    _one_line_error(capsys, ["sample", str(tmp_path / "long.pt"), "--out", str(tmp_path / "x.gif")],
                    "stored config asks for more than dvdgan builds: model.num_frames=1,000,000 is beyond the 1,024 "
                    "frames dvdgan allows per clip")


def test_1_array_labels_and_sizes_are_checked_before_allocating(tmp_path, capsys) -> None:
    np.savez(tmp_path / "huge_label.npz", clips=_clips(), labels=np.array([0, 1, 10**9]))
    _one_line_error(capsys, ["train", "--data", str(tmp_path / "huge_label.npz"), "--out", str(tmp_path / "r")],
                    "label 1000000000 is beyond the 100,000 classes dvdgan allows")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                  "shape": (10**6, 16, 256, 256, 3)})
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("clips.npy", header.getvalue() + bytes(1000))  # a few bytes that claim 3 TB
    with pytest.raises(ValueError, match=r"bomb.npz expands to 2929.7 GiB, more than half of this machine"):
        ArrayVideos(tmp_path / "bomb.npz")


# 2. CLI values are values, not YAML ----------------------------------------------------------------------------------


def test_2_data_paths_with_yaml_characters_are_taken_as_they_are(tmp_path, capsys) -> None:
    weird = tmp_path / "my videos #2: final.npz"
    np.savez(weird, clips=_clips(n=4, t=8), labels=np.array([0, 1, 0, 1]))  # the tiny preset's 8 frames
    assert main(["train", "--data", str(weird), "--dry-run"]) == 0
    text = capsys.readouterr().out
    cfg = yaml.safe_load(text.split("\n", 1)[1])
    assert cfg["data"]["source"] == str(weird) and cfg["model"]["num_classes"] == 2


# 3. A damaged store index fails when the store opens -----------------------------------------------------------------


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    store.mkdir()
    (store / "frames.u8").write_bytes(bytes(4 * 16 * 16 * 3))
    index = {"format": "dvdgan-prepared-store", "version": 1, "size": 16, "total_frames": 4, "frames_file": "frames.u8",
             "class_names": ["a", "b"], "videos": [{"path": "a/x.avi", "label": 1, "offset": 0, "length": 4}]}
    (store / "index.json").write_text(json.dumps(index))
    return store


@pytest.mark.parametrize(("key", "value", "message"), [
    ("frames_file", "../../etc/passwd", "frames_file must be a file name inside the store, got '../../etc/passwd'"),
    ("label", 2, "video 0 (a/x.avi) has label=2"),
    ("label", -1, "video 0 (a/x.avi) has label=-1"),
    ("length", 0, "video 0 (a/x.avi) has length=0"),
    ("offset", 1, "video 0 (a/x.avi) has offset=1"),
    ("size", "16", "size must be an integer >= 1, got '16'"),
])
def test_3_store_index_is_validated_when_it_opens(tmp_path, key, value, message) -> None:
    store = _store(tmp_path)
    PreparedStore(store)  # the undamaged store opens
    index = json.loads((store / "index.json").read_text())
    (index if key in index else index["videos"][0])[key] = value
    (store / "index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError) as info:
        PreparedStore(store)
    assert message in str(info.value) and "rerun dvdgan prepare" in str(info.value)


# 7. prepare never deletes or overwrites what is not its own ---------------------------------------------------------


def test_7_prepare_keeps_foreign_files(tmp_path, capsys) -> None:
    from _video_helpers import clips, write_video

    src = tmp_path / "src"
    for i, frames in enumerate(clips(2, num_frames=4, size=16)):
        write_video(src / "a" / f"v{i}.avi", frames)
    out = tmp_path / "out"
    (out / ".work").mkdir(parents=True)
    (out / ".work" / "mine.txt").write_text("not prepare's")
    _one_line_error(capsys, ["prepare", str(src), str(out), "--size", "16", "--quiet"],
                    "exists but was not made by dvdgan prepare")
    assert (out / ".work" / "mine.txt").read_text() == "not prepare's"
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.tex").write_text("years of work")
    _one_line_error(capsys, ["prepare", str(src), str(tmp_path / "home"), "--size", "16", "--quiet"],
                    "holds files that are not a store's (e.g. 'thesis.tex')")
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["thesis.tex"]


# 9. One-line errors instead of tracebacks ---------------------------------------------------------------------------


def test_9_unwritable_outputs(run_dir, tmp_path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    _one_line_error(capsys, ["train", "--out", str(blocker / "run"), "--steps", "1"],
                    f"{blocker / 'run'}: Not a directory")
    _one_line_error(capsys, ["sample", str(run_dir), "--out", str(blocker / "x.gif")],
                    f"cannot write {blocker / 'x.gif'}: {blocker} is a file, not a folder")
    _one_line_error(capsys, ["eval", str(run_dir), "--json-out", str(blocker / "e.json"), "--metrics", "motion"],
                    f"cannot write {blocker / 'e.json'}: {blocker} is a file, not a folder")
    from _video_helpers import clips, write_video

    write_video(tmp_path / "src" / "v.avi", clips(1, num_frames=4, size=16)[0])
    _one_line_error(capsys, ["prepare", str(tmp_path / "src"), str(blocker / "store"), "--size", "16", "--quiet"],
                    f"{blocker / 'store'}: Not a directory")


def test_9_devices_yaml_and_config_values(capsys, tmp_path) -> None:
    _one_line_error(capsys, ["train", "--device", "tpu", "--dry-run"], "train.device must be auto, cpu, cuda")
    _one_line_error(capsys, ["train", "--set", "train.lr_g=[1,", "--dry-run"], "the value is not valid YAML")
    _one_line_error(capsys, ["train", "--set", "model.channels=1", "--dry-run"], "model.channels must be 3")
    _one_line_error(capsys, ["train", "--set", "eval.protocol=bogus", "--dry-run"], "unknown FVD protocol 'bogus'")
    # a dry run refuses the sizes the run would refuse (it printed the config and exited 0)
    _one_line_error(capsys, ["train", "--set", "model.num_frames=100000", "--dry-run"],
                    "beyond the 1,024 frames dvdgan allows per clip")
    _one_line_error(capsys, ["train", "--set", "train.batch_size=100000000", "--dry-run"],
                    "lower train.batch_size or set train.micro_batch")
    if not torch.cuda.is_available():
        _one_line_error(capsys, ["train", "--device", "cuda", "--steps", "1", "--out", str(tmp_path / "r")],
                        "device 'cuda' but CUDA is not available")


def test_9_clip_channels_and_labels(tmp_path) -> None:
    np.save(tmp_path / "grey.npy", _clips(c=1)[..., 0])  # [N, T, H, W]: grey clips are read as RGB
    grey = build_dataset(DataConfig(source=str(tmp_path / "grey.npy")), 4, 16)
    clip, _ = grey[0]
    assert clip.shape == (4, 16, 16, 3) and torch.equal(clip[..., 0], clip[..., 2])
    np.save(tmp_path / "rgba.npy", _clips(c=4))
    with pytest.raises(ValueError, match="clips have 4 channels, expected 3 \\(RGB\\) or 1 \\(grey\\)"):
        ArrayVideos(tmp_path / "rgba.npy")
    for labels, message in (([0, -1, 1], "labels must be class indices >= 0, got -1"),
                            ([0.0, 1.5, 1.0], "labels must be integer class indices, got float64")):
        np.savez(tmp_path / "l.npz", clips=_clips(), labels=np.array(labels))
        with pytest.raises(ValueError, match=message):
            ArrayVideos(tmp_path / "l.npz")


def test_9_counts_and_rates_must_be_positive(run_dir, tmp_path, capsys) -> None:
    out = str(tmp_path / "x.gif")
    _one_line_error(capsys, ["sample", str(run_dir), "--out", out, "--fps", "0"], "--fps must be > 0, got 0")
    _one_line_error(capsys, ["sample", str(run_dir), "--out", out, "--fps", "-5"], "--fps must be > 0, got -5")
    _one_line_error(capsys, ["sample", str(run_dir), "--out", out, "--batch-size", "0"], "--batch-size must be > 0")
    _one_line_error(capsys, ["eval", str(run_dir), "--batch-size", "0"], "--batch-size must be > 0, got 0")
    _one_line_error(capsys, ["fvd", "shapes", "shapes", "--batch-size", "0"], "--batch-size must be > 0, got 0")
    _one_line_error(capsys, ["train", "--steps", "0", "--dry-run"], "--steps must be >= 1, got 0")
    assert not Path(out).exists()


def test_9_dry_run_into_a_closed_pipe(monkeypatch, capsys) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already exited
    with open(write_end, "w", buffering=1) as closed_pipe:
        monkeypatch.setattr(sys, "stdout", closed_pipe)
        assert main(["train", "--dry-run"]) == 141  # as a process ended by SIGPIPE; no traceback
    assert "Traceback" not in capsys.readouterr().err


# 10. Clear messages --------------------------------------------------------------------------------------------------


def test_10_text_file_named_npy(tmp_path, capsys) -> None:
    (tmp_path / "clips.npy").write_text("these are my notes")
    line = _one_line_error(capsys, ["fvd", str(tmp_path / "clips.npy"), "shapes"],
                           f"{tmp_path / 'clips.npy'} is not a .npy file (no NumPy header)")
    assert "allow_pickle" not in line  # never the advice to load it unsafely


def test_10_eval_writes_its_json_beside_a_loose_checkpoint(run_dir, tmp_path, capsys) -> None:
    loose = tmp_path / "models" / "g.pt"
    loose.parent.mkdir()
    loose.write_bytes(ckpt.checkpoint_path(run_dir, 2).read_bytes())
    assert main(["eval", str(loose), "--metrics", "motion", "--num-samples", "4"]) == 0
    assert (tmp_path / "models" / "g-eval-00000002.json").is_file() and not (tmp_path / "eval-00000002.json").exists()
    assert f"wrote {tmp_path / 'models' / 'g-eval-00000002.json'}" in capsys.readouterr().err
    assert main(["eval", str(run_dir), "--metrics", "motion", "--num-samples", "4"]) == 0  # a run's: its directory
    assert (run_dir / "eval-00000002.json").is_file()


def test_10_eval_says_what_can_be_measured(run_dir, capsys) -> None:
    _one_line_error(capsys, ["eval", str(run_dir), "--metrics", "is,kvd"],
                    "Metrics that apply to this model and data: class_acc, motion")


def test_10_json_is_strict() -> None:
    line = json_line({"step": 1, "ratio": float("nan"), "per_step": [1.0, float("inf")]})
    assert json.loads(line) == {"step": 1, "ratio": None, "per_step": [1.0, None]} and "NaN" not in line


def test_10_fvd_counts_are_known_before_the_work(tmp_path, capsys, monkeypatch) -> None:
    import dvdgan.metrics as metrics

    np.savez(tmp_path / "a.npz", clips=_clips(n=3, t=16))
    assert len(load_clips(str(tmp_path / "a.npz"), 16, max_clips=2048)) == 3  # progress totals: 3, not 2048
    assert len(load_clips("shapes", 16, resolution=16, max_clips=5)) == 5

    def no_network(**kwargs):
        raise RuntimeError("the I3D network was not needed to get here")

    monkeypatch.setattr(metrics, "load_i3d", no_network)
    with pytest.raises(RuntimeError, match="was not needed"):
        main(["fvd", str(tmp_path / "a.npz"), str(tmp_path / "a.npz"), "--protocol", "fvd64_16f"])
    assert "warning: fvd64_16f names 64 vs 64 clips but the inputs hold 3 and 3" in capsys.readouterr().err
    np.savez(tmp_path / "one.npz", clips=_clips(n=1, t=16))
    _one_line_error(capsys, ["fvd", str(tmp_path / "one.npz"), str(tmp_path / "a.npz")], "gives 1 clip(s) of 16 frames")
