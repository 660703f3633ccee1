"""DVD-GAN generator [paper v2 section 3, Fig. 3].

[z; e(y)] -> SN-linear -> one [ch0, 4, 4] map, fed as the input at every time step of the first ConvGRU.
Each level = ConvGRU over the sequence, then two BigGAN residual blocks per frame (the first keeps the
resolution, the second upsamples x2); the level's output sequence is the next level's ConvGRU input.
Head: CBN -> ReLU -> SN conv3x3 -> 3 channels -> tanh.
"""

from __future__ import annotations

import torch
from torch import nn

from dvdgan.config import ModelConfig
from dvdgan.models.blocks import GBlock, g_activation
from dvdgan.models.checkpointing import Checkpointable, run_checkpointed
from dvdgan.models.convgru import ConvGRU
from dvdgan.models.encoder import ContextEncoder
from dvdgan.models.layers import ClassConditionalBN, sn_conv2d, sn_linear

# [ours] Per-level (input, output) width multipliers of the base width ch. 64/128/256 are BigGAN's G_arch
# tables; 16 and 32 are smaller tables of ours for CPU-sized models.
G_WIDTHS: dict[int, tuple[list[int], list[int]]] = {
    16: ([8, 4], [4, 2]),
    32: ([8, 8, 4], [8, 4, 2]),
    64: ([16, 16, 8, 4], [16, 8, 4, 2]),
    128: ([16, 16, 8, 4, 2], [16, 8, 4, 2, 1]),
    256: ([16, 16, 8, 8, 4, 2], [16, 8, 8, 4, 2, 1]),
    512: ([16, 16, 8, 8, 4, 2, 1], [16, 8, 8, 4, 2, 1, 1]),
}


def generator_widths(resolution: int, ch: int) -> list[tuple[int, int]]:
    """(input, output) channels of every level; levels = log2(resolution / 4)."""
    if resolution not in G_WIDTHS:
        raise ValueError(f"no generator width table for resolution {resolution}; have {sorted(G_WIDTHS)}")
    ins, outs = G_WIDTHS[resolution]
    return [(i * ch, o * ch) for i, o in zip(ins, outs, strict=True)]


class GeneratorLevel(Checkpointable):
    """ConvGRU over time, then two per-frame GBlocks (no upsampling, then x2) [paper v2 section 3]."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int, num_frames: int, cfg: ModelConfig):
        super().__init__()
        g = cfg.generator
        bn = {"bn_eps": g.bn_eps, "bn_momentum": g.bn_momentum,
              "cross_replica_bn": g.cross_replica_bn, "relu_slope": g.relu_slope}
        self.gru = ConvGRU(in_ch, in_ch, g.gru_kernel, g.gru_update_bias)  # [ours] hidden width = level input width
        self.block1 = GBlock(in_ch, in_ch, cond_dim, num_frames, upsample=False, **bn)
        self.block2 = GBlock(in_ch, out_ch, cond_dim, num_frames, upsample=True, **bn)

    @property
    def hidden_channels(self) -> int:
        return self.gru.hidden_channels

    def forward(
        self, x: torch.Tensor, cond: torch.Tensor, h0: torch.Tensor | None = None, steps: int | None = None
    ) -> torch.Tensor:
        return run_checkpointed(self, self._forward, x, cond, h0, steps)

    def _forward(self, x: torch.Tensor, cond: torch.Tensor, h0: torch.Tensor | None, steps: int | None):
        h = self.gru(x, h0, steps)  # [B, T, C, H, W]
        b, t = h.shape[:2]
        h = h.flatten(0, 1)  # [B*T, C, H, W], sample-major
        h = self.block2(self.block1(h, cond), cond)
        return h.unflatten(0, (b, t))


class Generator(nn.Module):
    """``G(z, y) -> video [B, T, 3, H, W]`` in [-1, 1]; T = ``cfg.generated_frames``.

    With ``cfg.context_frames > 0`` (DVD-GAN-FP) a ``ContextEncoder`` turns ``context`` into the initial states.

    ``initial_states`` (one ``[B, C_l, H_l, W_l]`` tensor per level) replaces the zero ConvGRU states; DVD-GAN-FP
    passes its encoder's output here.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        g = cfg.generator
        self.cfg = cfg
        self.num_classes, self.z_dim, self.z_scale = cfg.num_classes, g.z_dim, g.z_scale
        self.num_frames = cfg.generated_frames
        self.resolution = cfg.resolution
        self.embed = nn.Embedding(cfg.num_classes, g.embed_dim) if cfg.num_classes > 0 else None
        # [ours] N(0, 1) init (PyTorch's default), not orthogonal: then e(y) has about the norm of z in
        # cond = [z; e(y)] from the start; orthonormal rows (norm <= 1 against |z| ~ 11) leave the class signal
        # ~10x weaker than the noise, and small-batch CPU runs took thousands of steps to start using it.
        cond_dim = g.z_dim + (g.embed_dim if cfg.num_classes > 0 else 0)
        self.cond_dim = cond_dim
        widths = generator_widths(cfg.resolution, g.ch)
        self.ch0 = widths[0][0]
        self.linear = sn_linear(cond_dim, self.ch0 * 4 * 4)
        self.levels = nn.ModuleList(
            GeneratorLevel(i, o, cond_dim, self.num_frames, cfg) for i, o in widths
        )
        out_ch = widths[-1][1]
        self.head_bn = ClassConditionalBN(
            out_ch, cond_dim, self.num_frames, g.bn_eps, g.bn_momentum, g.cross_replica_bn
        )
        self.head_conv = sn_conv2d(out_ch, cfg.channels, 3)
        self.context_frames = cfg.context_frames
        self.encoder = ContextEncoder(cfg, self.state_shapes()) if cfg.context_frames > 0 else None

    def state_shapes(self) -> list[tuple[int, int, int]]:
        """(channels, height, width) of every level's ConvGRU state."""
        return [(lvl.hidden_channels, 4 * 2**i, 4 * 2**i) for i, lvl in enumerate(self.levels)]

    def make_cond(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """cond = [z; e(y)] (just z when unconditional) [paper v2 section 3], z scaled by ``z_scale`` [ours]."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must be [B, {self.z_dim}], got {list(z.shape)}")
        if self.z_scale != 1.0:
            z = z * self.z_scale
        if self.embed is None:
            return z
        if y is None or y.shape != (z.shape[0],):
            raise ValueError(f"y must be int64 [B={z.shape[0]}] for a class-conditional G, got "
                             f"{None if y is None else list(y.shape)}")
        return torch.cat([z, self.embed(y)], dim=1)

    def forward(
        self,
        z: torch.Tensor,
        y: torch.Tensor | None = None,
        initial_states: list[torch.Tensor] | None = None,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Returns the generated frames; for DVD-GAN-FP, the P frames that follow ``context [B, C, 3, H, W]``."""
        cond = self.make_cond(z, y)
        if self.encoder is not None:
            if context is None:
                raise ValueError(f"this DVD-GAN-FP generator needs context=[B, {self.context_frames}, C, H, W]")
            initial_states = self.encoder(context)
        elif context is not None:
            raise ValueError("context given to a generator without context frames (model.context_frames=0)")
        b = z.shape[0]
        x = self.linear(cond).view(b, 1, self.ch0, 4, 4)  # the same map at every time step
        if initial_states is not None and len(initial_states) != len(self.levels):
            raise ValueError(f"initial_states needs {len(self.levels)} tensors, got {len(initial_states)}")
        for i, level in enumerate(self.levels):
            h0 = initial_states[i] if initial_states is not None else None
            x = level(x, cond, h0, steps=self.num_frames if i == 0 else None)
        t = self.num_frames
        h = g_activation(self.head_bn(x.flatten(0, 1), cond), self.cfg.generator.relu_slope)
        out = self.head_conv(h).unflatten(0, (b, t))
        if self.cfg.generator.context_residual and context is not None:
            # a change of the last context frame [ours flag]; atanh of a clamped frame keeps it finite at +-1
            out = out + torch.atanh(context[:, -1:].clamp(-_RESIDUAL_EDGE, _RESIDUAL_EDGE))
        return torch.tanh(out)  # [B, T, 3, H, W]

    @property
    def class_names(self) -> list[str]:
        """The name of each class id ``y`` (``cfg.class_names``, e.g. a store's class folders); empty where the
        model records none (unconditional, or trained before dvdgan kept them)."""
        return list(self.cfg.class_names)

    def sample_z(self, n: int, generator: torch.Generator | None = None, truncation: float = 0.0,
                 device: torch.device | str | None = None) -> torch.Tensor:
        """z ~ N(0, I), truncated at |z| <= ``truncation`` by resampling when it is > 0 [BigGAN]."""
        device = device if device is not None else self.linear.weight.device
        return truncated_normal((n, self.z_dim), truncation, generator).to(device)


_RESIDUAL_EDGE = 0.995  # atanh(0.995) = 3.0: a saturated context pixel stays reachable from the head's outputs


def truncated_normal(shape: tuple[int, ...], threshold: float = 0.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal samples (on the CPU); with ``threshold > 0`` entries beyond it are redrawn (truncation trick)."""
    z = torch.randn(shape, generator=generator)
    if threshold <= 0:
        return z
    for _ in range(1000):
        bad = z.abs() > threshold
        if not bad.any():
            return z
        z = torch.where(bad, torch.randn(shape, generator=generator), z)
    return z.clamp(-threshold, threshold)
