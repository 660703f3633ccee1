"""Checkpoints: one file of plain types and state dicts, written atomically, loaded with ``weights_only=True``.

A crash or SIGKILL while saving leaves at most a stray ``*.tmp`` file (removed when the run starts again): the
previous checkpoint stays intact because a new one only appears under its final name through ``os.replace`` after
it is fully written and synced. A failed write (full disk) removes its ``*.tmp`` and raises ``CheckpointError``.
Networks are built on the meta device and checked against the stored tensors before any memory is allocated, and
every stored tensor must hold all its data (no expanded or shared views), so what loading costs is bounded by the
file's size: a tiny file cannot make ``load_checkpoint`` build a huge model.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import random
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import dvdgan
from dvdgan.config import ConfigError, DVDGANConfig, _short
from dvdgan.limits import check_clip_size, check_parameters

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


class _Writer:
    """A file torch.save writes through, keeping the OS's error: torch reports a failed write as its own
    RuntimeError ("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598"), which says nothing."""

    def __init__(self, f) -> None:
        self.f, self.error = f, None

    def write(self, data) -> int:
        try:
            return self.f.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.f.flush()


def _write_failure(exc: BaseException, writer: _Writer | None) -> str:
    """Why a save failed, in the OS's words (a full disk, the file-size limit) where it said."""
    os_error = exc if isinstance(exc, OSError) else writer.error if writer is not None else None
    if os_error is None or not os_error.strerror:
        return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    if os_error.errno == errno.EFBIG:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY:
            return f"{os_error.strerror}: the file-size limit (ulimit -f) is {limit:,} bytes"
    return os_error.strerror


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Write to ``path.tmp``, fsync, then rename over ``path`` (and fsync the folder)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    writer = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            writer = _Writer(f)
            torch.save(obj, writer)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as RuntimeError
        tmp.unlink(missing_ok=True)
        reason = _write_failure(exc, writer)
        raise CheckpointError(f"could not write {path} ({reason}); earlier checkpoints are intact") from None
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


def remove_partial_saves(run_dir: Path) -> None:
    """Delete the ``*.tmp`` files a killed save left behind (never a checkpoint: those only appear by rename)."""
    folder = Path(run_dir) / "checkpoints"
    for tmp in folder.glob("ckpt-*.pt.tmp") if folder.is_dir() else ():
        tmp.unlink(missing_ok=True)


def is_complete(path: Path) -> bool:
    """Cheap validity check: a torch zip archive whose central directory (written last) is intact."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("data.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def prune_checkpoints(run_dir: Path, keep: int, newest: Path | None = None) -> None:
    """Keep ``newest`` (the checkpoint just written) and the most recent complete ones, ``keep`` in all.

    Unreadable files are left alone and never count towards ``keep``: ranking by name alone would let one corrupt
    file with a high step number get every new checkpoint deleted.
    """
    valid = [p for p in list_checkpoints(run_dir) if p == newest or is_complete(p)]
    if newest is not None and newest in valid:
        valid.remove(newest)
        valid.append(newest)  # ranks first whatever its name
    for old in valid[:-keep]:
        old.unlink(missing_ok=True)


def read_checkpoint(path: Path, map_location: str | torch.device = "cpu", mmap: bool = False) -> dict[str, Any]:
    """Load a checkpoint file safely; any problem is a ``CheckpointError`` naming the file.

    ``mmap``: tensors stay in the file until used, so reading only G_ema of a paper-size checkpoint (8 GB with
    G, D and the optimiser states) costs only G_ema's bytes.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"checkpoint {path} is not a torch file or holds objects other than tensors and plain types "
            f"(refused by weights_only=True loading)"
        ) from None
    except Exception as exc:  # truncated zip archive, I/O errors...
        raise CheckpointError(f"checkpoint {path} is unreadable ({_unreadable_reason(path, exc)})") from None
    if not isinstance(data, dict) or "config" not in data or "format_version" not in data:
        raise CheckpointError(f"{path} is not a dvdgan checkpoint (missing 'config'/'format_version')")
    if stored_int(data["format_version"], "format_version", path) > FORMAT_VERSION:
        raise CheckpointError(f"{path} has format {data['format_version']}; this dvdgan reads <= {FORMAT_VERSION}")
    for key in ("step", "g_ema_standing_stats"):
        if key in data:
            stored_int(data[key], key, path)
    check_stored_data(data, path)
    return data


MAX_STORED_INT = 2**63  # steps and counts are int64 for torch, TensorBoard and most JSON readers


def stored_int(value: Any, key: str, source: Path | str) -> int:
    """``value``, read from ``source`` under ``key``, when it is an integer in [0, 2**63); else a CheckpointError
    naming the key: ``int()`` of it said "invalid literal for int()" naming nothing, and took 1e20 for a step."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_STORED_INT:
        raise CheckpointError(f"{source}: {key} must be an integer in [0, 2**63), got {_short(value)}")
    return value


def _stored_tensors(data: Any) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor of a loaded payload, named by its top-level entry and its own key. Each container is visited
    once and without recursion: a pickle's references can make one list appear a billion times, or nest lists
    100,000 deep, in a few hundred bytes."""
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, obj = stack.pop()
        if isinstance(obj, torch.Tensor):
            yield where, obj
        elif isinstance(obj, (dict, list, tuple)) and id(obj) not in seen:
            seen.add(id(obj))
            items = obj.items() if isinstance(obj, dict) else enumerate(obj)
            # top-level entry and own key only: a full path would grow with the nesting depth
            stack.extend((f"{where.split(' ')[0]} {k!r}"[:120] if where else str(k)[:60], v) for k, v in items
                         if isinstance(v, (torch.Tensor, dict, list, tuple)))


def check_stored_data(data: Any, path: Path | str) -> None:
    """Refuse tensors that do not hold their own data, so that loading costs at most the file's size.

    ``torch.save`` of ``t.expand(...)`` (stride 0) stores one element for a tensor of any shape, and views of one
    storage repeat it: an 80 KB file then passes every shape check and builds a 208 M-parameter generator (an
    833 MB export). Every tensor must fit in its storage, and all of them together in their distinct storages.
    """
    storages: dict[int, int] = {}
    needed = 0
    for where, t in _stored_tensors(data):
        storage = t.untyped_storage()
        size = t.numel() * t.element_size()
        if size > storage.nbytes():
            raise CheckpointError(
                f"checkpoint {path}: {where} of shape {list(t.shape)[:8]} needs {size:,} bytes but stores "
                f"{storage.nbytes():,} (an expanded or overlapping view); dvdgan reads only tensors that hold "
                "all their data")
        storages[storage.data_ptr()] = storage.nbytes()
        needed += size
    if needed > sum(storages.values()):
        raise CheckpointError(
            f"checkpoint {path}: its tensors need {needed:,} bytes but store {sum(storages.values()):,} (views "
            "sharing storage); dvdgan reads only tensors that hold all their data")


def _unreadable_reason(path: Path, exc: Exception) -> str:
    # torch reports a cut-off archive as "PytorchStreamReader failed..." or as OSError "[Errno 22] Invalid argument".
    if not is_complete(path):
        return f"truncated or not a checkpoint: not a complete torch archive, {path.stat().st_size} bytes"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}" if str(exc) else type(exc).__name__


def latest_valid_checkpoint(run_dir: Path, map_location: str | torch.device = "cpu",
                            mmap: bool = False) -> tuple[Path, dict] | None:
    """Newest checkpoint that loads; corrupt or partial ones are skipped with a warning."""
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, read_checkpoint(path, map_location, mmap)
        except CheckpointError as exc:
            warnings.warn(f"skipping {exc}", stacklevel=2)
    return None


def load_state_checked(module: nn.Module, state: dict[str, torch.Tensor], what: str, source: Path | str,
                       assign: bool = False) -> None:
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
    module.load_state_dict(state, assign=assign)  # assign: a meta-device module takes the stored tensors


def config_from_checkpoint(data: dict[str, Any], source: Path | str) -> DVDGANConfig:
    try:
        cfg = DVDGANConfig.from_dict(data["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{source}: stored config is invalid: {exc}") from None
    try:
        check_clip_size(cfg.model)  # the clip size, unlike the weights, is not bounded by the file's size
    except ConfigError as exc:
        raise CheckpointError(f"{source}: stored config asks for more than dvdgan builds: {exc}") from None
    return cfg


_SN = torch.nn.utils.parametrizations._SpectralNorm
_POWER_METHOD = getattr(_SN, "_power_method", None)  # private: if a torch release renames it, nothing is skipped


def _power_method_unless_meta(self, weight_mat: torch.Tensor, n_power_iterations: int) -> None:
    if not weight_mat.is_meta:
        _POWER_METHOD(self, weight_mat, n_power_iterations)


@contextlib.contextmanager
def on_meta() -> Iterator[None]:
    """``torch.device("meta")`` without spectral norm's 15 power iterations at construction: on meta tensors they
    compute nothing (there are no values; stored or initialised ``_u``/``_v`` replace them) but cost ~3 s of
    Python dispatch for even the tiny preset's G. Real tensors still iterate (the class is patched for the
    duration: dvdgan builds networks in one thread)."""
    if _POWER_METHOD is None:
        with torch.device("meta"):
            yield
        return
    _SN._power_method = _power_method_unless_meta
    try:
        with torch.device("meta"):
            yield
    finally:
        _SN._power_method = _POWER_METHOD


def count_parameters(make: Callable[[], nn.Module]) -> int:
    """Parameters and buffers of ``make()``, built on the meta device (nothing allocated)."""
    with on_meta():
        return sum(t.numel() for t in make().state_dict().values())


def check_network_sizes(cfg: DVDGANConfig) -> None:
    """G and D within ``MAX_PARAMETERS``, counted before either is built (ConfigError)."""
    from dvdgan.models import DualDiscriminator, Generator

    m = cfg.model
    for what, make in (("G", lambda: Generator(m)), ("D", lambda: DualDiscriminator(m))):
        check_parameters(count_parameters(make), what, m)


def build_checked(make: Callable[[], nn.Module], state: dict[str, torch.Tensor], what: str, source: Path | str,
                  device: torch.device | str) -> nn.Module:
    """``make()`` on the meta device, checked against ``state``, then materialised on ``device`` and loaded.

    The check runs before any memory is allocated: a config that promises a huge network with small stored
    tensors is refused, not built.
    """
    with on_meta():
        module = make()
    load_state_checked(module, state, what, source, assign=True)
    return module.to(device)


NETWORKS = ("G_ema", "G", "D")


class LoadedCheckpoint:
    """A checkpoint's config and the ``networks`` asked for, built on the meta device (no initialisation) and
    loaded; ``G_ema`` in eval mode. Networks not asked for (or not stored: G and D) are None."""

    def __init__(self, path: Path, data: dict[str, Any], device: torch.device | str,
                 networks: tuple[str, ...] = ("G_ema",)):
        from dvdgan.models import DualDiscriminator, Generator

        self.path, self.step = Path(path), int(data.get("step", 0))
        self.config = config_from_checkpoint(data, path)
        # > 0: G_ema's BN statistics are its own, from that many of its clips (eval.standing_stats); 0: copied from G
        self.standing_stats = int(data.get("g_ema_standing_stats", 0))
        m = self.config.model
        if "G_ema" in networks and "G_ema" not in data:
            raise CheckpointError(f"{path} holds no G_ema weights (keys: {', '.join(sorted(data))})")
        make = {"G_ema": lambda: Generator(m), "G": lambda: Generator(m), "D": lambda: DualDiscriminator(m)}
        built = {name: build_checked(make[name], data[name], name, path, device)
                 for name in NETWORKS if name in networks and name in data}
        self.G_ema: nn.Module | None = built.get("G_ema")
        self.G: nn.Module | None = built.get("G")
        self.D: nn.Module | None = built.get("D")
        if self.G_ema is not None:
            self.G_ema.eval().requires_grad_(False)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu",
                    networks: tuple[str, ...] = ("G_ema",)) -> LoadedCheckpoint:
    """``load_checkpoint("ckpt.pt").G_ema`` is a ready generator; also accepts a run directory (newest checkpoint).

    Only ``networks`` are built (default G_ema alone; add "G", "D" for those); the file is memory-mapped, so the
    others' weights and the optimiser states are never read.
    """
    unknown = set(networks) - set(NETWORKS)
    if unknown:
        raise ValueError(f"unknown networks {sorted(unknown)}; choose from {NETWORKS}")
    path = Path(path)
    if path.is_dir():
        found = latest_valid_checkpoint(path, mmap=True)
        if found is None:
            raise FileNotFoundError(f"no valid checkpoint under {path}/checkpoints")
        path, data = found
    else:
        data = read_checkpoint(path, mmap=True)
    return LoadedCheckpoint(path, data, device, networks)


def export_generator(src: str | Path, dst: str | Path) -> Path:
    """Write a small file holding only G_ema and the config (for sharing and sampling)."""
    data = read_checkpoint(Path(src))
    keys = ("format_version", "dvdgan_version", "config", "step", "G_ema", "g_ema_standing_stats")
    keep = {k: data[k] for k in keys if k in data}
    atomic_torch_save(keep, Path(dst))
    return Path(dst)
