"""Helpers for the data tests: real encoded videos and dataset trees built from the procedural generators."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

from dvdgan.data.shapes import BouncingShapes


def clips(n: int, num_frames: int = 6, size: int | tuple[int, int] = 32, seed: int = 0) -> list[np.ndarray]:
    """``n`` distinct uint8 clips ``[T, H, W, 3]`` from the shapes generator."""
    data = BouncingShapes(num_frames, size, seed=seed)
    return [data.clip(i) for i in range(n)]


def write_video(path: Path, frames: np.ndarray, codec: str = "ffv1", fps: int = 25) -> Path:
    """Encode ``frames`` (uint8 [T, H, W, 3]) with PyAV; ``ffv1`` with pix_fmt bgr0 is lossless."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "bgr0" if codec == "ffv1" else "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_frame_folder(folder: Path, frames: np.ndarray, ext: str = ".png") -> Path:
    """Save frames as ``folder/frame_<k>.<ext>`` (unpadded numbers, to exercise natural sorting)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"frame_{k}{ext}")
    return folder


def make_ucf_tree(root: Path, classes: tuple[str, ...] = ("ApplyEyeMakeup", "Basketball", "YoYo"),
                  groups: int = 3, num_frames: int = 6, size: int = 32) -> dict[str, tuple[np.ndarray, int, str]]:
    """A UCF-101-style tree ``root/<Class>/v_<Class>_g0N_c01.avi`` (lossless ffv1) with ``classInd.txt``,
    ``trainlist01.txt`` (groups 2..N) and ``testlist01.txt`` (group 1).

    Returns ``{relative path: (frames, label, split)}``.
    """
    made = {}
    sources = clips(len(classes) * groups, num_frames, size, seed=7)
    for label, name in enumerate(classes):
        for g in range(1, groups + 1):
            rel = f"{name}/v_{name}_g{g:02d}_c01.avi"
            frames = sources[label * groups + g - 1]
            write_video(root / rel, frames)
            made[rel] = (frames, label, "test" if g == 1 else "train")
    (root / "classInd.txt").write_text("".join(f"{i + 1} {n}\n" for i, n in enumerate(classes)))
    train = [f"{rel} {lab + 1}\n" for rel, (_, lab, split) in made.items() if split == "train"]
    test = [f"{rel}\n" for rel, (_, _, split) in made.items() if split == "test"]
    (root / "trainlist01.txt").write_text("".join(train))
    (root / "testlist01.txt").write_text("".join(test))
    return made
