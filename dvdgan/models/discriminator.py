"""DVD-GAN's dual discriminator [paper v2 section 3].

D_S scores k frames sampled uniformly at random per sample, without replacement, at full resolution (BigGAN's
image discriminator, scores summed over the k frames). D_T scores the whole clip after phi = 2x2 average
pooling; its first two residual blocks are 3-D, then time is folded into the batch, BigGAN 2-D blocks follow and
per-frame scores are summed over time. Both use projection conditioning (Miyato & Koyama 2018).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dvdgan.config import ModelConfig
from dvdgan.models.blocks import DBlock
from dvdgan.models.layers import sn_embedding, sn_linear

# [ours] Output width multipliers of the base width ch_d per block; every block but the last halves the
# resolution. 64/128/256 are BigGAN's D_arch tables; 16 and 32 follow the same pattern.
D_WIDTHS: dict[int, list[int]] = {
    8: [1, 2],
    16: [1, 2, 4],
    32: [1, 2, 4, 8],
    64: [1, 2, 4, 8, 16],
    128: [1, 2, 4, 8, 16, 16],
    256: [1, 2, 4, 8, 8, 16, 16],
    512: [1, 1, 2, 4, 8, 8, 16, 16],
}


def discriminator_widths(resolution: int, ch: int, in_channels: int = 3) -> list[tuple[int, int, bool]]:
    """(input, output, downsample) of every block of BigGAN's discriminator for square inputs of ``resolution``."""
    if resolution not in D_WIDTHS:
        raise ValueError(f"no discriminator width table for resolution {resolution}; have {sorted(D_WIDTHS)}")
    outs = [m * ch for m in D_WIDTHS[resolution]]
    ins = [in_channels, *outs[:-1]]
    return [(i, o, n < len(outs) - 1) for n, (i, o) in enumerate(zip(ins, outs, strict=True))]


def pixel_fraction(num_frames: int, resolution: int, k_frames: int, temporal_pool: int = 2) -> float:
    """Pixels seen by D_S + D_T as a fraction of one discriminator over the whole video [paper v2 section 3].

    D_S sees k*H*W pixels and D_T sees T*(H/phi)*(W/phi); for 48x128x128 with k=8 this is 0.417 (58% fewer).
    """
    full = num_frames * resolution * resolution
    dual = k_frames * resolution**2 + num_frames * (resolution // temporal_pool) ** 2
    return dual / full


class ProjectionHead(nn.Module):
    """ReLU -> sum over space -> SN-linear score + <SN-embed(y), h> (projection) [BigGAN, Miyato & Koyama]."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.linear = sn_linear(channels, 1)
        self.embed = sn_embedding(num_classes, channels) if num_classes > 0 else None

    def forward(
        self, h: torch.Tensor, y: torch.Tensor | None, class_logits: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Scores ``[N]``; with ``class_logits`` also ``<embed(c), h>`` for every class c, ``[N, classes]``."""
        h = torch.relu(h).sum(dim=(2, 3))  # [N, C]
        score = self.linear(h).squeeze(1)
        if self.embed is None:
            if class_logits:
                raise ValueError("class logits need a class-conditional discriminator")
            return score
        if y is None:
            raise ValueError("a class-conditional discriminator needs labels y")
        weight = self.embed.weight  # read once: each read of an SN weight in training runs a power iteration
        score = score + (F.embedding(y, weight) * h).sum(dim=1)
        return (score, h @ weight.t()) if class_logits else score


class FrameTrunk(nn.Module):
    """BigGAN's discriminator residual trunk on frames ``[N, 3, H, W]``; also DVD-GAN-FP's encoder trunk."""

    def __init__(self, resolution: int, ch: int, in_channels: int = 3):
        super().__init__()
        self.blocks = nn.ModuleList(
            DBlock(i, o, down, preactivation=n > 0)
            for n, (i, o, down) in enumerate(discriminator_widths(resolution, ch, in_channels))
        )
        self.out_channels = self.blocks[-1].conv2.out_channels

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor | list[torch.Tensor]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features if return_features else x


class SpatialDiscriminator(nn.Module):
    """D_S: per-frame BigGAN D on k random full-resolution frames per sample; score = sum over the k frames."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.discriminator
        self.k = d.k_frames
        self.first_frame = cfg.context_frames  # DVD-GAN-FP: sample from the predicted part [ours]
        self.trunk = FrameTrunk(cfg.resolution, d.ch, cfg.channels)
        self.head = ProjectionHead(self.trunk.out_channels, cfg.num_classes)

    def sample_frames(self, batch: int, num_frames: int, device: torch.device) -> torch.Tensor:
        """Indices ``[B, k]``: k distinct frames per sample, uniform, drawn from the global torch RNG."""
        available = num_frames - self.first_frame
        idx = torch.rand(batch, available, device=device).argsort(dim=1)[:, : self.k]
        return idx.sort(dim=1).values + self.first_frame

    def forward(
        self, video: torch.Tensor, y: torch.Tensor | None, frame_idx: torch.Tensor | None = None,
        class_logits: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        b, t = video.shape[:2]
        if frame_idx is None:
            frame_idx = self.sample_frames(b, t, video.device)
        frames = video[torch.arange(b, device=video.device)[:, None], frame_idx]  # [B, k, C, H, W]
        k = frames.shape[1]
        h = self.trunk(frames.flatten(0, 1))
        y_rep = y.repeat_interleave(k) if y is not None else None
        return _sum_positions(self.head(h, y_rep, class_logits), b, k)


class TemporalDiscriminator(nn.Module):
    """D_T: phi = 2x2 average pooling of every frame, 3-D blocks first, then per-frame 2-D blocks; sum over T."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.discriminator
        self.pool, self.input = d.temporal_pool, d.temporal_input
        channels = cfg.channels * (2 if self.input == "both" else 1)
        widths = discriminator_widths(cfg.resolution // d.temporal_pool, d.temporal_ch or d.ch, channels)
        n3d = min(d.temporal_3d_blocks, len(widths))
        self.blocks3d = nn.ModuleList(
            DBlock(i, o, down, preactivation=n > 0, dims=3) for n, (i, o, down) in enumerate(widths[:n3d])
        )
        self.blocks2d = nn.ModuleList(
            DBlock(i, o, down, preactivation=True) for i, o, down in widths[n3d:]
        )
        self.head = ProjectionHead(widths[-1][1], cfg.num_classes)

    def forward(
        self, video: torch.Tensor, y: torch.Tensor | None, class_logits: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        b, t = video.shape[:2]
        x = F.avg_pool2d(video.flatten(0, 1), self.pool).unflatten(0, (b, t))  # [B, T, C, H/2, W/2]
        if self.input != "frames":
            change = x[:, 1:] - x[:, :-1]
            x = change if self.input == "differences" else torch.cat([x[:, 1:], change], dim=2)
            t -= 1
        x = x.transpose(1, 2)  # [B, C, T, h, w] for Conv3d
        for block in self.blocks3d:
            x = block(x)
        x = x.transpose(1, 2).flatten(0, 1)  # [B*T, C, h, w], sample-major
        for block in self.blocks2d:
            x = block(x)
        y_rep = y.repeat_interleave(t) if y is not None else None
        return _sum_positions(self.head(x, y_rep, class_logits), b, t)


def _sum_positions(
    out: torch.Tensor | tuple[torch.Tensor, torch.Tensor], b: int, n: int
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """A head's per-frame (or per-time-step) scores ``[B*n]`` summed per clip; class logits kept per position."""
    if isinstance(out, tuple):
        return out[0].view(b, n).sum(dim=1), out[1].view(b, n, -1)
    return out.view(b, n).sum(dim=1)


class DualDiscriminator(nn.Module):
    """``D(video, y) -> {"spatial": [B], "temporal": [B]}`` for video ``[B, T, C, H, W]`` in [-1, 1].

    ``model.discriminator.parts`` can leave one out (the D_S-only / D_T-only ablation); its key is then absent.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        parts = cfg.discriminator.parts
        self.spatial = SpatialDiscriminator(cfg) if "spatial" in parts else None
        self.temporal = TemporalDiscriminator(cfg) if "temporal" in parts else None

    def forward(
        self, video: torch.Tensor, y: torch.Tensor | None = None, class_logits: bool = False
    ) -> dict[str, torch.Tensor] | tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Scores per discriminator; with ``class_logits`` also each head's ``<embed(c), h>`` for every class c,
        ``[B, positions, classes]`` (positions: D_S's k frames, D_T's time steps), for
        ``train.extra_terms.class_loss``."""
        c = self.cfg
        expected = (c.num_frames, c.channels, c.resolution, c.resolution)
        if video.ndim != 5 or tuple(video.shape[1:]) != expected:
            raise ValueError(f"DualDiscriminator expects video [B, {', '.join(map(str, expected))}], "
                             f"got {list(video.shape)}")
        if c.num_classes > 0 and (y is None or y.shape != video.shape[:1]):
            raise ValueError(f"DualDiscriminator expects labels y of shape [{video.shape[0]}]")
        outputs = {}
        if self.spatial is not None:
            outputs["spatial"] = self.spatial(video, y, class_logits=class_logits)
        if self.temporal is not None:
            outputs["temporal"] = self.temporal(video, y, class_logits=class_logits)
        if not class_logits:
            return outputs
        return {k: v[0] for k, v in outputs.items()}, {k: v[1] for k, v in outputs.items()}
