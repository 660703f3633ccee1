"""Motion profile of untrained generators: does G start as a contraction toward a still image?

For each variant (``--set`` overrides of the preset) builds G with three seeds, generates 64 clips in training mode
(batch statistics, as during training) and prints the motion energy per time step, mean over the seeds, beside the
real clips' profile.

    python experiments/untrained_motion.py --preset tiny
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from dvdgan.config import resolve_config
from dvdgan.data import build_dataset
from dvdgan.metrics.motion import motion_profile
from dvdgan.models import Generator
from dvdgan.video import video_to_uint8

VARIANTS = {
    "paper (per-step BN, zero state, u bias 0)": [],
    "u bias 2": ["model.generator.gru_update_bias=2"],
}
# The variants with BN pooled over time (model.generator.bn_pool_time) are gone with the flag (removed in issue 27);
# their profiles stay in docs/results.md section 2.


@torch.no_grad()
def profile(cfg, seed: int, n: int = 64) -> np.ndarray:
    torch.manual_seed(seed)
    G = Generator(cfg.model).train()
    z = torch.randn(n, G.z_dim)
    y = torch.arange(n) % cfg.model.num_classes if cfg.model.num_classes else None
    return motion_profile(video_to_uint8(G(z, y)).numpy())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--set", dest="sets", action="append", default=[])
    args = p.parse_args()
    torch.set_num_threads(1)
    base = resolve_config(args.preset, overrides=args.sets)
    m = base.model
    real_set = build_dataset(base.data, m.num_frames, m.resolution, seed=1)
    real = motion_profile(iter(np.asarray(real_set[i][0]) for i in range(64)))
    steps = " | ".join(str(t) for t in range(len(real)))
    print(f"`{args.preset}` {' '.join(args.sets)}: {m.num_frames}x{m.resolution}x{m.resolution}, "
          f"{base.data.source}; motion energy of step t -> t+1 (uint8 units)\n")
    print(f"| | {steps} | last / first |")
    print("|---|" + "---:|" * (len(real) + 1))
    print(f"| real clips | {' | '.join(f'{v:.2f}' for v in real)} | {real[-1] / real[0]:.2f} |")
    for name, sets in VARIANTS.items():
        cfg = base.override(sets)
        fake = np.mean([profile(cfg, seed) for seed in range(3)], axis=0)
        print(f"| {name} | {' | '.join(f'{v:.2f}' for v in fake)} | {fake[-1] / fake[0]:.2f} |")


if __name__ == "__main__":
    main()
