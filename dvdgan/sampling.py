"""Generate videos from a generator and write them as MP4/GIF grids or NPZ arrays [docs/architecture.md section 8]."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from dvdgan.models.generator import truncated_normal
from dvdgan.models.layers import batch_statistics, conditional_bns
from dvdgan.video import video_to_uint8


@torch.no_grad()
def generate(
    G: nn.Module,
    z: torch.Tensor,
    y: torch.Tensor | None,
    batch_size: int = 16,
    context: torch.Tensor | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Run ``G`` over ``z`` (labels, DVD-GAN-FP context) in batches; returns uint8 ``[N, T, H, W, 3]`` on the CPU.

    ``progress`` shows a bar on stderr (a paper-size G takes seconds per clip on a CPU).
    """
    device = next(G.parameters()).device
    out = []
    with tqdm(total=z.shape[0], desc="generate", unit="clip", disable=not progress, dynamic_ncols=True) as bar:
        for i in range(0, z.shape[0], batch_size):
            zi = z[i : i + batch_size].to(device)
            yi = y[i : i + batch_size].to(device) if y is not None else None
            kwargs = {}
            if context is not None:
                kwargs["context"] = context[i : i + batch_size].to(device)
            out.append(video_to_uint8(G(zi, yi, **kwargs).float()).cpu())
            bar.update(zi.shape[0])
    return torch.cat(out)


@torch.no_grad()
def recompute_standing_statistics(
    G: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]
) -> int:
    """Replace G's BN running statistics by the mean batch statistics of G itself over ``batches`` of
    ``(z, y, context)`` (BigGAN's "standing statistics"). Returns the number of batches.

    G_ema's weights are an average over ~1/(1 - decay) steps; the running statistics the EMA copies come from the
    live G, whose weights differ: recomputing them from G_ema's own activations makes the two consistent.
    """
    k = 0
    with batch_statistics(G) as bns:
        for m in bns:
            m.reset_running_stats()
        for k, (z, y, context) in enumerate(batches, 1):
            for m in bns:
                m.momentum = 1.0 / k  # running statistics = the mean over the batches so far
            G(z, y, context=context) if context is not None else G(z, y)
    return k


def standing_inputs(G: nn.Module, n: int, batch_size: int, seed: int, classes: torch.Tensor | None,
                    contexts: torch.Tensor | None) -> Iterator[tuple[torch.Tensor, torch.Tensor | None,
                                                                     torch.Tensor | None]]:
    """``(z, y, context)`` batches of ``n`` clips for ``recompute_standing_statistics``: fresh z; ``classes`` (and
    the DVD-GAN-FP ``contexts`` that go with them, row for row) taken in turn."""
    device = next(G.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch_size):
        rows = torch.arange(start, min(start + batch_size, n))
        z = torch.randn(len(rows), G.z_dim, generator=gen).to(device)
        y = classes[rows % len(classes)].to(device) if classes is not None else None
        context = contexts[rows % len(contexts)].to(device) if contexts is not None else None
        yield z, y, context


@contextlib.contextmanager
def kept_bn_statistics(G: nn.Module) -> Iterator[None]:
    """Restore G's BN running statistics on exit (standing statistics for one evaluation leave G as it was)."""
    saved = [(m.running_mean.clone(), m.running_var.clone()) for m in conditional_bns(G)]
    try:
        yield
    finally:
        for m, (mean, var) in zip(conditional_bns(G), saved, strict=True):
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)


def make_grid(videos: np.ndarray, rows: int, pad: int = 2, row_labels: list[str] | None = None) -> np.ndarray:
    """Tile ``[N, T, H, W, C]`` videos into one ``[T, rows*(H+pad)+pad, cols*(W+pad)+pad, C]`` video, row-major;
    ``row_labels`` (one per row, e.g. the class) are written in a column on the left."""
    n, t, h, w, c = videos.shape
    cols = -(-n // rows)
    grid = np.zeros((t, rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        y0, x0 = pad + r * (h + pad), pad + q * (w + pad)
        grid[:, y0 : y0 + h, x0 : x0 + w] = videos[i]
    return _with_labels(grid, row_labels, h, pad)


def make_filmstrip(videos: np.ndarray, pad: int = 2, scale: int = 1) -> np.ndarray:
    """One image of ``[N, T, H, W, C]`` videos: a row per clip, its frames left to right (motion at a glance)."""
    n, t, h, w, c = videos.shape
    if scale > 1:
        videos = videos.repeat(scale, axis=2).repeat(scale, axis=3)
        h, w = h * scale, w * scale
    strip = np.full((n * (h + pad) + pad, t * (w + pad) + pad, c), 64, dtype=np.uint8)
    for i in range(n):
        for f in range(t):
            y0, x0 = pad + i * (h + pad), pad + f * (w + pad)
            strip[y0 : y0 + h, x0 : x0 + w] = videos[i, f]
    return strip


def _with_labels(frames: np.ndarray, labels: list[str] | None, row_height: int, pad: int) -> np.ndarray:
    """``frames [T, H, W, C]`` with a label column on the left (the same in every frame); as is without labels."""
    if not labels:
        return frames
    column = label_column(labels, row_height, pad)
    if column.shape[0] != frames.shape[1]:
        raise ValueError(f"{len(labels)} row labels for an image of {frames.shape[1]} pixel rows")
    return np.concatenate([np.broadcast_to(column, (frames.shape[0], *column.shape)), frames], axis=2)


def label_column(labels: list[str], row_height: int, pad: int = 2) -> np.ndarray:
    """uint8 ``[rows*(row_height+pad)+pad, width, 3]``: each label in white, centred on its row."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    boxes = [measure.textbbox((0, 0), text, font=font) for text in labels]
    width = max(b[2] for b in boxes) + 2 * pad
    image = Image.new("RGB", (width, len(labels) * (row_height + pad) + pad))
    draw = ImageDraw.Draw(image)
    for r, (text, box) in enumerate(zip(labels, boxes, strict=True)):
        y = pad + r * (row_height + pad) + (row_height - (box[3] - box[1])) // 2 - box[1]
        draw.text((pad, y), text, fill=(255, 255, 255), font=font)
    return np.asarray(image)


def write_video(path: str | Path, frames: np.ndarray, fps: int = 8) -> Path:
    """Write uint8 ``[T, H, W, 3]`` frames to ``.mp4`` (H.264 via PyAV), ``.gif`` (Pillow) or ``.npz``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"write_video expects uint8 [T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    if suffix == ".gif":
        from PIL import Image

        images = [Image.fromarray(f) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    elif suffix == ".mp4":
        import av

        # yuv420p needs even sizes; pad with black rather than resample.
        h, w = frames.shape[1:3]
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)))
        with av.open(str(path), mode="w") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps))
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "18"}
            for f in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    elif suffix == ".npz":
        np.savez_compressed(path, videos=frames)
    else:
        raise ValueError(f"unsupported output {path}: use .mp4, .gif or .npz")
    return path


def save_video(path: str | Path, video, fps: int = 8, rows: int = 1) -> Path:
    """Save what the generator returns: float ``[B, T, 3, H, W]`` (or one ``[T, 3, H, W]`` clip) in [-1, 1], a
    torch tensor or a numpy array, or uint8 frames ``[T, H, W, 3]``. Several clips become a grid of ``rows`` rows.
    ``.mp4`` (H.264), ``.gif``, ``.png`` (every frame left to right, one clip per row) or ``.npz`` (the clips)."""
    x = torch.as_tensor(np.asarray(video) if not isinstance(video, torch.Tensor) else video).detach().cpu()
    if x.dtype == torch.uint8 and x.dim() == 4 and x.shape[-1] == 3:
        clips = x[None].numpy()
    elif x.is_floating_point() and x.dim() in (4, 5) and x.shape[-3] == 3:
        clips = video_to_uint8(x if x.dim() == 5 else x[None]).numpy()
    else:
        raise ValueError(f"save_video expects float [B, T, 3, H, W] or [T, 3, H, W] in [-1, 1], or uint8 "
                         f"[T, H, W, 3], got {x.dtype} {list(x.shape)}")
    path = Path(path)
    if len(clips) % rows:
        raise ValueError(f"{len(clips)} clips do not fill {rows} rows")
    if path.suffix.lower() == ".png":
        from PIL import Image

        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(make_filmstrip(clips, scale=max(1, 64 // clips.shape[2]))).save(path)
        return path
    if path.suffix.lower() == ".npz":
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, videos=clips)
        return path
    return write_video(path, make_grid(clips, rows=rows) if len(clips) > 1 else clips[0], fps=fps)


MAX_LABEL_CHARS = 20  # a grid's row labels are cut here, so a long class name does not widen every frame


def class_labels(classes, names) -> list[str]:
    """The row label of each class id in ``classes``: its name where the model knows its classes' names
    (``model.class_names``), else the id."""
    def label(c: int) -> str:
        if not names:
            return str(c)
        name = str(names[c])
        return name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 2] + ".."

    return [label(int(c)) for c in classes]


def class_grid_inputs(
    num_classes: int, per_class: int, z_dim: int, seed: int, truncation: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Fixed z and labels for a grid with one row per class (``num_classes`` 0: one unconditional row)."""
    gen = torch.Generator().manual_seed(seed)
    rows = max(num_classes, 1)
    z = truncated_normal((rows * per_class, z_dim), truncation, gen)
    y = torch.arange(num_classes).repeat_interleave(per_class) if num_classes > 0 else None
    return z, y

