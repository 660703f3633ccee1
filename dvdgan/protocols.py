"""Named FVD protocols whose names carry their counts (`fvd2048_16f`), as in StyleGAN-V (docs/architecture.md
section 7).

Pure data, importing nothing from the package: the config checks ``eval.protocol`` against this table without
loading the metrics (I3D, torch), and ``dvdgan.metrics`` takes its protocols and the two constants below from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_FRAMES = 9  # I3D: Mixed_5c has ceil(T/8) steps and the head's VALID pool needs 2 of them
RESIZE_METHODS = ("tf1", "half_pixel")  # frame resizing for I3D (dvdgan.metrics.resize)


@dataclass(frozen=True)
class Protocol:
    """`num_real` real vs `num_fake` generated clips of `num_frames` frames, resized with `resize`.

    The defaults draw real clips (and DVD-GAN-FP contexts) as random windows of the evaluated data's own split.
    A benchmark's protocol can pin more, as the literature does for prediction:

    * ``split``: the data split real clips and contexts come from ("test"), whatever split the model trained on;
    * ``first_frames``: real clip ``i`` is video ``i``'s first ``num_frames`` frames, videos in the store's order
      (BAIR's 256 test sequences), instead of a random window of a random video;
    * ``per_context``: generated clips per real clip (DVD-GAN-FP: predictions from each context;
      ``num_fake = num_real * per_context``).
    """

    name: str
    num_real: int
    num_fake: int
    num_frames: int
    resize: str = "tf1"
    split: str = ""  # "" = the evaluated data's own split
    first_frames: bool = False
    per_context: int = 1

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
        if self.split not in ("", "train", "test", "all"):
            raise ValueError(f"{self.name}: split must be '', train, test or all, got {self.split!r}")
        if self.per_context < 1 or (self.per_context > 1 and self.num_fake != self.num_real * self.per_context):
            raise ValueError(f"{self.name}: {self.per_context} predictions per context of {self.num_real} real clips "
                             f"make {self.num_real * self.per_context} generated clips, not {self.num_fake}")

    @property
    def pinned(self) -> bool:
        """Whether the protocol fixes which real clips it uses (split, windows or contexts), beyond their count."""
        return bool(self.split) or self.first_frames or self.per_context > 1


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
# Prediction benchmarks as the literature computes them (docs/faithfulness.md, "What the paper presets evaluate"):
# BAIR (1 -> 15 frames at 64x64; DVD-GAN-FP 109.8 in the paper's Table 3, the numbers of SAVP, SV2P, VideoGPT and
# later): the test set's 256 sequences, frames 0-15 of each as the real clips, 100 predictions from each one's
# first frame: 25,600 generated against 256 real clips.
register_protocol(Protocol("fvd25600_16f_bair", 256, 25600, 16, split="test", first_frames=True, per_context=100))
# Kinetics-600 prediction (5 -> 11 frames at 64x64, no frame skipping; DVD-GAN-FP 69.15 on test in the paper's
# Table 4, and VDM, MAGVIT and later): 50,000 16-frame clips of the test split against as many predictions, each
# from its own clip's 5 frames; clips drawn with replacement, as DVD-GAN did (VDM's paper, section 4.2).
register_protocol(Protocol("fvd50000_16f_k600", 50000, 50000, 16, split="test"))
