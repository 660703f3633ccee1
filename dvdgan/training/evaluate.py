"""Evaluate a generator: FVD / IS / KVD with the Kinetics-400 I3D and analytic metrics [docs/design.md section 7].

Shared by ``dvdgan eval`` and the in-loop evaluation. Samples come from G_ema; for DVD-GAN-FP the contexts are
real clips and a generated clip is ``context + prediction``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from dvdgan.config import DVDGANConfig
from dvdgan.metrics import cached_statistics, class_accuracy, compute_statistics, compute_video_metrics, load_i3d
from dvdgan.metrics.context_colour import colour_agreement
from dvdgan.metrics.frame_quality import psnr_per_frame, ssim_per_frame
from dvdgan.metrics.motion import compare_motion
from dvdgan.metrics.protocols import get_protocol
from dvdgan.training.metric_plan import check_metrics
from dvdgan.video import uint8_to_video, video_to_uint8


def _real_clips(dataset, n: int, seed: int) -> Iterator[tuple[np.ndarray, int]]:
    """``n`` real clips (uint8 [T, H, W, C]) and labels, spread deterministically over the dataset."""
    order = np.random.default_rng(seed).permutation(len(dataset))
    for i in range(n):
        clip, label = dataset[int(order[i % len(order)]) + (i // len(order)) * len(dataset)]
        yield np.asarray(clip), int(label)


@torch.no_grad()
def _fake_clips(
    G: nn.Module, cfg: DVDGANConfig, dataset, n: int, batch: int, device: torch.device, seed: int
) -> Iterator[tuple[np.ndarray, int, np.ndarray | None, np.ndarray | None]]:
    """Generated clips: (uint8 [T, H, W, C], its label, and for FP the predicted part and the real clip)."""
    m = cfg.model
    gen = torch.Generator().manual_seed(seed)
    real = _real_clips(dataset, n, seed + 1) if m.context_frames else None
    done = 0
    while done < n:
        b = min(batch, n - done)
        z = torch.randn(b, m.generator.z_dim, generator=gen).to(device)
        context, labels, real_full = None, None, None
        if real is not None:
            items = [next(real) for _ in range(b)]
            real_full = np.stack([c for c, _ in items])
            context = uint8_to_video(torch.from_numpy(np.stack([c for c, _ in items])).to(device))
            context = context[:, : m.context_frames]
            labels = torch.tensor([lab for _, lab in items])
        if m.num_classes > 0:
            y = torch.arange(done, done + b) % m.num_classes
            labels = y
            y = y.to(device)
        else:
            y = None
        if labels is None:
            labels = torch.zeros(b, dtype=torch.long)
        out = G(z, y, context=context) if context is not None else G(z, y)
        pred = video_to_uint8(out.float()).cpu().numpy()
        full = np.concatenate([video_to_uint8(context).cpu().numpy(), pred], axis=1) if context is not None else pred
        for i in range(b):
            if context is None:
                yield full[i], int(labels[i]), None, None
            else:
                yield full[i], int(labels[i]), pred[i], real_full[i]
        done += b


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
    """Compute the requested metrics; returns a flat JSON-ready dict."""
    metrics = list(metrics or cfg.eval.metrics)
    was_training = G.training
    G.eval()
    out: dict[str, float | int | str | list[float]] = {}
    try:
        check_metrics(cfg, dataset, metrics, protocol)  # before generating: a wrong request fails at once
        sample_metrics = {"class_acc": _class_accuracy, "psnr_ssim": _psnr_ssim, "context_colour": _context_colour,
                          "motion": _motion}
        wanted = [m for m in sample_metrics if m in metrics]
        if wanted:
            # One set of generated clips serves every metric that judges them directly.
            n = num_samples or cfg.eval.num_samples
            samples = list(_fake_clips(G, cfg, dataset, n, cfg.eval.batch_size, device, seed))
            for name in wanted:
                out.update(sample_metrics[name](cfg, dataset, samples))
        video_metrics = [m for m in metrics if m in ("fvd", "is", "kvd")]
        if video_metrics:
            out.update(_video_metrics(G, cfg, dataset, video_metrics, protocol or cfg.eval.protocol, device,
                                      progress, seed))
    finally:
        G.train(was_training)
    return out


Samples = list[tuple[np.ndarray, int, np.ndarray | None, np.ndarray | None]]  # what _fake_clips yields


def _class_accuracy(cfg: DVDGANConfig, dataset, samples: Samples) -> dict:
    # FP: judge the predicted frames only
    clips = np.stack([pred if pred is not None else full for full, _, pred, _ in samples])
    labels = np.asarray([label for _, label, _, _ in samples])
    acc = class_accuracy(dataset.classify(clips), labels, int(dataset.num_classes))
    return {"class_acc": acc.overall, "class_acc_worst": acc.worst, "class_acc_per_class": list(acc.per_class),
            "class_acc_samples": len(samples)}


def _psnr_ssim(cfg: DVDGANConfig, dataset, samples: Samples) -> dict:
    """DVD-GAN-FP: per-frame PSNR/SSIM of the predicted frames against the real future of the same clip."""
    c = cfg.model.context_frames
    pred_arr = np.stack([pred for _, _, pred, _ in samples])
    real_arr = np.stack([real[c:] for _, _, _, real in samples])
    psnr, ssim = psnr_per_frame(pred_arr, real_arr), ssim_per_frame(pred_arr, real_arr)
    return {"psnr_per_frame": [round(float(v), 4) for v in psnr], "ssim_per_frame": [round(float(v), 5) for v in ssim],
            "psnr_mean": float(np.mean(psnr[np.isfinite(psnr)])) if np.isfinite(psnr).any() else float("inf"),
            "ssim_mean": float(np.mean(ssim)), "psnr_ssim_samples": len(samples)}


def _context_colour(cfg: DVDGANConfig, dataset, samples: Samples) -> dict:
    """DVD-GAN-FP: does each prediction keep its context's colour (``dvdgan.metrics.context_colour``)?"""
    c = cfg.model.context_frames
    contexts = np.stack([full[:c] for full, _, _, _ in samples])
    preds = np.stack([pred for _, _, pred, _ in samples])
    return {"context_colour": colour_agreement(contexts, preds), "context_colour_samples": len(samples)}


def _motion(cfg: DVDGANConfig, dataset, samples: Samples) -> dict:
    """Motion energy per time step of the generated clips against as many real ones (``dvdgan.metrics.motion``)."""
    # A fixed draw of real clips: the real profile is then the same at every evaluation of a run.
    real = (clip for clip, _ in _real_clips(dataset, len(samples), seed=3))
    result = compare_motion((full for full, _, _, _ in samples), real)
    return {**result.as_dict(), "motion_samples": len(samples)}


def _video_metrics(G, cfg: DVDGANConfig, dataset, metrics: list[str], protocol_name: str, device, progress: bool,
                   seed: int) -> dict:
    protocol = get_protocol(protocol_name)
    i3d = load_i3d(device=device)
    key = f"{cfg.data.source}|{cfg.data.split}|{cfg.data.frame_stride}|{cfg.model.num_frames}x{cfg.model.resolution}"
    bs = cfg.eval.batch_size

    def real_stats():
        clips = (c for c, _ in _real_clips(dataset, protocol.num_real, seed + 2))
        return compute_statistics(clips, i3d, bs, resize=protocol.resize, max_clips=protocol.num_real,
                                  device=device, num_frames=protocol.num_frames,
                                  keep_features="kvd" in metrics, progress=progress, desc="I3D real")

    real = real_stats() if "kvd" in metrics else cached_statistics(key, protocol, real_stats)
    fake = (c for c, *_ in _fake_clips(G, cfg, dataset, protocol.num_fake, bs, device, seed))
    return compute_video_metrics(real, fake, i3d, protocol, metrics=metrics, batch_size=bs, device=device,
                                 strict=False, progress=progress)
