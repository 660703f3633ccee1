"""``dvdgan train`` with D_S's 32x32 width table replaced, for docs/results.md section 12 (an experiment, not an
option: the FP encoder shares the table, so changing it for real would change shipped generators).

    python experiments/train_with_d_table.py 4,4,4,4:TTFF -- --out runs/big32 --steps 2000

The table is MULTIPLIERS:DOWNSAMPLE, one width multiplier of model.discriminator.ch and one T/F (halve the
resolution or not) per block; 4,4,4,4:TTFF is BigGAN's own 32x32 discriminator, 1,2,4,8:TTTF ours.
"""

from __future__ import annotations

import sys

import dvdgan.models.discriminator as dm
from dvdgan.cli import main


def table(spec: str):
    mults, downs = spec.split(":")
    outs_m = [int(m) for m in mults.split(",")]
    if len(outs_m) != len(downs) or set(downs) - {"T", "F"}:
        raise SystemExit(f"bad table {spec!r}: expected e.g. 4,4,4,4:TTFF")
    ours = dm.discriminator_widths

    def widths(resolution: int, ch: int, in_channels: int = 3):
        if resolution != 32:
            return ours(resolution, ch, in_channels)
        outs = [m * ch for m in outs_m]
        return [(i, o, d == "T") for i, o, d in zip([in_channels, *outs[:-1]], outs, downs, strict=True)]

    return widths


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        raise SystemExit(__doc__)
    dm.discriminator_widths = table(sys.argv[1])
    sys.exit(main(["train", *sys.argv[3:]]))
