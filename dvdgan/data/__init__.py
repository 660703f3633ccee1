"""Video data for DVD-GAN [docs/architecture.md section 6]: procedural sets, folders, prepared stores, sampling.

Training and metrics get their data through ``build_dataset`` and ``load_clips`` from a data-spec string
(``DATA_SPEC_HELP``); models see videos only through ``uint8_to_video`` / ``video_to_uint8``.
"""

from dvdgan.data.arrays import ArrayVideos
from dvdgan.data.clips import ClipDataset
from dvdgan.data.decode import DecodeError
from dvdgan.data.digits import MovingDigits
from dvdgan.data.folder import VideoFolder
from dvdgan.data.motion import MotionClasses
from dvdgan.data.prepare import PrepareOptions, PrepareSummary, prepare_store
from dvdgan.data.procedural import ProceduralVideos
from dvdgan.data.samplers import InfiniteSampler
from dvdgan.data.shapes import BouncingShapes
from dvdgan.data.specs import DATA_SPEC_HELP, PROCEDURAL, build_dataset, load_clips, parse_spec
from dvdgan.data.store import PreparedStore
from dvdgan.video import uint8_to_video, video_to_uint8

__all__ = [
    "DATA_SPEC_HELP",
    "PROCEDURAL",
    "ArrayVideos",
    "BouncingShapes",
    "ClipDataset",
    "DecodeError",
    "InfiniteSampler",
    "MotionClasses",
    "MovingDigits",
    "PrepareOptions",
    "PrepareSummary",
    "PreparedStore",
    "ProceduralVideos",
    "VideoFolder",
    "build_dataset",
    "load_clips",
    "parse_spec",
    "prepare_store",
    "uint8_to_video",
    "video_to_uint8",
]
