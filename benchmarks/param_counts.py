"""Print a Markdown table of G and D parameter counts for every preset (built on the meta device: no memory).

    python benchmarks/param_counts.py
"""

from __future__ import annotations

import torch

from dvdgan.config import list_presets, load_preset
from dvdgan.models import DualDiscriminator, Generator, pixel_fraction


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def main() -> None:
    print("| preset | clip (T x H x W) | context | classes | G params | D params (D_S + D_T) | D pixels vs full D |")
    print("|---|---|---|---|---|---|---|")
    for name in list_presets():
        m = load_preset(name).model
        with torch.device("meta"):
            g, d = Generator(m), DualDiscriminator(m)
        frac = pixel_fraction(m.num_frames, m.resolution, m.discriminator.k_frames, m.discriminator.temporal_pool)
        print(f"| {name} | {m.num_frames} x {m.resolution} x {m.resolution} | {m.context_frames or '-'} | "
              f"{m.num_classes} | {count(g) / 1e6:.2f} M | {count(d) / 1e6:.2f} M "
              f"({count(d.spatial) / 1e6:.2f} + {count(d.temporal) / 1e6:.2f}) | {100 * frac:.0f}% |")


if __name__ == "__main__":
    main()
