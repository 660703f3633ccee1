"""Time to build and load a paper-size generator, and for ``dvdgan sample`` to start on its checkpoint.

Writes (once) a checkpoint of the preset's full size into ``--dir`` -- G, D, G_ema and both Adam states, random
values -- then times, each in a fresh process: building G with its orthogonal initialisation and on the meta
device; loading the checkpoint as before (whole file read, G_ema, G and D built) and as now (memory-mapped file,
G_ema alone, meta-device construction); and ``dvdgan sample`` until its start-up line and until its one clip.

    python benchmarks/load_speed.py --dir /tmp/k600-ckpt            # kinetics600-12x64, about 8 GB on disk
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch

from dvdgan.config import load_preset
from dvdgan.models import DualDiscriminator, Generator
from dvdgan.training import checkpoint as ckpt


def _materialise(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Random weights of the right shapes without the orthogonal initialisation, SN vectors from 3 iterations."""
    from torch.nn.utils.parametrizations import _SpectralNorm

    module = module.to_empty(device="cpu")
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 1 / max(p[0].numel(), 1) ** 0.5 if p.ndim > 1 else 0.01)
        for name, b in module.named_buffers():
            b.copy_(torch.ones_like(b) if name.endswith("running_var") else torch.zeros_like(b))
        for m in module.modules():
            if isinstance(m, _SpectralNorm):
                m._u.normal_()
                m._v.normal_()
        for m in module.modules():
            if hasattr(m, "parametrizations"):
                sn = m.parametrizations.weight[0]
                sn._power_method(sn._reshape_weight_to_matrix(m.parametrizations.weight.original), 3)
    return module.state_dict()


def write_checkpoint(preset: str, path: Path) -> None:
    cfg = load_preset(preset)
    with torch.device("meta"):
        G, D = Generator(cfg.model), DualDiscriminator(cfg.model)
    g, d = _materialise(G), _materialise(D)
    g_ema = {k: v.clone() for k, v in g.items()}

    def adam(state: dict[str, torch.Tensor]) -> dict:
        params = [v for k, v in state.items() if "running_" not in k and not k.endswith(("_u", "_v"))]
        moments = {i: {"step": torch.tensor(1.0), "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
                   for i, p in enumerate(params)}
        return {"state": moments, "param_groups": [{"lr": 1e-4, "params": list(moments)}]}

    ckpt.save_checkpoint(path, cfg, 100_000, G=g, D=d, G_ema=g_ema, opt_G=adam(g), opt_D=adam(d), rng=[],
                         world_size=1)


def measure(what: str, preset: str, path: Path) -> float:
    """One measurement in this (fresh) process: seconds."""
    m = load_preset(preset).model
    start = time.perf_counter()
    if what == "init":
        Generator(m)
    elif what == "meta":
        with torch.device("meta"):
            Generator(m)
    elif what == "load-all":
        ckpt.LoadedCheckpoint(path, ckpt.read_checkpoint(path), "cpu", networks=("G_ema", "G", "D"))
    elif what == "load-g-ema":
        ckpt.load_checkpoint(path)
    return time.perf_counter() - start


def in_fresh_process(what: str, args: argparse.Namespace) -> float:
    out = subprocess.run([sys.executable, __file__, "--measure", what, "--preset", args.preset, "--dir", args.dir],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def time_sample(path: Path, out: Path) -> tuple[float, float]:
    """Seconds until ``dvdgan sample`` prints its start-up line, and until it has written one clip."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dvdgan", "sample", str(path), "--out", str(out), "--n", "1",
                             "--classes", "0", "--batch-size", "1"], stderr=subprocess.PIPE, text=True)
    first = None
    for line in proc.stderr:
        if first is None and line.startswith("G_ema of"):
            first = time.perf_counter() - start
            print(f"  {line.strip()}", file=sys.stderr)
    if proc.wait() != 0:
        raise RuntimeError("dvdgan sample failed")
    return first, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="kinetics600-12x64")
    p.add_argument("--dir", required=True, help="where the checkpoint is written (and kept for later runs)")
    p.add_argument("--skip-init", action="store_true", help="skip timing the orthogonal initialisation (minutes)")
    p.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    path = Path(args.dir) / f"{args.preset}.pt"
    if args.measure:
        print(measure(args.measure, args.preset, path))
        return
    if not path.exists():
        start = time.perf_counter()
        write_checkpoint(args.preset, path)
        print(f"wrote {path} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    rows = [("build G with orthogonal initialisation", None if args.skip_init else in_fresh_process("init", args)),
            ("build G on the meta device", in_fresh_process("meta", args)),
            ("load as before: whole file, G_ema + G + D", in_fresh_process("load-all", args)),
            ("load as now: memory-mapped, G_ema only", in_fresh_process("load-g-ema", args))]
    startup, total = time_sample(path, Path(args.dir) / "sample.npz")
    rows += [("`dvdgan sample`: until its start-up line", startup), ("`dvdgan sample`: one clip written", total)]
    print(f"{args.preset}: checkpoint {path.stat().st_size / 1e9:.2f} GB, {torch.get_num_threads()} threads\n")
    print("| step | seconds |\n|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {'-' if seconds is None else f'{seconds:.1f}'} |")


if __name__ == "__main__":
    main()
