"""Models shipped inside the package: ``dvdgan/pretrained/<name>/``, each an export folder (``format.py``)."""

from __future__ import annotations

from pathlib import Path

from dvdgan.release.format import ExportError, is_export

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"


def list_pretrained() -> list[str]:
    """Names of the models shipped in this install."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if p.is_dir() and is_export(p))


def shipped_path(name: str) -> Path:
    """The folder of the shipped model ``name``; a one-line error listing the available names otherwise."""
    names = list_pretrained()
    if name not in names:
        available = ", ".join(names) if names else "none in this install"
        raise ExportError(f"no shipped model named {name!r}; available: {available}")
    return PRETRAINED_DIR / name
