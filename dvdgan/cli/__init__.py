"""Command line: ``dvdgan train | sample | eval | fvd | prepare | export | plot`` [docs/architecture.md section 8].

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and ``run(args) -> int``.
Errors the user can fix (bad config key, missing file, wrong shape) are raised as ``UserError`` or
``ConfigError`` and printed as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from dvdgan.config import ConfigError

COMMANDS = ("train", "sample", "eval", "fvd", "prepare", "export", "plot")
MODEL_HELP = ("checkpoint file, run directory (its newest checkpoint), export folder (dvdgan export), "
              "pretrained:NAME (a model shipped with dvdgan) or hf:USER/REPO (the Hugging Face Hub)")


class UserError(Exception):
    """A problem with the user's input, reported as one line."""


class _UsageError(Exception):
    """argparse's complaint about the command line, already printed."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad option as one line (``dvdgan sample: error: argument --fps: invalid int value``) and a
    returned exit code 2: its own error() prints the whole usage first and exits the process. Subparsers inherit
    the class (``add_subparsers`` makes them of the parent's type)."""

    def error(self, message: str):  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise _UsageError


def build_parser() -> argparse.ArgumentParser:
    from dvdgan import __version__

    parser = _Parser(prog="dvdgan", description="DVD-GAN video generation (arXiv 1907.06571).",
                                     epilog="Start with `dvdgan train` (the tiny preset on built-in data, on the CPU) "
                                            "or `dvdgan sample pretrained:tiny-shapes --out grid.gif`; "
                                            "`dvdgan COMMAND --help` for a command's options.")
    parser.add_argument("-V", "--version", action="version", version=f"dvdgan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"dvdgan.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"dvdgan.cli.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:  # `dvdgan` alone is how a newcomer asks what it does: the help, not 14 minutes of training
        parser.print_help()
        return 0
    if argv[0] in ("-V", "--version"):  # returned, not argparse's SystemExit: main() gives exit codes
        from dvdgan import __version__

        print(f"dvdgan {__version__}")
        return 0
    try:
        args, extra = parser.parse_known_args(argv)
    except _UsageError:
        return 2
    if extra:  # argparse would name the top-level parser; the user typed them after a command
        where = f"dvdgan {args.command}" if args.command else "dvdgan"
        print(f"{where}: error: unrecognized arguments: {' '.join(extra)} (see {where} --help)", file=sys.stderr)
        return 2
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with one_line_warnings():
            return int(args.run(args) or 0)
    except (UserError, ConfigError, FileNotFoundError) as exc:
        print(f"dvdgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dvdgan {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `dvdgan train --dry-run | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141  # what a shell reports for a process ended by SIGPIPE
    except OSError as exc:  # an unwritable output, a full disk: the file and the reason, not a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"dvdgan {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


@contextlib.contextmanager
def one_line_warnings() -> Iterator[None]:
    """Warnings as one line, ``warning: MESSAGE``, while a command runs: Python's format adds the file, line and
    source line that raised it, which tell a user of the command line nothing. Set by the CLI alone (a program
    that imports dvdgan keeps its own format) and only the format: filters and pytest's recording still apply."""
    def one_line(message, category, filename, lineno, line=None) -> str:
        kind = "" if category is UserWarning else f"{category.__name__}: "
        return f"warning: {kind}{' '.join(str(message).split())}\n"

    saved, warnings.formatwarning = warnings.formatwarning, one_line
    try:
        yield
    finally:
        warnings.formatwarning = saved


def require_positive(**values: float | None) -> None:
    """One-line errors for counts and rates that must be > 0 (``--batch-size 0`` would fail deep inside)."""
    for name, value in values.items():
        if value is not None and value <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be > 0, got {value}")


def load_generator(checkpoint: str, device_name: str):
    """G_ema of a checkpoint file or run directory (the other networks are not read), of an export folder, of
    ``pretrained:NAME`` (shipped) or ``hf:user/repo`` (the Hub), with a start-up line."""
    import time

    from dvdgan.release import HUB_PREFIX, SHIPPED_PREFIX, is_export, load_pretrained
    from dvdgan.training.checkpoint import CheckpointError, load_checkpoint
    from dvdgan.training.distributed import resolve_device

    start = time.perf_counter()
    # a folder with an export's config.json but no weights is an incomplete export (read_export says what is
    # missing), not a run directory without checkpoints
    exported = (checkpoint.startswith((SHIPPED_PREFIX, HUB_PREFIX)) or is_export(checkpoint)
                or (Path(checkpoint) / "config.json").is_file())
    try:
        device = resolve_device(device_name)
        ckpt = load_pretrained(checkpoint, device) if exported else load_checkpoint(checkpoint, device=device)
    except (CheckpointError, ValueError) as exc:
        raise UserError(str(exc)) from None
    params = sum(p.numel() for p in ckpt.G_ema.parameters())
    standing = ckpt.standing_stats
    bn = f"its own BN statistics ({standing} clips)" if standing else "BN statistics copied from G"
    print(f"G_ema of {ckpt.path} (step {ckpt.step}): {params / 1e6:.2f} M parameters, {bn}, on {device}; loaded in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return ckpt


def check_writable(path: Path) -> Path:
    """Fail now, not after hours of work, when ``path`` cannot be written (creates its folder)."""
    blocker = next((p for p in (path.parent, *path.parent.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise UserError(f"cannot write {path}: {blocker} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a directory")
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise UserError(f"cannot write {path}: permission denied")
    return path


if __name__ == "__main__":
    sys.exit(main())
