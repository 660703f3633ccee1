"""Name the classes of shipped models exported before dvdgan kept class names: ``model.class_names`` in
``config.json`` from the model's built-in data, a Classes section in the card, and the card's sample GIF drawn
again with each row labelled by its class name. The weights are not touched.

    python -m dvdgan.release.name_classes [NAME ...]

A release tool for maintainers, not part of the library's API.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from dvdgan.data import build_dataset
from dvdgan.release.card import restate_classes
from dvdgan.release.format import CARD, CONFIG, _atomic, config_document, read_config
from dvdgan.release.shipped import list_pretrained, shipped_path


def name_classes(name: str) -> list[str]:
    """Record the class names of shipped model ``name``; returns them (empty for an unconditional model)."""
    folder = shipped_path(name)
    cfg, doc = read_config(folder)
    m = cfg.model
    if not m.num_classes or m.class_names:
        return list(m.class_names)
    dataset = build_dataset(cfg.data, m.num_frames, m.resolution, seed=cfg.train.seed + 1)
    names = [str(n) for n in getattr(dataset, "class_names", ())]
    if len(names) != m.num_classes:
        raise ValueError(f"{name}: its data {cfg.data.source!r} names {len(names)} classes, the model has "
                         f"{m.num_classes}")
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(m, class_names=names))
    text = json.dumps(config_document(cfg, doc["trained"]["step"], doc["g_ema_standing_stats"]), indent=2) + "\n"
    _atomic(folder / CONFIG, lambda tmp: tmp.write_text(text))
    card = restate_classes((folder / CARD).read_text(), names)
    _atomic(folder / CARD, lambda tmp: tmp.write_text(card))
    return names


def main(argv: list[str] | None = None) -> int:
    from dvdgan.cli import main as dvdgan_main  # the user's own command draws the GIF (cli sits above release)

    p = argparse.ArgumentParser(prog="python -m dvdgan.release.name_classes", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="shipped models (default: all)")
    args = p.parse_args(argv)
    for name in args.names or list_pretrained():
        names = name_classes(name)
        if not names:
            print(f"{name}: unconditional, nothing to name")
            continue
        gif = shipped_path(name) / "samples.gif"  # as make_pretrained draws it: 4 per row, seed 0
        status = dvdgan_main(["sample", f"pretrained:{name}", "--out", str(gif), "--n", "4", "--seed", "0"])
        if status:
            return status
        print(f"{name}: classes {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
