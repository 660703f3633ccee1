"""DVD-GAN-FP's conditioning-frame encoder [paper v1 section 3.2, extended to v2's per-level ConvGRUs].

Each of the C conditioning frames passes separately through a residual network with D_S's architecture (its own
weights). At every generator level's resolution the C frames' features are concatenated on channels and an SN 1x1
convolution maps them to that level's ConvGRU hidden width: the level's initial state [ours: per level; v1 had a
single recurrent level and one 1x1 conv to 512 channels].
"""

from __future__ import annotations

import torch
from torch import nn

from dvdgan.config import ModelConfig
from dvdgan.models.discriminator import FrameTrunk
from dvdgan.models.layers import sn_conv2d


class ContextEncoder(nn.Module):
    """``context [B, C, 3, H, W] -> [h0 of level 0, h0 of level 1, ...]`` matching ``state_shapes``."""

    def __init__(self, cfg: ModelConfig, state_shapes: list[tuple[int, int, int]]):
        super().__init__()
        self.context_frames = cfg.context_frames
        self.trunk = FrameTrunk(cfg.resolution, cfg.discriminator.ch, cfg.channels)
        resolutions, channels = [], []
        size = cfg.resolution
        for block in self.trunk.blocks:
            size = size // 2 if block.downsample else size
            resolutions.append(size)
            channels.append(block.conv2.out_channels)
        self.taps: list[int] = []
        projections = []
        for hidden, height, _ in state_shapes:
            # the deepest trunk block at this resolution
            tap = max(i for i, r in enumerate(resolutions) if r == height)
            self.taps.append(tap)
            projections.append(sn_conv2d(self.context_frames * channels[tap], hidden, 1))
        self.projections = nn.ModuleList(projections)

    def forward(self, context: torch.Tensor) -> list[torch.Tensor]:
        b, c = context.shape[:2]
        if c != self.context_frames:
            raise ValueError(f"ContextEncoder expects {self.context_frames} context frames, got {list(context.shape)}")
        features = self.trunk(context.flatten(0, 1), return_features=True)
        states = []
        for tap, proj in zip(self.taps, self.projections, strict=True):
            f = torch.relu(features[tap])  # D blocks are pre-activation: their outputs are not yet rectified
            f = f.unflatten(0, (b, c)).flatten(1, 2)  # [B, C * ch, h, w]: frames concatenated on channels
            states.append(proj(f))
        return states
