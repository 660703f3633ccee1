"""The export format: a folder of ``model.safetensors`` (G_ema's tensors), ``config.json`` and ``README.md``.

Reading it runs no code: safetensors is raw tensors behind a JSON header, ``config.json`` is JSON (no pickle
anywhere). The network is built on the meta device from ``config.json`` and checked against the header's names,
shapes and dtypes before any memory is allocated, so a small file cannot make the loader build a huge model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import dvdgan
from dvdgan.config import DVDGANConfig, _short
from dvdgan.training.checkpoint import config_from_checkpoint, load_state_checked, on_meta, stored_int

FORMAT = "dvdgan-generator"
FORMAT_VERSION = 1
WEIGHTS, CONFIG, CARD = "model.safetensors", "config.json", "README.md"
# DVD-GAN-FP models of the user's own footage may carry a few real clips to continue (uint8 [N, T, H, W, 3], no
# pickle): `dvdgan sample` uses them when given no --context
CONTEXTS = "contexts.npz"
REQUIRED = (WEIGHTS, CONFIG, CARD)
FILES = (*REQUIRED, CONTEXTS)
# float types a generator's weights may be stored in (half the size in 16 bits); they load as the network's fp32
STORED_FLOATS = (torch.float32, torch.float16, torch.bfloat16)
MAX_CONFIG_BYTES = 1 << 20  # a config.json is ~2 kB; refuse to read a huge one into memory
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
          "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8, "BOOL": torch.bool}


class ExportError(ValueError):
    """An export folder that cannot be written or read; the message is one line naming the file."""


@dataclass
class Exported:
    """A loaded export: G_ema (eval mode, no gradients) and what the command line needs of a checkpoint."""

    path: Path
    config: DVDGANConfig  # the model; data, eval and seed of the run that trained it (defaults when unknown)
    step: int
    standing_stats: int  # > 0: G_ema's BN statistics are its own, from that many of its clips
    G_ema: nn.Module
    contexts: Path | None = None  # example context clips (``CONTEXTS``) of a DVD-GAN-FP export, when it has them


# ------------------------------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------------------------------


def config_document(cfg: DVDGANConfig, step: int, standing_stats: int) -> dict[str, Any]:
    """``config.json``: the model part of the config, the format version, and how the weights were made."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dvdgan_version": dvdgan.__version__,
        "model": cfg.to_dict()["model"],
        "g_ema_standing_stats": standing_stats,
        # provenance: `dvdgan eval` takes its default data and metrics from here
        "trained": {"step": step, "seed": cfg.train.seed, "data": cfg.to_dict()["data"],
                    "eval": cfg.to_dict()["eval"]},
    }


def check_export_folder(out: Path) -> None:
    """A missing folder, an empty one or an earlier export may be written; never a folder of other files."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"cannot export to {out}: it is a file, not a folder")
    foreign = sorted(p.name for p in out.iterdir() if p.name not in FILES) if out.is_dir() else []
    if foreign:
        raise ExportError(f"cannot export to {out}: it holds other files (e.g. {foreign[0]!r}); pick a new or "
                          "empty folder")


def write_export(out: str | Path, G_ema: nn.Module, cfg: DVDGANConfig, step: int, standing_stats: int,
                 card: str, contexts: np.ndarray | None = None, dtype: torch.dtype = torch.float32) -> Path:
    """Write the three files (and ``contexts``, example context clips, when given), each atomically (a killed
    export never leaves a half-written file); floating-point weights stored as ``dtype``."""
    from safetensors.torch import save_file

    if dtype not in STORED_FLOATS:
        raise ExportError(f"weights can be stored as {', '.join(map(str, STORED_FLOATS))}, not {dtype}")
    out = Path(out)
    check_export_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    # clone: safetensors refuses tensors that share memory, and the file must not depend on the module's layout
    tensors = {k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype, copy=True).contiguous()
               for k, v in G_ema.state_dict().items()}
    if contexts is not None:
        _atomic(out / CONTEXTS, lambda tmp: _save_clips(tmp, contexts))
    else:  # an earlier export's examples would not belong to this model
        (out / CONTEXTS).unlink(missing_ok=True)
    _atomic(out / WEIGHTS, lambda tmp: save_file(tensors, str(tmp), metadata={"format": FORMAT}))
    text = json.dumps(config_document(cfg, step, standing_stats), indent=2) + "\n"
    _atomic(out / CONFIG, lambda tmp: tmp.write_text(text))
    _atomic(out / CARD, lambda tmp: tmp.write_text(card))
    return out


def _save_clips(path: Path, clips: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: given a name, numpy would append ".npz" to the temporary one
        np.savez_compressed(f, videos=clips)


def _atomic(path: Path, write) -> None:
    from safetensors import SafetensorError

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        try:
            write(tmp)
        except (OSError, SafetensorError) as exc:  # a full disk, the file-size limit: the OS's reason, one line
            raise ExportError(f"could not write {path} ({_write_reason(exc)})") from None
        # safetensors creates its file readable by its owner alone; an export is for sharing: give it the mode
        # any new file gets here (0o666 less the umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_reason(exc: Exception) -> str:
    # safetensors words it "Error while serializing: I/O error: File too large (os error 27)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.rsplit("I/O error: ", 1)[-1][:200]


# ------------------------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------------------------


def is_export(folder: str | Path) -> bool:
    folder = Path(folder)
    return (folder / CONFIG).is_file() and (folder / WEIGHTS).is_file()


def read_config(folder: Path) -> tuple[DVDGANConfig, dict[str, Any]]:
    """The config that builds the network (checked as a checkpoint's is) and ``config.json`` itself."""
    path = folder / CONFIG
    if not path.is_file():
        raise ExportError(f"{folder} is not a dvdgan export: it has no {CONFIG}")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ExportError(f"{path} is {path.stat().st_size} bytes, not a dvdgan config (at most {MAX_CONFIG_BYTES})")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path} is not valid JSON ({str(exc).splitlines()[0]})") from None
    except RecursionError:  # 100,000 nested '[' in 200 kB: Python's JSON parser recurses once per level
        raise ExportError(f"{path} is nested too deeply for a dvdgan config (a config.json nests 4 levels)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        fields = doc if isinstance(doc, dict) else {}
        kind = fields.get("model_type") or fields.get("architectures") or fields.get("format")
        raise ExportError(f"{path} describes another architecture ({kind or 'no format field'}), not a "
                          f"{FORMAT} (format {FORMAT!r})")
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise ExportError(f"{path} has format version {_short(version)}; this dvdgan reads versions 1 to "
                          f"{FORMAT_VERSION}")
    trained = doc.get("trained") if isinstance(doc.get("trained"), dict) else {}
    run = {"model": doc.get("model"), "data": trained.get("data", {}), "eval": trained.get("eval", {}),
           "train": {"seed": trained.get("seed", 0)}}
    return config_from_checkpoint({"config": run}, path), doc


def read_header(path: Path) -> dict[str, torch.Tensor]:
    """The tensors a safetensors file declares, as meta tensors (names, shapes, dtypes; no data is read)."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise ExportError(f"{path.parent} is an incomplete dvdgan export: it has no {path.name} (expected "
                          f"{', '.join(REQUIRED)}, as dvdgan export writes them)")
    try:
        with safe_open(str(path), framework="pt") as f:
            slices = {k: f.get_slice(k) for k in f.keys()}  # noqa: SIM118 - a safe_open handle is not a dict
            declared = {k: (s.get_dtype(), s.get_shape()) for k, s in slices.items()}
    except (SafetensorError, OSError) as exc:
        raise ExportError(f"{path} is not a readable safetensors file ({str(exc).splitlines()[0][:200]})") from None
    unknown = sorted({dtype for dtype, _ in declared.values()} - set(DTYPES))
    if unknown:
        raise ExportError(f"{path} holds tensors of type {unknown[0]}, which no dvdgan generator has")
    return {k: torch.empty(shape, dtype=DTYPES[dtype], device="meta") for k, (dtype, shape) in declared.items()}


def read_export(folder: str | Path, device: torch.device | str = "cpu") -> Exported:
    """Load an export folder: config checked, network checked against the header, then the weights loaded."""
    from safetensors.torch import load_file

    from dvdgan.models import Generator

    folder = Path(folder)
    cfg, doc = read_config(folder)
    trained = doc.get("trained") if isinstance(doc.get("trained"), dict) else {}
    step = stored_int(trained.get("step", 0), "trained.step", folder / CONFIG)  # checked before any weight is read
    standing = stored_int(doc.get("g_ema_standing_stats", 0), "g_ema_standing_stats", folder / CONFIG)
    weights = folder / WEIGHTS
    declared = read_header(weights)
    with on_meta():  # no memory, no initialisation
        G = Generator(cfg.model)
    expected = {k: v.dtype for k, v in G.state_dict().items()}
    load_state_checked(G, declared, "G_ema", weights, assign=True)  # names and shapes, on the meta device
    _check_dtypes(expected, declared, weights)
    # Copies in fresh (64-byte aligned) memory: safetensors' offsets are not aligned, and CPU kernels round
    # differently on unaligned tensors, so samples would differ from the checkpoint's in the last bit. 16-bit
    # weights become the network's fp32 here.
    tensors = {k: v.to(expected[k]) if v.dtype != expected[k] else v.clone()
               for k, v in load_file(str(weights)).items()}
    _check_finite(tensors, weights)
    G.load_state_dict(tensors, assign=True)
    G = G.to(device).eval().requires_grad_(False)
    contexts = folder / CONTEXTS
    return Exported(folder, cfg, step, standing, G, contexts if contexts.is_file() else None)


def _check_finite(tensors: dict[str, torch.Tensor], source: Path) -> None:
    # Training never saves a non-finite state, so NaN or infinite weights mean a damaged or hand-made file; loaded,
    # they sampled black clips without a word.
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ExportError(f"{source}: {name!r} holds NaN or infinite values; expected the finite weights "
                              "dvdgan export writes (the file is damaged)")


def _check_dtypes(expected: dict[str, torch.dtype], declared: dict[str, torch.Tensor], source: Path) -> None:
    # A float16 tensor assigned into a float32 network would make its layers disagree on the dtype at run time:
    # 16-bit floats are converted on loading; any other mismatch is a damaged or foreign file.
    for name, t in declared.items():
        widened = t.dtype in STORED_FLOATS and expected[name] == torch.float32
        if t.dtype != expected[name] and not widened:
            raise ExportError(f"{source}: {name!r} is {t.dtype}, the network expects {expected[name]}")
