"""Which metrics a model and its data allow, decided when a run starts rather than at its first evaluation.

A metric the user asked for that cannot apply is a one-line error before step 1 (``check_metrics``). A preset's
metrics are only a default: ``adapt_metrics`` keeps those that apply and adds the motion metric (always) and, for
video data with clips of >= 9 frames, FVD on a small protocol (``fvd64_<T>f``), whose numbers are for watching a
run, not for reporting. A protocol that was named (by the preset or the user) is never switched: one that does not
fit the clips is an error before step 1.
"""

from __future__ import annotations

from dvdgan.config import DVDGANConfig
from dvdgan.data import build_dataset
from dvdgan.data.procedural import ProceduralVideos
from dvdgan.metrics.i3d import MIN_FRAMES
from dvdgan.protocols import Protocol, get_protocol

VIDEO_METRICS = ("fvd", "is", "kvd")  # scored by the I3D network
ALL_METRICS = ("class_acc", "motion", "travel", "psnr_ssim", "continuation", *VIDEO_METRICS)
SMALL_PROTOCOL_CLIPS = 64


def _i3d_problem() -> str | None:
    from dvdgan.metrics.i3d_weights import find_package_checkpoint

    try:
        find_package_checkpoint()
    except (ImportError, FileNotFoundError) as exc:  # the package (an optional extra) is not installed
        return str(exc)
    return None


def metric_problem(cfg: DVDGANConfig, dataset, metric: str, protocol: str | None = None) -> str | None:
    """Why ``metric`` cannot be measured for this model and data (one sentence), or None when it can."""
    m = cfg.model
    if metric == "class_acc":
        if getattr(dataset, "classify", None) is None:
            return f"class_acc needs built-in data with a class rule (shapes, motion, digits), not {cfg.data.source!r}"
        if m.num_classes == 0 and not m.context_frames:  # DVD-GAN-FP: the class of the context clip
            return "class_acc needs a class-conditional model (model.num_classes > 0) or DVD-GAN-FP"
    if metric in ("motion", "travel") and m.num_frames < 2:
        return f"{metric} compares frame-to-frame changes: it needs clips of at least 2 frames"
    if metric in ("travel", "continuation") and getattr(dataset, "object_spec", None) is None:
        return f"{metric} measures the objects of built-in data (shapes, motion, digits), not {cfg.data.source!r}"
    compares = {"psnr_ssim": "the real future", "continuation": "their context and the real future"}.get(metric)
    if compares and not m.context_frames:
        return f"{metric} compares predictions with {compares}: only for DVD-GAN-FP models"
    if metric in VIDEO_METRICS:
        return _video_problem(cfg, dataset, metric, get_protocol(protocol or cfg.eval.protocol))
    return None


def _video_problem(cfg: DVDGANConfig, dataset, metric: str, protocol: Protocol) -> str | None:
    t = cfg.model.num_frames
    if t < MIN_FRAMES:
        return (f"{metric}: FVD is undefined for {t}-frame clips (the I3D network behind fvd, is and kvd needs "
                f">= {MIN_FRAMES} frames)")
    if protocol.num_frames != t:
        return (f"{protocol.name} compares {protocol.num_frames}-frame clips but this model makes {t}-frame clips; "
                f"use a protocol of {t} frames, e.g. fvd{protocol.num_fake}_{t}f (not comparable to the 16-frame "
                "standard)")
    return _pinned_problem(cfg, dataset, protocol) or _i3d_problem()


def _pinned_problem(cfg: DVDGANConfig, dataset, protocol: Protocol) -> str | None:
    """Why the real clips a benchmark protocol names cannot be drawn from this data (None if they can)."""
    if not protocol.pinned:
        return None
    if isinstance(dataset, ProceduralVideos):
        return f"{protocol.name} evaluates on fixed clips of a video dataset, not on procedural {cfg.data.source!r}"
    if protocol.per_context > 1 and not cfg.model.context_frames:
        return f"{protocol.name} makes {protocol.per_context} predictions per context: only for DVD-GAN-FP models"
    try:
        protocol_dataset(cfg, protocol)
    except (ValueError, FileNotFoundError) as exc:
        return str(exc)
    return None


def protocol_dataset(cfg: DVDGANConfig, protocol: Protocol):
    """The data a pinned protocol evaluates on (its split, first windows), checked to hold its real clips."""
    split = protocol.split or cfg.data.split
    data_cfg = cfg.with_values({"data.split": split}).data
    dataset = build_dataset(data_cfg, cfg.model.num_frames, cfg.model.resolution, seed=cfg.train.seed + 1,
                            first_window=protocol.first_frames)
    if protocol.first_frames and len(dataset) < protocol.num_real:
        raise ValueError(f"{protocol.name} takes the first {protocol.num_frames} frames of {protocol.num_real} "
                         f"videos of split {split!r}, but {cfg.data.source} has {len(dataset)} there")
    return dataset


def applicable(cfg: DVDGANConfig, dataset, protocol: str | None = None) -> list[str]:
    """Every metric that can be measured for this model and data."""
    return [name for name in ALL_METRICS if metric_problem(cfg, dataset, name, protocol) is None]


def check_metrics(cfg: DVDGANConfig, dataset, metrics: list[str] | None = None, protocol: str | None = None) -> None:
    """Raise a one-line ``ValueError`` naming the first metric that cannot apply and those that can."""
    for name in metrics if metrics is not None else cfg.eval.metrics:
        problem = metric_problem(cfg, dataset, name, protocol)
        if problem is not None:
            can = ", ".join(applicable(cfg, dataset, protocol)) or "none"
            raise ValueError(f"{problem}. Metrics that apply to this model and data: {can}")


def adapt_metrics(cfg: DVDGANConfig, dataset, keep_protocol: bool = False) -> DVDGANConfig:
    """A preset's metrics fitted to the data: those that apply, motion always, FVD for video data of >= 9 frames.

    A protocol that was named (``keep_protocol``: the user set it; or the preset asks for a video metric) is kept,
    and one that does not fit the clips raises ``ValueError``: a run never reports numbers on a protocol nobody
    asked for. Otherwise FVD is added on ``fvd64_<T>f``, for watching the run.
    """
    t = cfg.model.num_frames
    protocol = cfg.eval.protocol
    named = keep_protocol or any(name in VIDEO_METRICS for name in cfg.eval.metrics)
    if named:
        problem = _video_problem(cfg, dataset, "fvd", get_protocol(protocol))
        if problem is not None and problem != _i3d_problem():
            raise ValueError(f"eval.protocol={protocol}: {problem}")
    elif t >= MIN_FRAMES:
        protocol = f"fvd{SMALL_PROTOCOL_CLIPS}_{t}f"
    wanted = list(cfg.eval.metrics) + ["motion", "travel"] + ["psnr_ssim"] * bool(cfg.model.context_frames)
    if not isinstance(dataset, ProceduralVideos):
        wanted.append("fvd")
    metrics = [name for name in dict.fromkeys(wanted) if metric_problem(cfg, dataset, name, protocol) is None]
    if not any(name in VIDEO_METRICS for name in metrics):
        protocol = cfg.eval.protocol  # unused: leave the config as it was
    return cfg.with_values({"eval.metrics": metrics, "eval.protocol": protocol})
