"""Guards of a run directory: one writer at a time, no writing into a directory that is not a run, logs cut back
to the step a run resumes from, and ``log.txt``, a copy of everything the console shows (as StyleGAN's).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import TextIO

from dvdgan.training.checkpoint import list_checkpoints

LOCK_FILE = ".lock"
LOG_FILE = "log.txt"
STEP_LOGS = ("stats.jsonl", "metrics.jsonl")  # one JSON record per line, each with a "step"
# What a run writes; a directory holding anything else is not one (eval-<step>.json comes from `dvdgan eval`).
RUN_ENTRIES = {"config.yaml", LOG_FILE, LOCK_FILE, "samples", "tensorboard", "wandb", "checkpoints", *STEP_LOGS,
               ".config.yaml.tmp", *(f"{name}.tmp" for name in STEP_LOGS)}  # and what a killed write leaves


# Step logs of a run killed before its first checkpoint, kept aside when a new run starts in its directory.
OLD_STEP_LOG = re.compile(r"(stats|metrics)\.\d+\.jsonl")


class RunDirError(ValueError):
    """The run directory cannot be used: taken by another process, or not a run directory."""


class RunLock:
    """An exclusive lock on ``RUN/.lock``, held while a run writes. The operating system releases it when the
    process dies, so a killed run never blocks its own resume."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._file = open(self.path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            _lock(self._file)
        except OSError:
            self._file.seek(0)
            owner = self._file.read().strip() or "unknown"
            self._file.close()
            raise RunDirError(f"{run_dir} is in use by another dvdgan train (pid {owner}); wait for it to finish "
                              "or pick another --out") from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(str(os.getpid()))
        self._file.flush()

    def release(self) -> None:
        if not self._file.closed:
            self._file.close()  # closing drops the lock


def _lock(file: TextIO) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def check_new_run_dir(run_dir: Path) -> None:
    """A new run may write into a missing or empty directory, or one left by a run killed before its first
    checkpoint; never into a directory of other files (it would overwrite ``config.yaml`` and append to logs)."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir} is a file, not a run directory; pick another --out")
    if list_checkpoints(run_dir):
        raise RunDirError(f"{run_dir} already holds checkpoints; add --resume to continue it or pick another --out")
    foreign = sorted(e.name for e in run_dir.iterdir() if e.name not in RUN_ENTRIES and not e.name.startswith("eval-")
                     and not OLD_STEP_LOG.fullmatch(e.name))
    if foreign:
        raise RunDirError(f"{run_dir} is not empty and not a dvdgan run directory (e.g. it holds {foreign[0]!r}); "
                          "pick a new or empty --out")


def set_aside_step_logs(run_dir: Path) -> list[tuple[Path, Path]]:
    """Rename the non-empty step logs a run starting at step 0 finds (``stats.jsonl`` -> ``stats.1.jsonl``, the
    first free number): never overwritten, and never mixed with the new run's records. Returns what moved where."""
    moved = []
    for name in STEP_LOGS:
        path = Path(run_dir) / name
        if not path.is_file() or path.stat().st_size == 0:
            continue
        stem, suffix = name.split(".", 1)
        number = 1
        while (kept := path.with_name(f"{stem}.{number}.{suffix}")).exists():
            number += 1
        os.replace(path, kept)
        moved.append((path, kept))
    return moved


def truncate_step_logs(run_dir: Path, step: int) -> None:
    """Drop the records after ``step`` (written by a run killed after its last checkpoint) and any torn last line,
    so a resumed run does not log those steps twice."""
    for name in STEP_LOGS:
        path = Path(run_dir) / name
        if not path.is_file():
            continue
        lines = path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if _step_of(line) is not None and _step_of(line) <= step]
        if len(kept) != len(lines):
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text("".join(kept))
            os.replace(tmp, path)


def _step_of(line: str) -> int | None:
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


class _Tee(io.TextIOBase):
    """Writes to the console stream and to the log file. A progress bar redraws its line after each ``\\r``; the
    log keeps what a terminal finally shows, one line per bar, not every redraw."""

    def __init__(self, stream: TextIO, log: TextIO) -> None:
        self.stream, self.log, self._line = stream, log, ""

    def write(self, text: str) -> int:
        self.stream.write(text)
        for piece in re.split(r"(\r|\n)", text):
            if piece == "\n":
                self.log.write(self._line + "\n")
                self.log.flush()
                self._line = ""
            elif piece == "\r":
                self._line = ""
            else:
                self._line += piece
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")


class ConsoleLog:
    """While open, ``sys.stdout`` and ``sys.stderr`` also append to ``RUN/log.txt``; ``note`` writes to the log
    only (tracebacks the console shows as one line)."""

    def __init__(self, run_dir: Path) -> None:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        self._file = open(Path(run_dir) / LOG_FILE, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(sys.stdout, self._file), _Tee(sys.stderr, self._file)

    def note(self, text: str) -> None:
        self._file.write(text if text.endswith("\n") else text + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        for tee in (sys.stdout, sys.stderr):
            if isinstance(tee, _Tee) and tee._line:  # a last line without its newline
                self._file.write(tee._line + "\n")
                tee._line = ""
        sys.stdout, sys.stderr = self._saved
        with contextlib.suppress(OSError):
            self._file.close()
