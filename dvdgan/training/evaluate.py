"""Evaluate a generator: FVD / IS / KVD with the Kinetics-400 I3D and analytic metrics [docs/architecture.md section 7].

Shared by ``dvdgan eval`` and the in-loop evaluation. Samples come from G_ema; for DVD-GAN-FP the contexts are
real clips and a generated clip is ``context + prediction``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from dvdgan.config import DVDGANConfig
from dvdgan.data.continuation import continuation_with_baselines
from dvdgan.data.fingerprint import real_stats_key
from dvdgan.data.travel import compare_travel
from dvdgan.metrics import cached_statistics, compute_statistics, compute_video_metrics, load_i3d
from dvdgan.metrics.cache import statistics_cache_path
from dvdgan.metrics.class_accuracy import judged_accuracy
from dvdgan.metrics.frame_quality import psnr_per_frame, ssim_per_frame
from dvdgan.metrics.motion import compare_motion
from dvdgan.metrics.stats import FeatureStats
from dvdgan.protocols import Protocol, get_protocol
from dvdgan.sampling import kept_bn_statistics, recompute_standing_statistics
from dvdgan.training.metric_plan import check_metrics, protocol_dataset
from dvdgan.video import uint8_to_video, video_to_uint8


def _real_clips(dataset, indices: range, seed: int, in_order: bool = False, per_context: int = 1
                ) -> Iterator[tuple[np.ndarray, int]]:
    """Real clips number ``indices`` (uint8 [T, H, W, C]) and labels of a deterministic spread over the dataset, or
    with ``in_order`` the dataset's items 0, 1, 2, ...; each ``per_context`` times in a row (the contexts of a
    protocol that makes several predictions from each)."""
    order = np.arange(len(dataset)) if in_order else np.random.default_rng(seed).permutation(len(dataset))
    for i in indices:
        k = i // per_context
        clip, label = dataset[int(order[k % len(order)]) + (k // len(order)) * len(dataset)]
        yield np.asarray(clip), int(label)


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _shard(n: int) -> range:
    """This rank's contiguous share of clips ``0..n-1``: rank order is clip order, so gathering restores it."""
    rank, world = _rank_world()
    return range(n * rank // world, n * (rank + 1) // world)


def _gather(items: list) -> list:
    """Every rank's list, concatenated in rank order, on every rank."""
    rank, world = _rank_world()
    if world == 1:
        return items
    parts: list[list | None] = [None] * world
    dist.all_gather_object(parts, items)
    return [item for part in parts for item in part]


def _latents(n: int, batch: int, z_dim: int, seed: int) -> torch.Tensor:
    """z of clips 0..n-1, drawn in batches of ``batch`` from one seeded stream (whichever rank generates them)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.cat([torch.randn(min(batch, n - i), z_dim, generator=gen) for i in range(0, n, batch)])


GenInputs = tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None, np.ndarray | None]


def _generator_inputs(cfg: DVDGANConfig, dataset, n: int, indices: range, batch: int, device: torch.device,
                      seed: int, protocol: Protocol | None = None) -> Iterator[GenInputs]:
    """Batches of (z, y for G, labels, DVD-GAN-FP context, the real clips) for clips ``indices`` of ``0..n-1``.

    Synthesis labels cycle through the classes; a DVD-GAN-FP clip continues a real clip, whose label it keeps:
    a random spread of the data's clips, or those a pinned ``protocol`` names (in order, ``per_context`` each).
    """
    m = cfg.model
    z_all = _latents(n, batch, m.generator.z_dim, seed)
    draw = {"in_order": protocol.first_frames, "per_context": protocol.per_context} if protocol else {}
    real = _real_clips(dataset, indices, seed + 1, **draw) if m.context_frames else None
    for start in range(0, len(indices), batch):
        idx = indices[start : start + batch]
        z = z_all[idx.start : idx.stop].to(device)
        context, real_full = None, None
        if real is not None:
            items = [next(real) for _ in idx]
            real_full = np.stack([c for c, _ in items])
            context = uint8_to_video(torch.from_numpy(real_full).to(device))[:, : m.context_frames]
            labels = torch.tensor([lab for _, lab in items])
        elif m.num_classes > 0:
            labels = torch.arange(idx.start, idx.stop) % m.num_classes
        else:
            labels = torch.zeros(len(idx), dtype=torch.long)
        y = labels.to(device) if m.num_classes > 0 else None
        yield z, y, labels, context, real_full


@torch.no_grad()
def _fake_clips(
    G: nn.Module, cfg: DVDGANConfig, dataset, n: int, indices: range, batch: int, device: torch.device, seed: int,
    protocol: Protocol | None = None,
) -> Iterator[tuple[np.ndarray, int, np.ndarray | None, np.ndarray | None]]:
    """Generated clips ``indices`` of ``0..n-1``: (uint8 [T, H, W, C], its label, for FP the predicted part and the
    real clip)."""
    for z, y, labels, context, real_full in _generator_inputs(cfg, dataset, n, indices, batch, device, seed,
                                                              protocol):
        out = G(z, y, context=context) if context is not None else G(z, y)
        pred = video_to_uint8(out.float()).cpu().numpy()
        if context is None:
            yield from ((pred[i], int(labels[i]), None, None) for i in range(len(pred)))
            continue
        full = np.concatenate([video_to_uint8(context).cpu().numpy(), pred], axis=1)
        yield from ((full[i], int(labels[i]), pred[i], real_full[i]) for i in range(len(pred)))


STANDING_SEED = 7919  # another stream than the evaluated clips'


@contextlib.contextmanager
def standing_statistics(G: nn.Module, cfg: DVDGANConfig, dataset, device: torch.device, seed: int = 0):
    """Within the block G's BN running statistics are its own, from ``cfg.eval.standing_stats`` generated clips
    (BigGAN's standing statistics), not those the EMA copied from the live G; restored on exit. No-op at 0.

    Every rank computes them from the same clips, so all ranks agree without communicating.
    """
    n = cfg.eval.standing_stats
    if n <= 0:
        yield
        return
    inputs = _generator_inputs(cfg, dataset, n, range(n), cfg.eval.batch_size, device, seed + STANDING_SEED)
    with kept_bn_statistics(G):
        recompute_standing_statistics(G, ((z, y, context) for z, y, _, context, _ in inputs))
        yield


def evaluate_generator(
    G: nn.Module,
    cfg: DVDGANConfig,
    dataset,
    device: torch.device,
    metrics: list[str] | None = None,
    num_samples: int | None = None,
    protocol: str | None = None,
    in_loop: bool = False,
    progress: bool = False,
    seed: int = 0,
) -> dict[str, float | int | str | list[float]]:
    """Compute the requested metrics; returns a flat JSON-ready dict.

    Inside a ``torch.distributed`` process group every rank must call this: each generates and scores its share
    of the clips, the shares are merged (``FeatureStats.all_reduce``, gathered samples), and every rank returns
    the same result, equal to one process's up to float rounding.
    """
    metrics = list(metrics or cfg.eval.metrics)
    progress = progress and _rank_world()[0] == 0
    was_training = G.training
    G.eval()
    out: dict[str, float | int | str | list[float]] = {}
    try:
        check_metrics(cfg, dataset, metrics, protocol)  # before generating: a wrong request fails at once
        with standing_statistics(G, cfg, dataset, device, seed):
            out.update(_sample_metrics(G, cfg, dataset, metrics, num_samples or cfg.eval.num_samples, device, seed,
                                       progress))
            video_metrics = [m for m in metrics if m in ("fvd", "is", "kvd")]
            if video_metrics:
                out.update(_video_metrics(G, cfg, dataset, video_metrics, protocol or cfg.eval.protocol, device,
                                          progress, seed))
    finally:
        G.train(was_training)
    return out


def _sample_metrics(G: nn.Module, cfg: DVDGANConfig, dataset, metrics: list[str], n: int, device: torch.device,
                    seed: int, progress: bool = False) -> dict:
    """The metrics that judge generated clips directly; one set of clips (gathered from every rank) serves all.
    ``progress``: a bar with the total and an ETA while they are generated (this rank's share), which takes a while."""
    sample_metrics = {"class_acc": _class_accuracy, "psnr_ssim": _psnr_ssim, "continuation": _continuation,
                      "motion": _motion, "travel": _travel}
    wanted = [m for m in sample_metrics if m in metrics]
    if not wanted:
        return {}
    shard = _shard(n)
    clips = _fake_clips(G, cfg, dataset, n, shard, cfg.eval.batch_size, device, seed)
    samples = _gather(list(tqdm(clips, total=len(shard), desc="generating", unit="clip", disable=not progress)))
    out: dict = {}
    for name in wanted:
        out.update(sample_metrics[name](cfg, dataset, samples))
    return out


Samples = list[tuple[np.ndarray, int, np.ndarray | None, np.ndarray | None]]  # what _fake_clips yields


def _class_accuracy(cfg: DVDGANConfig, dataset, samples: Samples) -> dict:
    """The data's strict judge (``dvdgan.data.judge``) on each clip; for DVD-GAN-FP on context + prediction, so a
    prediction that changes the object's colour or shape or leaves its track is rejected."""
    clips = np.stack([full for full, _, _, _ in samples])
    labels = np.asarray([label for _, label, _, _ in samples])
    acc = judged_accuracy(dataset.judge(clips, labels), labels, int(dataset.num_classes))
    reasons = {r: [round(n / max(c, 1), 4) for n, c in zip(counts, acc.counts, strict=True)]
               for r, counts in acc.reasons.items()}
    return {"class_acc": acc.overall, "class_acc_worst": acc.worst, "class_acc_per_class": list(acc.per_class),
            "class_acc_no_object": acc.no_object, "class_acc_rejected": reasons, "class_acc_samples": len(samples)}


def _psnr_ssim(cfg: DVDGANConfig, dataset, samples: Samples) -> dict:
    """DVD-GAN-FP: per-frame PSNR/SSIM of the predicted frames against the real future of the same clip."""
    c = cfg.model.context_frames
    pred_arr = np.stack([pred for _, _, pred, _ in samples])
    real_arr = np.stack([real[c:] for _, _, _, real in samples])
    psnr, ssim = psnr_per_frame(pred_arr, real_arr), ssim_per_frame(pred_arr, real_arr)
    return {"psnr_per_frame": [round(float(v), 4) for v in psnr], "ssim_per_frame": [round(float(v), 5) for v in ssim],
            "psnr_mean": float(np.mean(psnr[np.isfinite(psnr)])) if np.isfinite(psnr).any() else float("inf"),
            "ssim_mean": float(np.mean(ssim)), "psnr_ssim_samples": len(samples)}


def _continuation(cfg: DVDGANConfig, dataset, samples: Samples) -> dict:
    """DVD-GAN-FP on built-in data: does each prediction keep its context's object and continue its track, next to
    repeating the last context frame and the real future (``dvdgan.data.continuation``)?"""
    c = cfg.model.context_frames
    contexts = np.stack([full[:c] for full, _, _, _ in samples])
    preds = np.stack([pred for _, _, pred, _ in samples])
    futures = np.stack([real[c:] for _, _, _, real in samples])
    return {**continuation_with_baselines(dataset, contexts, preds, futures), "continuation_samples": len(samples)}


def _motion(cfg: DVDGANConfig, dataset, samples: Samples) -> dict:
    """Motion energy per time step of the generated clips against as many real ones (``dvdgan.metrics.motion``)."""
    # A fixed draw of real clips: the real profile is then the same at every evaluation of a run.
    real = (clip for clip, _ in _real_clips(dataset, range(len(samples)), seed=3))
    result = compare_motion((full for full, _, _, _ in samples), real)
    return {**result.as_dict(), "motion_samples": len(samples)}


def _travel(cfg: DVDGANConfig, dataset, samples: Samples) -> dict:
    """The object's travel, area and shape persistence against real clips' (``dvdgan.data.travel``)."""
    real = (clip for clip, _ in _real_clips(dataset, range(len(samples)), seed=3))  # the same draw at every eval
    result = compare_travel(dataset, (full for full, _, _, _ in samples), real)
    return {**result.as_dict(), "travel_samples": len(samples)}


def _video_metrics(G, cfg: DVDGANConfig, dataset, metrics: list[str], protocol_name: str, device, progress: bool,
                   seed: int) -> dict:
    protocol = get_protocol(protocol_name)
    if protocol.pinned:  # the real clips and contexts the protocol names, whatever the run trained on
        cfg = cfg.with_values({"data.split": protocol.split or cfg.data.split})
        dataset = protocol_dataset(cfg, protocol)
    i3d = load_i3d(device=device)
    key = real_stats_key(cfg.data, cfg.model.num_frames, cfg.model.resolution)  # content, not the source's name
    bs = cfg.eval.batch_size

    def stats_of(clips, count: int, what: str, keep: bool) -> FeatureStats:
        """I3D statistics of this rank's ``count`` clips (the progress bar's total), summed over the ranks."""
        stats = compute_statistics(clips, i3d, bs, resize=protocol.resize, device=device, max_clips=count,
                                   num_frames=protocol.num_frames, keep_features=keep, progress=progress,
                                   desc=f"I3D {what}")
        return stats.all_reduce(device)

    def real_stats() -> FeatureStats:
        shard = _shard(protocol.num_real)
        clips = (c for c, _ in _real_clips(dataset, shard, seed + 2, protocol.first_frames))
        return stats_of(clips, len(shard), "real", "kvd" in metrics)

    real = real_stats() if "kvd" in metrics else _cached_real_statistics(key, protocol, real_stats, i3d)
    n = protocol.num_fake
    shard = _shard(n)
    fake = stats_of((c for c, *_ in _fake_clips(G, cfg, dataset, n, shard, bs, device, seed, protocol)), len(shard),
                    "generated", bool({"is", "kvd"} & set(metrics)))
    return compute_video_metrics(real, fake, i3d, protocol, metrics=metrics, batch_size=bs, device=device,
                                 strict=False, progress=progress)


def _cached_real_statistics(key: str, protocol, compute, i3d) -> FeatureStats:
    """``cached_statistics``, where ranks must agree on whether the cache exists (computing is collective): rank 0
    looks and tells the others, since another run may write the file between two ranks' looks."""
    rank, world = _rank_world()
    if world == 1:
        return cached_statistics(key, protocol, compute, weights_sha256=i3d.weights_sha256)
    path = statistics_cache_path(key, protocol, i3d.weights_sha256)
    found = [path.is_file()]
    dist.broadcast_object_list(found, src=0)
    if found[0]:
        return FeatureStats.load(path)
    stats = compute()
    if rank == 0:
        stats.save(path)
    return stats
