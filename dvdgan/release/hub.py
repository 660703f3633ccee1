"""A thin wrapper over ``huggingface_hub`` (the optional ``hub`` extra): an export folder is a Hub model repo.

The Hub repository holds exactly the files of an export (``format.py``); nothing else is downloaded or uploaded.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dvdgan.extras import missing_extra
from dvdgan.release.format import CARD, CONTEXTS, FILES, WEIGHTS, ExportError, read_config, read_header

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")  # user/name, as the Hub spells repository ids


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise missing_extra("hub") from None
    return huggingface_hub


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def download(repo_id: str, revision: str | None = None, cache_dir: str | Path | None = None,
             local_files_only: bool = False) -> Path:
    """The local folder of ``repo_id`` (fetched into the Hugging Face cache unless it is there already)."""
    if not REPO_ID.match(repo_id):
        raise ExportError(f"{repo_id!r} is not a Hub repository id (user/name)")
    hf = _hub()
    try:
        folder = hf.snapshot_download(repo_id, revision=revision, cache_dir=cache_dir,
                                      local_files_only=local_files_only, allow_patterns=list(FILES))
    except Exception as exc:  # the Hub's errors have many types (HTTP, offline, not cached, gated)
        raise ExportError(f"could not get {repo_id} from the Hugging Face Hub: {_first_line(exc)}") from None
    return Path(folder)


def upload(folder: str | Path, repo_id: str, private: bool = False, token: str | None = None,
           commit_message: str = "Upload dvdgan generator") -> str:
    """Upload an export folder to ``repo_id`` (created when missing); returns the commit's URL."""
    folder = Path(folder)
    if not REPO_ID.match(repo_id):
        raise ExportError(f"{repo_id!r} is not a Hub repository id (user/name)")
    cfg, _ = read_config(folder)  # never publish a folder that from_pretrained would refuse
    read_header(folder / WEIGHTS)
    hf = _hub()
    api = hf.HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        with _with_hub_card(folder, repo_id, cfg) as files:
            info = api.upload_folder(folder_path=str(files), repo_id=repo_id, allow_patterns=list(FILES),
                                     commit_message=commit_message)
    except Exception as exc:  # as in download: HTTP, authentication, permissions
        raise ExportError(f"could not push {folder} to {repo_id} on the Hugging Face Hub: {_first_line(exc)}") from None
    return str(getattr(info, "commit_url", info))


@contextlib.contextmanager
def _with_hub_card(folder: Path, repo_id: str, cfg) -> Iterator[Path]:
    """The folder to upload: ``folder`` itself, or a copy (weights linked, not copied, where the disk allows) whose
    card loads the model from the Hub (``hf:USER/REPO``), not from a path on the uploader's disk."""
    from dvdgan.release.card import restate_usage

    card = folder / CARD
    try:
        text = restate_usage(card.read_text(encoding="utf-8"), f"hf:{repo_id}", cfg, (folder / CONTEXTS).is_file())
    except (OSError, UnicodeDecodeError, ValueError):  # no card, or one without a Use section: upload as it is
        yield folder
        return
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp)
        for name in FILES:
            if name != CARD and (folder / name).is_file():
                try:
                    os.link(folder / name, staged / name)
                except OSError:  # another file system
                    shutil.copyfile(folder / name, staged / name)
        (staged / CARD).write_text(text, encoding="utf-8")
        yield staged
