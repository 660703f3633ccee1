"""Checkpoints: one file of plain types and state dicts, written atomically, loaded with ``weights_only=True``.

A crash or SIGKILL while saving leaves at most a stray ``*.tmp`` file: the previous checkpoint stays intact
because a new one only appears under its final name through ``os.replace`` after it is fully written and synced.
"""

from __future__ import annotations

import os
import pickle
import random
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import dvdgan
from dvdgan.config import ConfigError, DVDGANConfig

FORMAT_VERSION = 1
CKPT_RE = re.compile(r"^ckpt-(\d{8})\.pt$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, truncated, or made for another architecture."""


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"ckpt-{step:08d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoints of a run, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if CKPT_RE.match(p.name))


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Write to ``path.tmp``, fsync, then rename over ``path`` (and fsync the folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:  # some filesystems do not allow fsync on a directory
        pass


def rng_state() -> dict[str, Any]:
    """This process's RNG states as plain Python types (loadable under ``weights_only=True`` and sendable with
    ``all_gather_object``, which cannot carry tensors reliably)."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), *map(float, np_state[2:])],
        "torch": bytes(torch.get_rng_state().numpy()),
    }
    if torch.cuda.is_available():
        state["cuda"] = [bytes(s.numpy()) for s in torch.cuda.get_rng_state_all()]
    return state


def _byte_tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    name, key, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(key, dtype=np.uint32), int(pos), int(has_gauss), float(cached)))
    torch.set_rng_state(_byte_tensor(state["torch"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_byte_tensor(s) for s in state["cuda"]])


def save_checkpoint(path: Path, cfg: DVDGANConfig, step: int, **states: Any) -> None:
    """Save ``states`` (state dicts, rng states, counters) with the config and versions."""
    payload = {
        "format_version": FORMAT_VERSION,
        "dvdgan_version": dvdgan.__version__,
        "config": cfg.to_dict(),
        "step": step,
        **states,
    }
    atomic_torch_save(payload, path)


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    for old in list_checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)


def read_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint file safely; any problem is a ``CheckpointError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"checkpoint {path} is not a torch file or holds objects other than tensors and plain types "
            f"(refused by weights_only=True loading)"
        ) from None
    except Exception as exc:  # truncated zip archive, I/O errors...
        reason = "truncated or corrupt" if "PytorchStreamReader" in str(exc) else f"{type(exc).__name__}: {exc}"
        raise CheckpointError(f"checkpoint {path} is unreadable ({reason[:200]})") from None
    if not isinstance(data, dict) or "config" not in data or "format_version" not in data:
        raise CheckpointError(f"{path} is not a dvdgan checkpoint (missing 'config'/'format_version')")
    if data["format_version"] > FORMAT_VERSION:
        raise CheckpointError(f"{path} has format {data['format_version']}; this dvdgan reads <= {FORMAT_VERSION}")
    return data


def latest_valid_checkpoint(run_dir: Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict] | None:
    """Newest checkpoint that loads; corrupt or partial ones are skipped with a warning."""
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, read_checkpoint(path, map_location)
        except CheckpointError as exc:
            warnings.warn(f"skipping {exc}", stacklevel=2)
    return None


def load_state_checked(module: nn.Module, state: dict[str, torch.Tensor], what: str, source: Path | str) -> None:
    """``load_state_dict`` with a one-line error naming the first mismatching key (another architecture)."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        key = (missing or unexpected)[0]
        kind = "missing" if missing else "unexpected"
        raise CheckpointError(
            f"{source}: {what} does not match this architecture ({kind} key {key!r}; "
            f"{len(missing)} missing, {len(unexpected)} unexpected)"
        )
    for k, v in own.items():
        if v.shape != state[k].shape:
            raise CheckpointError(
                f"{source}: {what} does not match this architecture ({k!r} has shape {list(state[k].shape)} "
                f"in the checkpoint, {list(v.shape)} in the model)"
            )
    module.load_state_dict(state)


def config_from_checkpoint(data: dict[str, Any], source: Path | str) -> DVDGANConfig:
    try:
        return DVDGANConfig.from_dict(data["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{source}: stored config is invalid: {exc}") from None


class LoadedCheckpoint:
    """A checkpoint's config and networks, built and loaded (``G_ema`` in eval mode; ``G``/``D`` when stored)."""

    def __init__(self, path: Path, data: dict[str, Any], device: torch.device | str):
        from dvdgan.models import DualDiscriminator, Generator

        self.path, self.step = Path(path), int(data.get("step", 0))
        self.config = config_from_checkpoint(data, path)
        self.G_ema = Generator(self.config.model)
        load_state_checked(self.G_ema, data["G_ema"], "G_ema", path)
        self.G_ema.to(device).eval().requires_grad_(False)
        self.G: nn.Module | None = None
        self.D: nn.Module | None = None
        if "G" in data:
            self.G = Generator(self.config.model)
            load_state_checked(self.G, data["G"], "G", path)
            self.G.to(device)
        if "D" in data:
            self.D = DualDiscriminator(self.config.model)
            load_state_checked(self.D, data["D"], "D", path)
            self.D.to(device)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> LoadedCheckpoint:
    """``load_checkpoint("ckpt.pt").G_ema`` is a ready generator; also accepts a run directory (newest checkpoint)."""
    path = Path(path)
    if path.is_dir():
        found = latest_valid_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"no valid checkpoint under {path}/checkpoints")
        path, data = found
    else:
        data = read_checkpoint(path)
    return LoadedCheckpoint(path, data, device)


def export_generator(src: str | Path, dst: str | Path) -> Path:
    """Write a small file holding only G_ema and the config (for sharing and sampling)."""
    data = read_checkpoint(Path(src))
    keep = {k: data[k] for k in ("format_version", "dvdgan_version", "config", "step", "G_ema")}
    atomic_torch_save(keep, Path(dst))
    return Path(dst)
