"""BigGAN residual blocks: the generator's per-frame up-block and the discriminators' 2-D/3-D down-blocks.

[paper v2 section 3, Fig. 3 legend: class-conditional BN, ReLU, bilinear x2 upsampling, 3x3 convs, 1x1 skip;
2x2 average-pool downsampling in D; "the first two residual blocks of D_T are 3-D, where every convolution is
replaced with a 3-D convolution with kernel 3x3x3".]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dvdgan.models.checkpointing import Checkpointable, run_checkpointed
from dvdgan.models.layers import ClassConditionalBN, sn_conv2d, sn_conv3d


def g_activation(x: torch.Tensor, slope: float) -> torch.Tensor:
    """The generator's activation: ReLU [paper], or leaky ReLU with ``slope`` > 0 (``model.generator.relu_slope``)."""
    return F.leaky_relu(x, slope) if slope > 0 else torch.relu(x)


class GBlock(nn.Module):
    """CBN -> ReLU -> (up x2) -> conv3x3 -> CBN -> ReLU -> conv3x3, skip: (up x2) -> conv1x1 (if needed).

    The skip runs conv1x1 before the upsampling: a 1x1 convolution and bilinear upsampling commute exactly (the
    interpolation weights of every output pixel sum to 1, so the bias passes through), and the convolution then
    runs on a quarter of the pixels (benchmarks/step_ab.py, docs/benchmarks.md). Only the rounding differs.

    Frames are processed independently (time folded into the batch, ``[B*T, C, H, W]``); the CBNs keep per-time-step
    statistics.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        cond_dim: int,  # width of [z; e(y)]
        num_frames: int,  # T, for the per-time-step BN statistics
        upsample: bool,  # bilinear x2 before the first conv [paper: bilinear]
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
        cross_replica_bn: bool = False,
        relu_slope: float = 0.0,  # leaky ReLU's negative slope; 0 = ReLU [paper]
    ):
        super().__init__()
        self.upsample, self.relu_slope = upsample, relu_slope
        bn = {"cond_dim": cond_dim, "num_frames": num_frames, "eps": bn_eps, "momentum": bn_momentum,
              "cross_replica": cross_replica_bn}
        self.bn1 = ClassConditionalBN(in_ch, **bn)
        self.conv1 = sn_conv2d(in_ch, out_ch, 3)
        self.bn2 = ClassConditionalBN(out_ch, **bn)
        self.conv2 = sn_conv2d(out_ch, out_ch, 3)
        self.shortcut = sn_conv2d(in_ch, out_ch, 1) if (in_ch != out_ch or upsample) else None

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False) if self.upsample else x

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self._up(g_activation(self.bn1(x, cond), self.relu_slope)))
        h = self.conv2(g_activation(self.bn2(h, cond), self.relu_slope))
        skip = x if self.shortcut is None else self.shortcut(x)
        return h + self._up(skip)


class DBlock(Checkpointable):
    """(ReLU) -> conv3 -> ReLU -> conv3 -> avgpool2, skip: conv1x1 -> avgpool2 (BigGAN's discriminator block).

    ``dims=3`` makes every convolution 3x3x3 on ``[B, C, T, H, W]`` and pools 2x2 in space only, so the time axis
    survives for the later per-frame blocks [ours: the paper does not say whether D_T's 3-D blocks pool time].
    The shortcut pools before its 1x1 conv in every block. BigGAN convolves first in the preactivated blocks;
    average pooling and a 1x1 convolution commute exactly, and pooling first runs the conv on a quarter of the
    pixels. Only the rounding differs.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        downsample: bool,
        preactivation: bool,  # False only for the first block, which sees pixels
        dims: int = 2,  # 2: [N, C, H, W]; 3: [N, C, T, H, W]
    ):
        super().__init__()
        conv = sn_conv2d if dims == 2 else sn_conv3d
        self.dims, self.downsample, self.preactivation = dims, downsample, preactivation
        self.conv1 = conv(in_ch, out_ch, 3)
        self.conv2 = conv(out_ch, out_ch, 3)
        self.shortcut = conv(in_ch, out_ch, 1) if (in_ch != out_ch or downsample) else None

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if not self.downsample:
            return x
        return F.avg_pool2d(x, 2) if self.dims == 2 else F.avg_pool3d(x, (1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_checkpointed(self, self._forward, x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(x) if self.preactivation else x
        h = self._pool(self.conv2(torch.relu(self.conv1(h))))
        if self.shortcut is None:
            return h + x
        return h + self.shortcut(self._pool(x))
