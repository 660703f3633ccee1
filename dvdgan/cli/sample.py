"""``dvdgan sample``: write a grid of generated videos (MP4, GIF; a class label per row), a filmstrip (PNG), the raw
clips (NPZ), or one MP4 per clip (``--outdir``)."""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np
import torch

from dvdgan.cli import MODEL_HELP, UserError, check_writable, load_generator, require_positive


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="generate videos from a checkpoint", description=__doc__)
    p.add_argument("checkpoint", help=MODEL_HELP)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="output .mp4 or .gif (a grid video), .png (every frame, one clip per row) or "
                                     ".npz (clips)")
    where.add_argument("--outdir", help="write one MP4 per generated clip into this folder, the class in the file "
                                        "name (00003-class5.mp4)")
    p.add_argument("--classes", default=None,
                   help="comma-separated class ids or names (names where the model records them, e.g. a store's "
                        "class folders), one grid row each (default: all, <=10); DVD-GAN-FP: the class of the "
                        "context clips, one for all or one per clip (default: the .npz file's labels)")
    p.add_argument("--n", type=int, default=4, help="samples per row, i.e. per class or context (default 4)")
    p.add_argument("--truncation", type=float, default=0.0, help="resample |z| above this (default 0: off)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the latents z: the same seed gives the same clips (default 0)")
    p.add_argument("--interpolate", action="store_true", help="each row walks linearly between two z")
    p.add_argument("--context", default=None,
                   help="DVD-GAN-FP: .npy/.npz uint8 clips [N,T,H,W,C] or a video file (first frames = context); "
                        "without it, a model trained on built-in data continues held-out clips of that data")
    p.add_argument("--standing-stats", type=int, default=0, metavar="N",
                   help="recompute G_ema's BN statistics from N of its own clips first (default 0: those in the "
                        "checkpoint, G_ema's own when the run set eval.standing_stats)")
    p.add_argument("--fps", type=int, default=8, help="frames per second of .mp4 and .gif outputs (default 8)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | mps | auto (default cpu)")
    p.add_argument("--batch-size", type=int, default=16,
                   help="clips generated per forward pass; lower it when memory runs out (default 16)")
    p.set_defaults(run=run)


def _parse_classes(text: str | None, num_classes: int, names: list[str] | None = None) -> list[int]:
    """Class ids from ``--classes``: comma-separated ids or, where the model knows them, class names."""
    if num_classes == 0:
        if text:
            raise UserError("this model is unconditional (num_classes 0); drop --classes")
        return [-1]
    if text is None:
        return list(np.linspace(0, num_classes - 1, min(num_classes, 10)).round().astype(int))
    tokens = [c.strip() for c in text.split(",") if c.strip()]
    if not tokens:  # "," or "": not out of range, empty
        raise UserError(f"--classes {text!r} names no class; expected comma-separated class ids in "
                        f"0..{num_classes - 1}" + (" or class names" if names else ""))
    return [_class_id(token, num_classes, names or []) for token in tokens]


def _class_id(token: str, num_classes: int, names: list[str]) -> int:
    """One ``--classes`` entry: a class name, or an id (``ids keep working``); both, meaning two classes, is an
    error rather than a guess."""
    by_name = names.index(token) if token in names else None
    try:
        by_id: int | None = int(token)
    except ValueError:
        by_id = None
    if by_id is not None and by_name is not None and by_id != by_name and 0 <= by_id < num_classes:
        raise UserError(f"--classes {token!r} is ambiguous: class id {by_id} ({names[by_id]!r}) and the name of "
                        f"class {by_name}; give the id")
    if by_name is not None:
        return by_name
    if by_id is not None:
        if not 0 <= by_id < num_classes:
            raise UserError(f"--classes {[by_id]} out of range: this model has classes 0..{num_classes - 1}")
        return by_id
    if not names:
        raise UserError(f"--classes {token!r} is not a class id: this model records no class names (trained "
                        f"before dvdgan kept them, or on unnamed data); use ids 0..{num_classes - 1}")
    import difflib

    close = difflib.get_close_matches(token, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
    raise UserError(f"--classes: unknown class {token!r}{hint}; known classes: {shown} (or ids 0..{num_classes - 1})")


def _latents(G, rows: int, n: int, seed: int, truncation: float, interpolate: bool) -> torch.Tensor:
    from dvdgan.models.generator import truncated_normal

    gen = torch.Generator().manual_seed(seed)

    def draw(k: int) -> torch.Tensor:
        return truncated_normal((k, G.z_dim), truncation, gen)

    if not interpolate:
        return draw(rows * n)
    ends = draw(2 * rows).view(rows, 2, G.z_dim)
    w = torch.linspace(0, 1, n).view(1, n, 1)
    return (ends[:, :1] * (1 - w) + ends[:, 1:] * w).reshape(rows * n, G.z_dim)


def load_context_clips(path: str, context_frames: int, resolution: int) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 [N, T, H, W, 3] clips (T >= context frames) from an array file or a video file, and the file's
    labels when it has them (an .npz with ``labels``, as ``dvdgan sample --out x.npz`` writes)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"--context {p} does not exist")
    labels = None
    if p.suffix in (".npy", ".npz"):
        from dvdgan.data.arrays import load_array_file

        try:
            arr, labels, _ = load_array_file(p)  # checked: never unpickled, fits in memory
            arr = np.asarray(arr)
        except ValueError as exc:
            raise UserError(f"--context {exc}") from None
    else:
        arr = _context_from_video(p, context_frames, resolution)
    if arr.ndim == 4:
        arr = arr[None]
    if arr.ndim != 5 or arr.dtype != np.uint8 or arr.shape[-1] != 3:
        raise UserError(f"--context {p}: expected uint8 clips [N, T, H, W, 3], got {arr.dtype} {list(arr.shape)}")
    if arr.shape[1] < context_frames or arr.shape[2:4] != (resolution, resolution):
        raise UserError(f"--context {p}: clips {list(arr.shape[1:4])} need >= {context_frames} frames of "
                        f"{resolution}x{resolution}")
    if labels is not None and (labels.shape != (len(arr),) or labels.dtype.kind not in "iu"):
        raise UserError(f"--context {p}: labels must be {len(arr)} integer class ids, got {labels.dtype} "
                        f"{list(labels.shape)}")
    return arr, labels


def _context_from_video(p: Path, context_frames: int, resolution: int) -> np.ndarray:
    """The first clip of a video file or frame folder, as ``[1, T, H, W, 3]``; a file that is not a readable video
    is named with the decoder's reason (not "no video has the N frames" from the dataset it would have fed)."""
    import warnings

    from dvdgan.data import load_clips
    from dvdgan.data.decode import DecodeError, count_frames

    expected = f"expected a video file or frame folder of >= {context_frames} frames, or .npy/.npz clips"
    try:
        frames = count_frames(p)
        if frames < context_frames:
            raise UserError(f"--context {p} has {frames} frame(s); {expected}")
        with warnings.catch_warnings():  # the reason is raised below, not also warned
            warnings.simplefilter("ignore")
            return np.stack(list(load_clips(str(p), num_frames=context_frames, resolution=resolution, max_clips=1)))
    except (DecodeError, ValueError) as exc:
        raise UserError(f"--context {p} is not a readable video ({exc}); {expected}") from None


def _context_classes(text: str | None, file_labels: np.ndarray | None, rows: int, num_classes: int,
                     names: list[str] | None = None) -> torch.Tensor:
    """The class of each context clip: a class-conditional DVD-GAN-FP model continues a clip within its class."""
    if text is not None:
        classes = _parse_classes(text, num_classes, names)
        if len(classes) not in (1, rows):
            raise UserError(f"--classes: give one class for all {rows} context clips or one per clip, "
                            f"got {len(classes)}")
        return torch.tensor(classes * rows if len(classes) == 1 else classes)
    if file_labels is None:
        raise UserError("this DVD-GAN-FP model is class-conditional and continues each context within its class: "
                        "pass --classes (one, or one per context clip) or an .npz with the clips' labels")
    bad = [int(v) for v in file_labels if not 0 <= v < num_classes]
    if bad:
        raise UserError(f"--context labels {bad[:5]} out of range: this model has classes 0..{num_classes - 1}")
    return torch.from_numpy(file_labels.astype(np.int64))


def _standing_stats(G, args: argparse.Namespace, classes: torch.Tensor | None,
                    contexts: torch.Tensor | None) -> None:
    """``--standing-stats N``: G_ema's BN statistics from N of its own clips (classes, FP contexts, in turn)."""
    n = args.standing_stats
    if n <= 0:
        return
    from dvdgan.sampling import recompute_standing_statistics, standing_inputs

    recompute_standing_statistics(G, standing_inputs(G, n, args.batch_size, args.seed + 1, classes, contexts))
    print(f"G_ema's BN statistics recomputed from {n} of its clips", file=sys.stderr, flush=True)


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before loading and generating when the output cannot be written."""
    if args.outdir is not None:
        folder = Path(args.outdir)
        if folder.exists() and not folder.is_dir():
            raise UserError(f"--outdir {folder} is a file, not a folder")
        taken = sorted(p.name for p in folder.iterdir() if CLIP_NAME.match(p.name)) if folder.is_dir() else []
        if taken:  # never overwrite: an earlier call's clips, or someone's files
            raise UserError(f"--outdir {folder} already holds clips ({taken[0]}, {len(taken)} in all); pick a new "
                            "or empty folder")
        check_writable(folder / "00000.mp4")
        return
    out = Path(args.out)
    if out.suffix.lower() not in (".mp4", ".gif", ".npz", ".png"):
        raise UserError(f"--out {out}: use a .mp4, .gif, .png or .npz file name")
    check_writable(out)


BUILT_IN_CONTEXTS = 4  # context clips taken from a model's built-in data when --context is not given


def _built_in_contexts(cfg) -> tuple[np.ndarray, np.ndarray | None]:
    """Held-out clips (the evaluation's seed, never trained on) of the built-in data a DVD-GAN-FP model was trained
    on, with their labels: what ``dvdgan sample pretrained:tiny-fp`` continues when given no ``--context``."""
    from dvdgan.data import PROCEDURAL, build_dataset

    m = cfg.model
    if cfg.data.source not in PROCEDURAL:
        raise UserError(f"this is a DVD-GAN-FP model trained on {cfg.data.source!r}: pass --context with clips of "
                        f">= {m.context_frames} frames at {m.resolution}x{m.resolution}")
    data = build_dataset(cfg.data, m.num_frames, m.resolution, seed=cfg.train.seed + 1)
    clips, labels = zip(*(data[i] for i in range(BUILT_IN_CONTEXTS)), strict=True)
    print(f"no --context: continuing {BUILT_IN_CONTEXTS} held-out clips of the built-in {cfg.data.source!r} data",
          file=sys.stderr)
    return np.stack([np.asarray(c) for c in clips]), np.array(labels)


def _check_sample_size(n: int, rows: int, extra: int, z_dim: int, m) -> None:
    """The clips (uint8; ``n + extra`` per row) and latents sample holds before it writes, within
    MAX_SAMPLE_BYTES: ``--n 100000000`` drew 432 GB of latents before anything was generated."""
    from dvdgan.limits import MAX_SAMPLE_BYTES, gib

    per_clip = m.num_frames * m.resolution**2 * 3 + z_dim * 4
    clips = rows * (n + extra)
    if clips * per_clip > MAX_SAMPLE_BYTES:
        most = max(1, MAX_SAMPLE_BYTES // per_clip // rows - extra)
        raise UserError(f"--n {n:,} x {rows} rows: {clips:,} clips of {m.num_frames} x {m.resolution} x "
                        f"{m.resolution} would hold {gib(clips * per_clip)} in memory, more than the "
                        f"{gib(MAX_SAMPLE_BYTES)} dvdgan sample allows; use --n {most:,} or less")


def _generate_fp(args: argparse.Namespace, G, cfg, examples: Path | None = None
                 ) -> tuple[np.ndarray, list[str] | None, np.ndarray, np.ndarray | None]:
    """DVD-GAN-FP: a row per context clip (the real clip, then ``--n`` futures); also the generated clips alone."""
    from dvdgan.sampling import class_labels, generate
    from dvdgan.video import uint8_to_video

    m = cfg.model
    if args.context is None and examples is not None:  # an export's own example clips (contexts.npz)
        print(f"no --context: continuing the example clips of {examples}", file=sys.stderr)
        clips, file_labels = load_context_clips(str(examples), m.context_frames, m.resolution)
    elif args.context is None:
        clips, file_labels = _built_in_contexts(cfg)
    else:
        clips, file_labels = load_context_clips(args.context, m.context_frames, m.resolution)
    clips = np.array(clips[:10])  # writable (an .npz array may not be), for torch.from_numpy
    rows = len(clips)
    _check_sample_size(args.n, rows, 1, G.z_dim, m)  # each row: the real clip, then --n futures
    contexts = uint8_to_video(torch.from_numpy(clips[:, : m.context_frames]))
    row_y = None
    if m.num_classes:
        row_y = _context_classes(args.classes, file_labels[:10] if file_labels is not None else None, rows,
                                 m.num_classes, m.class_names)
    _standing_stats(G, args, row_y, contexts)
    context = contexts.repeat_interleave(args.n, 0)
    z = _latents(G, rows, args.n, args.seed, args.truncation, args.interpolate)
    y = row_y.repeat_interleave(args.n) if row_y is not None else None
    pred = generate(G, z, y, args.batch_size, context=context, progress=True).numpy()
    fake = np.concatenate([np.repeat(clips[:, : m.context_frames], args.n, 0), pred], axis=1)
    # Each row: the real clip (context + real future when the file has it), then the sampled futures.
    real = clips[:, : m.num_frames]
    if real.shape[1] < m.num_frames:
        pad = np.zeros((rows, m.num_frames - real.shape[1], *real.shape[2:]), dtype=np.uint8)
        real = np.concatenate([real, pad], axis=1)
    grid = np.concatenate([real[:, None], fake.reshape(rows, args.n, *fake.shape[1:])], axis=1)
    row_labels = class_labels(row_y, m.class_names) if row_y is not None else None
    return grid.reshape(-1, *real.shape[1:]), row_labels, fake, (y.numpy() if y is not None else None)


def _generate_synthesis(args: argparse.Namespace, G, m) -> tuple[np.ndarray, list[str] | None, np.ndarray,
                                                                 np.ndarray | None]:
    """A row of ``--n`` clips per class; the grid's clips are the generated clips."""
    from dvdgan.sampling import class_labels, generate

    classes = _parse_classes(args.classes, m.num_classes, m.class_names)
    _check_sample_size(args.n, len(classes), 0, G.z_dim, m)
    z = _latents(G, len(classes), args.n, args.seed, args.truncation, args.interpolate)
    y = torch.tensor(classes).repeat_interleave(args.n) if m.num_classes else None
    _standing_stats(G, args, torch.arange(m.num_classes) if m.num_classes else None, None)
    videos = generate(G, z, y, args.batch_size, progress=True).numpy()
    row_labels = class_labels(classes, m.class_names) if m.num_classes else None
    return videos, row_labels, videos, (y.numpy() if y is not None else None)


CLIP_NAME = re.compile(r"^\d{5}(-[a-z0-9_.-]+)?\.mp4$")  # what clip_names writes: never overwritten


def clip_names(labels: np.ndarray | None, n: int, class_names: list[str] | None = None) -> list[str]:
    """File names of ``--outdir`` clips: their index and, for class-conditional models, their class's name made
    safe for any file system (``00003-red-circle.mp4``), or ``class<id>`` where the model names no classes."""
    if labels is None:
        return [f"{i:05d}.mp4" for i in range(n)]
    return [f"{i:05d}-{_file_word(class_names[int(c)]) if class_names else f'class{int(c)}'}.mp4"
            for i, c in enumerate(labels)]


def _file_word(name: str) -> str:
    """``name`` in lower-case letters, digits, ``_ . -`` (others become ``-``), at most 40 characters."""
    word = re.sub(r"[^a-z0-9_.]+", "-", name.lower()).strip("-.")[:40].rstrip("-.")
    return word or "class"


def _write_clips(folder: Path, clips: np.ndarray, labels: np.ndarray | None, fps: int,
                 class_names: list[str]) -> None:
    from dvdgan.sampling import write_video

    for name, clip in zip(clip_names(labels, len(clips), class_names), clips, strict=True):
        write_video(folder / name, clip, fps=fps)


def _write_outputs(args: argparse.Namespace, columns: int, grid: np.ndarray, row_labels: list[str] | None,
                   clips: np.ndarray, labels: np.ndarray | None, class_names: list[str]) -> str:
    """Write what was asked (``columns`` clips per grid row); returns what was written, for the final line."""
    from dvdgan.sampling import make_filmstrip, make_grid, write_video

    if args.outdir is not None:
        _write_clips(Path(args.outdir), clips, labels, args.fps, class_names)
        return f"{args.outdir}/ ({len(clips)} MP4 files)"
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix == ".npz":  # the grid's clips; the labels of the generated ones (DVD-GAN-FP: each context's class)
        np.savez_compressed(out, videos=grid, **({"labels": labels} if labels is not None else {}))
    elif suffix == ".png":
        from PIL import Image

        Image.fromarray(make_filmstrip(grid, scale=max(1, 64 // grid.shape[2]))).save(out)
    else:
        write_video(out, make_grid(grid, rows=len(grid) // columns, row_labels=row_labels), fps=args.fps)
    return f"{out} ({len(grid)} clips of {grid.shape[1]} frames)"


def run(args: argparse.Namespace) -> int:
    require_positive(n=args.n, fps=args.fps, batch_size=args.batch_size)
    if args.standing_stats < 0:
        raise UserError(f"--standing-stats must be >= 0, got {args.standing_stats}")
    if not 0 <= args.truncation < math.inf:  # -1 and nan meant "off" without a word, as 0 does
        raise UserError(f"--truncation must be a finite number >= 0 (0 = off), got {args.truncation}")
    _check_outputs(args)
    ckpt = load_generator(args.checkpoint, args.device)
    G, m = ckpt.G_ema, ckpt.config.model
    if args.context is not None and not m.context_frames:  # was ignored: clips from noise, the file never read
        raise UserError(f"--context is for DVD-GAN-FP models (model.context_frames > 0); {args.checkpoint} has "
                        "context_frames 0 and makes clips from noise alone: drop --context")
    examples = getattr(ckpt, "contexts", None)  # an export's contexts.npz
    made = _generate_fp(args, G, ckpt.config, examples) if m.context_frames else _generate_synthesis(args, G, m)
    columns = args.n + (1 if m.context_frames else 0)  # DVD-GAN-FP rows start with the real clip
    print(f"wrote {_write_outputs(args, columns, *made, class_names=m.class_names)} from {ckpt.path}")
    return 0
