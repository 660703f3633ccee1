"""Video metrics (docs/architecture.md section 7): the Kinetics-400 I3D port, FVD with the original preprocessing,
IS and KVD on I3D-400 logits, streaming feature statistics with a cache, analytic class accuracy, and the motion
energy per time step of generated against real clips."""

from dvdgan.metrics.cache import cached_statistics, statistics_cache_path
from dvdgan.metrics.class_accuracy import ClassAccuracy, class_accuracy, format_class_accuracy
from dvdgan.metrics.features import compute_statistics, preprocess_clips
from dvdgan.metrics.frechet import frechet_distance
from dvdgan.metrics.fvd import compute_video_metrics
from dvdgan.metrics.i3d import InceptionI3d, load_i3d
from dvdgan.metrics.inception_score import inception_score
from dvdgan.metrics.kvd import kernel_video_distance
from dvdgan.metrics.motion import MotionComparison, compare_motion, motion_profile
from dvdgan.metrics.resize import tf1_resize_bilinear
from dvdgan.metrics.stats import FeatureStats
from dvdgan.protocols import PROTOCOLS, Protocol, get_protocol, register_protocol

__all__ = [
    "PROTOCOLS", "ClassAccuracy", "FeatureStats", "InceptionI3d", "MotionComparison", "Protocol",
    "cached_statistics", "class_accuracy", "compare_motion", "compute_statistics", "compute_video_metrics",
    "format_class_accuracy", "frechet_distance", "get_protocol", "inception_score", "kernel_video_distance",
    "load_i3d", "motion_profile", "preprocess_clips", "register_protocol", "statistics_cache_path",
    "tf1_resize_bilinear",
]
