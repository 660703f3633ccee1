"""Reading frames from video files (PyAV only) and frame folders (PIL), as uint8 RGB ``[H, W, 3]``.

Every failure surfaces as ``DecodeError`` with a one-line reason, so callers can skip and list bad videos
instead of crashing [docs/architecture.md section 6: corrupt or too-short videos are skipped and listed, never fatal].
Frame sizes are checked against ``dvdgan.limits.MAX_FRAME_PIXELS`` from the header, before any frame is decoded.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np
from PIL import Image

from dvdgan.data.resize import resize_crop
from dvdgan.limits import check_frame_size

VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".gif")
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg")
_AV_ERRORS = (av.FFmpegError, OSError, ValueError, RuntimeError, IndexError)


class DecodeError(Exception):
    """A video or frame folder that cannot be read; ``str(exc)`` is the reason."""


def is_video_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS


def frame_files(folder: Path) -> list[Path]:
    """Image files of a frame folder in natural order (``frame2`` before ``frame10``)."""
    files = [p for p in folder.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS and not p.name.startswith(".")]
    return sorted(files, key=_natural_key)


def is_frame_folder(path: Path) -> bool:
    return path.is_dir() and any(p.suffix.lower() in FRAME_EXTENSIONS for p in path.iterdir())


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _error(path: Path, exc: BaseException) -> DecodeError:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text).split(": '", 1)[0]  # drop errno and the echoed path
    return DecodeError(f"cannot decode {path.name}: {text}")


@contextmanager
def open_video(path: Path) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    """Open a video file's container and first video stream; DecodeError when it is not a readable video."""
    path = Path(path)
    if not path.is_file():
        raise DecodeError(f"{path} does not exist")
    if path.stat().st_size == 0:
        raise DecodeError(f"{path.name} is an empty file")
    try:
        container = av.open(str(path))
    except _AV_ERRORS as exc:
        raise _error(path, exc) from None
    with container:
        if not container.streams.video:
            raise DecodeError(f"{path.name} has no video stream")
        _check_size(path, container.streams.video[0].codec_context)  # a GIF's header: 12000x12000 in 309 bytes
        try:
            yield container, container.streams.video[0]
        except DecodeError:
            raise
        except _AV_ERRORS as exc:
            raise _error(path, exc) from None


def _check_size(path: Path, frame) -> None:
    """DecodeError for frames beyond the pixel limit (``frame``: anything with width and height, 0 if unknown)."""
    reason = check_frame_size(int(frame.width or 0), int(frame.height or 0))
    if reason:
        raise DecodeError(f"cannot decode {path.name}: {reason}")


def _expected_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    """Frame count the container header promises (0 when it does not say)."""
    if stream.frames:
        return int(stream.frames)
    rate = stream.average_rate or stream.guessed_rate
    if rate and stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base * rate))
    if rate and container.duration:
        return round(container.duration / av.time_base * float(rate))
    return 0


def _read_image(file: Path) -> np.ndarray:
    try:
        with warnings.catch_warnings():  # PIL warns from 89 M pixels; _check_size refuses from 67 M
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file)  # reads the header only: the size is known before the pixels
        with image:
            _check_size(file, image)
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise _error(file, exc) from None


def _check_same_size(folder: Path, first: tuple[Path, tuple[int, ...]], file: Path, frame: np.ndarray) -> None:
    """DecodeError naming the frame folder when ``file`` differs in size from its ``first`` frame: the frames are
    stacked into one clip, which said only "all input arrays must have the same shape" (or, resized one by one,
    hid a stray image from another video)."""
    if frame.shape != first[1]:
        (h, w), (h0, w0) = frame.shape[:2], first[1][:2]
        raise DecodeError(f"frame folder {folder}: {file.name} is {w}x{h} but {first[0].name} is {w0}x{h0}; "
                          "expected frames of one size")


def iter_frames(path: Path) -> Iterator[tuple[np.ndarray, float | None]]:
    """Every frame of a video file or frame folder, in order, with its time in seconds (None if unknown).

    A video that ends well before the frame count its container announces is reported as truncated (FFmpeg
    itself decodes a cut-off file quietly up to the cut).
    """
    path = Path(path)
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise DecodeError(f"frame folder {path.name} holds no .png/.jpg frames")
        first: tuple[Path, tuple[int, ...]] | None = None
        for file in files:
            frame = _read_image(file)
            first = first or (file, frame.shape)
            _check_same_size(path, first, file, frame)
            yield frame, None
        return
    with open_video(path) as (container, stream):
        stream.thread_type = "AUTO"
        count = 0
        for frame in container.decode(stream):
            _check_size(path, frame)  # the header may say nothing, or less than a frame holds
            count += 1
            yield frame.to_ndarray(format="rgb24"), frame.time
        expected = _expected_frames(container, stream)
        if expected and count < expected - max(2, 0.05 * expected):
            raise DecodeError(f"{path.name} is truncated: decoded {count} of {expected} frames")


def video_fps(path: Path) -> float | None:
    """Nominal frame rate of a video file (None for frame folders or when the container does not say)."""
    if Path(path).is_dir():
        return None
    with open_video(path) as (_, stream):
        rate = stream.average_rate or stream.guessed_rate
        return float(rate) if rate else None


def count_frames(path: Path) -> int:
    """Number of frames, counted without decoding (packets of the video stream, or image files)."""
    path = Path(path)
    if path.is_dir():
        return len(frame_files(path))
    with open_video(path) as (container, stream):
        return sum(1 for packet in container.demux(stream) if packet.size)


class DecodedVideo(NamedTuple):
    frames: np.ndarray  # uint8 [L, H, W, 3]
    fps: float | None  # frame rate of the kept frames
    source_size: tuple[int, int]  # (height, width) as decoded


def read_frames(
    path: Path, stride: int = 1, fps: float | None = None, max_frames: int | None = None, size: int | None = None
) -> DecodedVideo:
    """Decode a whole video: every ``stride``-th frame, or frames resampled to at most ``fps`` per second
    (never duplicating frames), up to ``max_frames``; ``size`` resizes and centre-crops each frame as soon as it
    is decoded, so memory holds output-sized frames only.
    """
    source_fps = video_fps(path)
    kept: list[np.ndarray] = []
    source_size = (0, 0)
    next_time, first_time = 0.0, None
    for i, (frame, time) in enumerate(iter_frames(path)):
        if max_frames is not None and len(kept) >= max_frames:
            break
        source_size = frame.shape[:2]
        if fps is None:
            keep = i % stride == 0
        else:
            time = i / (source_fps or fps) if time is None else time
            first_time = time if first_time is None else first_time
            keep = time - first_time >= next_time - 1e-6
            if keep:  # the next wanted time is the first multiple of 1/fps after this frame
                next_time = (np.floor((time - first_time) * fps + 1e-6) + 1) / fps
        if keep:
            kept.append(frame if size is None else resize_crop(frame, size))
    if not kept:
        raise DecodeError(f"{Path(path).name}: no frame could be decoded")
    if fps is not None:
        out_fps = min(fps, source_fps) if source_fps else fps
    else:
        out_fps = source_fps / stride if source_fps else None
    return DecodedVideo(np.stack(kept), out_fps, (int(source_size[0]), int(source_size[1])))


def read_frames_at(path: Path, indices: Sequence[int]) -> np.ndarray:
    """Frames at the given indices (any order, repeats allowed), decoding only up to the last one needed."""
    wanted = np.asarray(indices, dtype=np.int64)
    if wanted.size == 0 or wanted.min() < 0:
        raise ValueError(f"frame indices must be a non-empty list of indices >= 0, got {wanted.tolist()}")
    last, path = int(wanted.max()), Path(path)
    if path.is_dir():
        files = frame_files(path)
        if last >= len(files):
            raise DecodeError(f"{path.name} has {len(files)} frames, frame {last} was requested")
        frames = {int(i): _read_image(files[i]) for i in np.unique(wanted)}
        first = min(frames)
        for i, frame in frames.items():
            _check_same_size(path, (files[first], frames[first].shape), files[i], frame)
    else:
        needed, frames, count = set(wanted.tolist()), {}, 0
        for count, (frame, _) in enumerate(iter_frames(path), start=1):
            if count - 1 in needed:
                frames[count - 1] = frame
            if count > last:
                break
        if count <= last:
            raise DecodeError(f"{path.name} has {count} frames, frame {last} was requested")
    return np.stack([frames[int(i)] for i in wanted])
