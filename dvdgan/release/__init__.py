"""Trained models to use and share: export folders (``format``), shipped models, the Hugging Face Hub.

    import dvdgan
    G = dvdgan.from_pretrained("tiny-shapes")        # shipped in the package
    G = dvdgan.from_pretrained("runs/export")        # a folder written by `dvdgan export`
    G = dvdgan.from_pretrained("user/repo")          # the Hub (extra 'hub')
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from torch import nn

from dvdgan.release import hub
from dvdgan.release.export import export_checkpoint
from dvdgan.release.format import Exported, ExportError, is_export, read_export
from dvdgan.release.shipped import list_pretrained, shipped_path

SHIPPED_PREFIX, HUB_PREFIX = "pretrained:", "hf:"


def load_pretrained(source: str | Path, device: torch.device | str = "cpu", revision: str | None = None,
                    cache_dir: str | Path | None = None, local_files_only: bool = False) -> Exported:
    """G_ema with its config, step and provenance, from (in this order) ``pretrained:NAME``, ``hf:user/repo``,
    an export folder, the name of a shipped model, or a Hub id ``user/repo``. The Hub arguments are passed to
    ``huggingface_hub.snapshot_download``."""
    text = str(source)
    if text.startswith(SHIPPED_PREFIX):
        return read_export(shipped_path(text[len(SHIPPED_PREFIX):]), device)
    if text.startswith(HUB_PREFIX):
        return read_export(hub.download(text[len(HUB_PREFIX):], revision, cache_dir, local_files_only), device)
    if Path(text).is_dir():
        return read_export(text, device)
    if "/" not in text:
        return read_export(shipped_path(text), device)
    if hub.REPO_ID.match(text):
        return read_export(hub.download(text, revision, cache_dir, local_files_only), device)
    raise ExportError(f"{text} is neither an export folder, a shipped model ({', '.join(list_pretrained()) or 'none'})"
                      " nor a Hub repository id (user/name)")


def from_pretrained(source: str | Path, device: torch.device | str = "cpu", **hub_kwargs) -> nn.Module:
    """The generator (G_ema, eval mode) of ``source`` (see ``load_pretrained``); ``G.cfg`` is its model config."""
    return load_pretrained(source, device, **hub_kwargs).G_ema


def push_to_hub(source: str | Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Upload an export folder, or export a run or checkpoint first, to the Hub repository ``repo_id``."""
    if is_export(source):
        return hub.upload(source, repo_id, private, token)
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_checkpoint(source, Path(tmp) / repo_id.split("/")[-1])
        return hub.upload(folder, repo_id, private, token)


__all__ = ["ExportError", "Exported", "export_checkpoint", "from_pretrained", "list_pretrained", "load_pretrained",
           "push_to_hub"]
