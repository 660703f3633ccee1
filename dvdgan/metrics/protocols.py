"""Named FVD protocols whose names carry their counts (`fvd2048_16f`), as in StyleGAN-V (docs/architecture.md
section 7)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dvdgan.metrics.i3d import MIN_FRAMES
from dvdgan.metrics.resize import RESIZE_METHODS


@dataclass(frozen=True)
class Protocol:
    """`num_real` real vs `num_fake` generated clips of `num_frames` frames, resized with `resize`."""

    name: str
    num_real: int
    num_fake: int
    num_frames: int
    resize: str = "tf1"

    def __post_init__(self) -> None:
        # A number reported as "fvd2048_16f" must have been computed on 2048 clips of 16 frames.
        m = re.fullmatch(r"fvd(\d+)_(\d+)f(?:_.+)?", self.name)
        if m is None or int(m[1]) != self.num_fake or int(m[2]) != self.num_frames:
            raise ValueError(f"protocol name {self.name!r} must read fvd<num_fake>_<num_frames>f[_suffix]")
        if min(self.num_real, self.num_fake) < 2:  # a covariance needs two clips
            raise ValueError(f"{self.name}: FVD needs at least 2 real and 2 generated clips")
        if self.num_frames < MIN_FRAMES:
            raise ValueError(f"{self.name}: FVD is undefined for fewer than {MIN_FRAMES} frames")
        if self.resize not in RESIZE_METHODS:
            raise ValueError(f"{self.name}: resize must be one of {RESIZE_METHODS}")


PROTOCOLS: dict[str, Protocol] = {}


def register_protocol(protocol: Protocol) -> Protocol:
    if protocol.name in PROTOCOLS:
        raise ValueError(f"protocol {protocol.name!r} is already registered")
    PROTOCOLS[protocol.name] = protocol
    return protocol


def get_protocol(name: str | Protocol) -> Protocol:
    """A registered protocol, or one its name describes (``fvd64_12f``: 64 vs 64 clips of 12 frames, TF1 resize)."""
    if isinstance(name, Protocol):
        return name
    if name in PROTOCOLS:
        return PROTOCOLS[name]
    m = re.fullmatch(r"fvd(\d+)_(\d+)f", name)
    if m is None:
        raise KeyError(f"unknown FVD protocol {name!r}: use fvd<clips>_<frames>f (e.g. fvd64_16f) or one of "
                       f"{sorted(PROTOCOLS)}")
    return Protocol(name, int(m[1]), int(m[1]), int(m[2]))


# The standard (original FVD paper, StyleGAN-V), and smaller ones for quick and in-loop checks on small machines.
register_protocol(Protocol("fvd2048_16f", 2048, 2048, 16))
register_protocol(Protocol("fvd2048_128f", 2048, 2048, 128))
register_protocol(Protocol("fvd256_16f", 256, 256, 16))
register_protocol(Protocol("fvd64_16f", 64, 64, 16))
register_protocol(Protocol("fvd2048_16f_halfpixel", 2048, 2048, 16, resize="half_pixel"))
