"""Issue 25: no small file or value may exhaust memory, and sizes get one-line errors, never a traceback.

Each case runs through the real command line. Where the missing fix would allocate gigabytes, the command runs in
a process capped at 3 GiB of address space (RLIMIT_AS): a regression then fails the test (MemoryError, a
traceback, exit status 1) instead of taking the machine's memory. docs/bad-inputs.md ("Memory bounds") lists each
case with its limit.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import torch
from PIL import Image
from test_bad_inputs import _one_line_error

from _train_helpers import MICRO, micro_cfg
from dvdgan.data.decode import DecodeError, iter_frames
from dvdgan.models import Generator
from dvdgan.release.shipped import shipped_path
from dvdgan.training import checkpoint as ckpt

MEMORY_CAP = 3 << 30  # bytes of address space for a command whose unfixed version would allocate more
MICRO_ARGS = [arg for item in MICRO for arg in ("--set", item)]


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _run(argv: list[str], cwd: Path, preexec=_cap_memory) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "dvdgan", *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, preexec_fn=preexec)


def _capped_error(argv: list[str], needle: str, cwd: Path, preexec=_cap_memory) -> str:
    """``dvdgan ARGV`` under the memory cap: exit status 2 and a last line ``dvdgan CMD: error: ...needle...``."""
    proc = _run(argv, cwd, preexec)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and line.startswith(f"dvdgan {argv[0]}: error: ") and needle in line, line
    return line


def _payload(cfg, G_ema: dict[str, torch.Tensor]) -> dict:
    return {"format_version": ckpt.FORMAT_VERSION, "config": cfg.to_dict(), "step": 2, "G_ema": G_ema}


@pytest.fixture(scope="module")
def micro_ckpt(tmp_path_factory) -> Path:
    """A loadable checkpoint of the micro model (16x16, 4 frames, 9 classes), G_ema only, no training."""
    cfg = micro_cfg()
    path = tmp_path_factory.mktemp("ckpt") / "micro.pt"
    torch.save(_payload(cfg, Generator(cfg.model).state_dict()), path)
    return path


def _meta_state(cfg) -> dict[str, torch.Tensor]:
    with ckpt.on_meta():
        return Generator(cfg.model).state_dict()


# 1. A checkpoint's tensors must hold their data ---------------------------------------------------------------------


def _expanded(cfg) -> dict[str, torch.Tensor]:
    """Every tensor a stride-0 view of one element: torch.save stores 4 bytes for each, whatever its shape."""
    return {k: torch.zeros((), dtype=v.dtype).expand(v.shape) for k, v in _meta_state(cfg).items()}


def _shared(cfg) -> dict[str, torch.Tensor]:
    """Every tensor a view of one storage (per dtype) as large as the largest: each fits, together they repeat it.
    At ch 512 that storage alone is 3.6 GB: the micro model's shapes show the same."""
    state = _meta_state(micro_cfg())
    largest = max(v.numel() for v in state.values())
    bases = {dtype: torch.zeros(largest, dtype=dtype) for dtype in {v.dtype for v in state.values()}}
    return {k: bases[v.dtype][: v.numel()].view(v.shape) for k, v in state.items()}


@pytest.mark.parametrize(("command", "views", "needle"), [
    ("sample", _expanded, "(an expanded or overlapping view); dvdgan reads only tensors that hold all their data"),
    ("export", _expanded, "(an expanded or overlapping view); dvdgan reads only tensors that hold all their data"),
    ("sample", _shared, "but store"),
])
def test_1_checkpoint_tensors_must_hold_their_data(tmp_path, command, views, needle) -> None:
    cfg = micro_cfg("model.generator.ch=512")  # a 1.7 G-parameter generator (6.8 GB) from a 46 KB file
    torch.save(_payload(cfg, views(cfg)), tmp_path / "views.pt")
    assert (tmp_path / "views.pt").stat().st_size < 1 << 20
    out = ["--out", "x.gif"] if command == "sample" else ["out"]
    line = _capped_error([command, "views.pt", *out], needle, tmp_path)
    assert line.startswith(f"dvdgan {command}: error: checkpoint views.pt: ")
    assert not (tmp_path / "x.gif").exists() and not (tmp_path / "out").exists()


# 2. YAML aliases ("billion laughs") and values too large to print ---------------------------------------------------


def _laughs(levels: int = 9) -> str:
    """``[&a [&b ... [x, x, ...], *b, ...], *a, ...]``: 9**(levels + 1) elements in ~400 bytes (3.5 G at 9)."""
    text = "[" + ", ".join(["x"] * 9) + "]"
    for name in "abcdefghi"[:levels][::-1]:
        text = f"[&{name} {text}, " + ", ".join([f"*{name}"] * 8) + "]"
    return text


LAUGHS = _laughs()


def test_2_yaml_aliases_are_refused_in_config_files(tmp_path) -> None:
    (tmp_path / "laughs.yaml").write_text(f"data:\n  annotations: {LAUGHS}\n")
    _capped_error(["train", "--config", "laughs.yaml", "--dry-run"],
                  "config file laughs.yaml: line 2: YAML alias *i refused (dvdgan configs take plain values; "
                  "aliases can expand a few bytes into gigabytes)", tmp_path)


def test_2_yaml_aliases_are_refused_in_set_values(tmp_path) -> None:
    _capped_error(["train", "--set", f"train.log_to={LAUGHS}", "--dry-run"],
                  "the value is not valid YAML (YAML alias *i refused", tmp_path)


def test_2_deep_yaml_is_refused(tmp_path, capsys) -> None:
    (tmp_path / "deep.yaml").write_text("model:\n  num_frames: " + "[" * 100_000 + "]" * 100_000 + "\n")
    _one_line_error(capsys, ["train", "--config", str(tmp_path / "deep.yaml"), "--dry-run"],
                    "deep.yaml: line 2: nested deeper than 32 levels (a config has 3)")


def test_2_a_huge_stored_config_value_is_named_not_printed(tmp_path, micro_ckpt) -> None:
    data = torch.load(micro_ckpt, weights_only=True)
    laughs: list = ["x"] * 9
    for _ in range(9):  # 9**10 = 3.5 G elements through a pickle's references; its repr would never end
        laughs = [laughs] * 9
    data["config"]["data"]["annotations"] = laughs
    torch.save(data, tmp_path / "laughs.pt")
    line = _capped_error(["sample", "laughs.pt", "--out", "x.gif"],
                         "laughs.pt: stored config is invalid: config key 'data.annotations' expects a string, got "
                         "[[[[...], ", tmp_path)
    assert len(line) < 250


# 3. Frame sizes are checked before frames are decoded ---------------------------------------------------------------


def _gif(path: Path, screen: int) -> Path:
    """A 3-frame 2x2 GIF whose header declares a ``screen x screen`` logical screen (FFmpeg decodes that size)."""
    frames = [Image.new("RGB", (2, 2), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    data = bytearray(path.read_bytes())
    data[6:10] = struct.pack("<HH", screen, screen)
    path.write_bytes(bytes(data))
    return path


def test_3_a_gif_declaring_a_huge_screen_is_skipped_before_decoding(tmp_path) -> None:
    assert _gif(tmp_path / "src" / "a" / "big.gif", 12000).stat().st_size < 400
    _capped_error(["prepare", "src", "store", "--size", "16", "--quiet"],
                  "a/big.gif: cannot decode big.gif: frames of 12000x12000 are larger than the 67 M pixels "
                  "(8192x8192) dvdgan decodes", tmp_path)


def test_3_an_image_declaring_a_huge_size_is_refused_before_decoding(tmp_path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 12000, 12000, 8, 2, 0, 0, 0)  # a 12000x12000 RGB PNG of no pixels
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "frame_0.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                                                      + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    with pytest.raises(DecodeError, match=r"frame_0.png: frames of 12000x12000 are larger than the 67 M pixels"):
        next(iter_frames(tmp_path / "frames"))


# Sizes in the config and on the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "needle"), [
    ("model.num_frames=100000", "model.num_frames=100,000 is beyond the 1,024 frames dvdgan allows per clip"),
    ("model.generator.ch=2048", "G would have 26.7 G parameters (model.generator.ch=2048, model.discriminator.ch=4, "
                                "model.num_classes=9), more than the 4 G dvdgan allows"),
    ("train.batch_size=100000", "train.batch_size: a forward micro-batch of 100,000 clips of 4 x 16 x 16 holds "
                                "1.1 GiB of float32 clips, more than the 1.0 GiB dvdgan allows; lower "
                                "train.batch_size or set train.micro_batch (at most 87,381)"),
])
def test_sizes_are_refused_before_anything_is_built_or_saved(tmp_path, setting, needle) -> None:
    _capped_error(["train", "--out", "run", "--steps", "1", "--quiet", *MICRO_ARGS, "--set", setting], needle,
                  tmp_path)
    assert not (tmp_path / "run" / "checkpoints").exists()  # was: a 491 MB step-0 checkpoint


def test_sample_n_is_bounded_before_latents_are_drawn(tmp_path, micro_ckpt) -> None:
    _capped_error(["sample", str(micro_ckpt), "--out", "x.gif", "--n", "100000000"],
                  "--n 100,000,000 x 9 rows: 900,000,000 clips of 4 x 16 x 16 would hold 2,977.3 GiB in memory, "
                  "more than the 4.0 GiB dvdgan sample allows; use --n 134,352 or less", tmp_path)


# Files whose headers lie ---------------------------------------------------------------------------------------------


def _npy(path: Path, shape: tuple[int, ...], header_bytes: int = 0) -> Path:
    """A .npy file of uint8 ``shape`` (4 KB of data), its header padded to ``header_bytes``."""
    text = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}"
    text = text.ljust(max(header_bytes, len(text) + 1) - 1) + "\n"
    path.write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", len(text)) + text.encode() + bytes(4096))
    return path


@pytest.mark.parametrize(("shape", "header_bytes", "needle"), [
    ((-1, 4, 16, 16, 3), 0, "neg.npy: its .npy header declares the shape [-1, 4, 16, 16, 3], with a negative "
                            "dimension; the file is damaged or not written by numpy.save"),
    ((1, 4, 16, 16, 3), 2_000_000, "neg.npy: its .npy header is 2,000,000 bytes, more than the 10,000 numpy reads "
                                   "(numpy.save writes ~128); the file is damaged or not a clip array"),
    ((9, 4, 16, 16, 3), 0, "neg.npy: its header declares uint8 [9, 4, 16, 16, 3] (27,648 bytes) but the file holds "
                           "4,096 bytes of data (cut off?)"),
])
def test_npy_headers_are_checked(tmp_path, capsys, shape, header_bytes, needle) -> None:
    _npy(tmp_path / "neg.npy", shape, header_bytes)
    _one_line_error(capsys, ["fvd", str(tmp_path / "neg.npy"), "shapes"], needle)


def test_npz_member_headers_are_checked(tmp_path, capsys) -> None:
    import zipfile

    member = _npy(tmp_path / "m.npy", (-1, 4, 16, 16, 3)).read_bytes()
    with zipfile.ZipFile(tmp_path / "neg.npz", "w") as archive:
        archive.writestr("clips.npy", member)
    _one_line_error(capsys, ["fvd", str(tmp_path / "neg.npz"), "shapes"],
                    "neg.npz: member 'clips.npy': its .npy header declares the shape [-1, 4, 16, 16, 3]")


def test_a_deeply_nested_export_config_is_refused(tmp_path, capsys) -> None:
    export = tmp_path / "export"
    shutil.copytree(shipped_path("tiny-shapes"), export)
    (export / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    _one_line_error(capsys, ["sample", str(export), "--out", str(tmp_path / "x.gif")],
                    "config.json is nested too deeply for a dvdgan config (a config.json nests 4 levels)")
    (export / "config.json").write_text(json.dumps({"format": "dvdgan-generator"}))  # still read as before
    _one_line_error(capsys, ["sample", str(export), "--out", str(tmp_path / "x.gif")], "format version None")


def _file_size_limit(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def test_the_file_size_limit_is_named_when_a_checkpoint_is_saved(tmp_path) -> None:
    """``ulimit -f``: torch said "[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598"."""
    _capped_error(["train", "--out", "run", "--steps", "2", "--quiet", *MICRO_ARGS], "could not write "
                  "run/checkpoints/ckpt-00000002.pt (File too large: the file-size limit (ulimit -f) is 65,536 "
                  "bytes); earlier checkpoints are intact", tmp_path, preexec=_file_size_limit(1 << 16))
    assert not list((tmp_path / "run" / "checkpoints").iterdir())  # no .tmp left


def test_the_file_size_limit_is_named_when_exporting(tmp_path, micro_ckpt) -> None:
    """safetensors said "SafetensorError: Error while serializing: I/O error: File too large", in a traceback."""
    _capped_error(["export", str(micro_ckpt), "out"], "could not write out/model.safetensors (File too large",
                  tmp_path, preexec=_file_size_limit(1 << 12))
    assert not list((tmp_path / "out").iterdir())  # no half-written file


def test_limits_are_far_above_real_use() -> None:
    from dvdgan.config import load_preset
    from dvdgan.limits import MAX_FRAME_PIXELS, MAX_PARAMETERS
    from dvdgan.training.loop import check_sizes

    for preset in ("kinetics600-12x256", "kinetics600-48x128"):
        check_sizes(load_preset(preset), world_size=64)  # the paper's batch of 512 over 64 replicas
    assert MAX_PARAMETERS > 7 * 534e6 and MAX_FRAME_PIXELS > 7680 * 4320  # the paper's G; an 8K UHD frame
