"""Command line: ``dvdgan train | sample | eval | fvd | prepare`` [docs/design.md section 8].

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and ``run(args) -> int``.
Errors the user can fix (bad config key, missing file, wrong shape) are raised as ``UserError`` or
``ConfigError`` and printed as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from dvdgan.config import ConfigError

COMMANDS = ("train", "sample", "eval", "fvd", "prepare")


class UserError(Exception):
    """A problem with the user's input, reported as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dvdgan", description="DVD-GAN video generation (arXiv 1907.06571).")
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
    if not argv:
        argv = ["train"]  # the main job: `dvdgan` alone trains the tiny preset on built-in data
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except (UserError, ConfigError, FileNotFoundError) as exc:
        print(f"dvdgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dvdgan {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
