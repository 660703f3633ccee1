"""Spectrally normalised layers and class-conditional batch norm [paper v2 section 4; BigGAN].

"Spectral normalization on all weight layers" with one power iteration and orthogonal initialisation:
every factory here initialises orthogonally and then registers torch's spectral-norm parametrisation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import _SpectralNorm, spectral_norm

SN_EPS = 1e-8  # [ours, BigGAN]


def _sn(module: nn.Module) -> nn.Module:
    if not module.weight.is_meta:  # orthogonal_ needs a QR decomposition, which meta tensors lack
        nn.init.orthogonal_(module.weight)
    if getattr(module, "bias", None) is not None and not module.bias.is_meta:
        nn.init.zeros_(module.bias)
    return spectral_norm(module, n_power_iterations=1, eps=SN_EPS)


def sn_conv2d(in_ch: int, out_ch: int, kernel_size: int = 3, bias: bool = True) -> nn.Module:
    """Spectrally normalised 2-D convolution with 'same' padding."""
    return _sn(nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=bias))


def sn_conv3d(in_ch: int, out_ch: int, kernel_size: int = 3, bias: bool = True) -> nn.Module:
    """Spectrally normalised 3-D convolution (kernel k x k x k) with 'same' padding [paper v2: D_T's 3-D blocks]."""
    return _sn(nn.Conv3d(in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=bias))


def sn_linear(in_features: int, out_features: int, bias: bool = True) -> nn.Module:
    """Spectrally normalised linear layer."""
    return _sn(nn.Linear(in_features, out_features, bias=bias))


def sn_embedding(num_embeddings: int, dim: int) -> nn.Module:
    """Spectrally normalised embedding (the projection discriminator's class embedding)."""
    return _sn(nn.Embedding(num_embeddings, dim))


def set_power_iteration(module: nn.Module, enabled: bool) -> None:
    """Switch the SN power iteration of every layer in ``module`` on or off, leaving BN modes alone.

    Training with gradient accumulation runs one iteration per optimiser step rather than one per micro-batch.
    """
    for m in module.modules():
        if isinstance(m, _SpectralNorm):
            m.train(enabled and module.training)


def raw_sigma(module: nn.Module) -> float:
    """The spectral norm of a layer's raw (unnormalised) weight as SN's power iteration estimates it, ``u^T W v``.

    The normalised weight has sigma 1 by construction; the raw weight's sigma is the GAN health signal (BigGAN
    logs it: G's sigmas exploding precede collapse).
    """
    sn = module.parametrizations.weight[0]
    raw = module.parametrizations.weight.original.detach()
    return torch.vdot(sn._u, torch.mv(sn._reshape_weight_to_matrix(raw), sn._v)).item()


def spectral_norm_of(module: nn.Module) -> float:
    """Largest singular value of a (parametrised) module's effective weight, flattened to 2-D."""
    weight = module.weight.detach()
    return torch.linalg.matrix_norm(weight.reshape(weight.shape[0], -1), ord=2).item()


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; the gradient of a sum over ranks is the sum over ranks of the gradients."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class ClassConditionalBN(nn.Module):
    """BN without affine, then ``(1 + gamma(cond)) * x + beta(cond)`` with SN-linear gamma, beta [paper v1 s3, v2 s3].

    Statistics are not pooled over time: "we do not reduce over the time dimension when calculating BN
    statistics" [paper v1 section 3]. The input is a time-folded batch ``[B*T, C, H, W]`` (sample-major); each time
    step gets its own batch statistics and running statistics.

    ``cross_replica``: while training inside an initialised ``torch.distributed`` process group, the batch
    statistics are those of the batch of every rank together (BigGAN's cross-replica BN, SyncBatchNorm semantics,
    still per time step), and gradients flow back through them to every rank. Without a process group (one
    process) this is the plain batch norm, bit for bit.
    """

    def __init__(
        self,
        channels: int,  # feature channels C
        cond_dim: int,  # width of cond = [z; e(y)]
        num_frames: int,  # time steps T (one set of statistics per step)
        eps: float = 1e-5,
        momentum: float = 0.1,
        cross_replica: bool = False,  # statistics over the batch of all ranks [BigGAN]
    ):
        super().__init__()
        self.channels, self.num_frames = channels, num_frames
        self.cross_replica = cross_replica
        self.eps, self.momentum = eps, momentum
        self.register_buffer("running_mean", torch.zeros(num_frames * channels))
        self.register_buffer("running_var", torch.ones(num_frames * channels))
        self.gain = sn_linear(cond_dim, channels, bias=False)
        self.bias = sn_linear(cond_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x: ``[B*T, C, H, W]``; cond: ``[B, cond_dim]`` (one row per sample, not per frame)."""
        bt, c, h, w = x.shape
        t = self.num_frames
        if bt % t or c != self.channels:
            raise ValueError(f"ClassConditionalBN expects [B*{t}, {self.channels}, H, W], got {list(x.shape)}")
        b = bt // t
        # Folding time into channels gives each (t, c) pair its own statistics over (B, H, W).
        folded = x.reshape(b, t * c, h, w)
        normed = self._normalise(folded).reshape(bt, c, h, w)
        gain = (1.0 + self.gain(cond)).repeat_interleave(t, dim=0)  # sample-major, like the folded batch
        bias = self.bias(cond).repeat_interleave(t, dim=0)
        return normed * gain[:, :, None, None] + bias[:, :, None, None]

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.cross_replica and dist.is_available() and dist.is_initialized():
            return self._normalise_across_ranks(x)
        return F.batch_norm(x, self.running_mean, self.running_var, None, None, self.training, self.momentum,
                            self.eps)

    def _normalise_across_ranks(self, x: torch.Tensor) -> torch.Tensor:
        """Batch norm of ``x [N, K, H, W]`` with statistics over every rank's N (biased variance to normalise,
        unbiased in the running statistics, as ``F.batch_norm``). Two passes, mean then squared deviations, so
        that large means do not cancel the variance away in float32; the sums are all-reduced differentiably."""
        xf = x.float()  # statistics in float32 under bf16 autocast, as cuDNN's batch norm
        local_sum = xf.sum(dim=(0, 2, 3))
        count = torch.tensor([x.shape[0] * x.shape[2] * x.shape[3]], dtype=xf.dtype, device=x.device)
        totals = _AllReduceSum.apply(torch.cat([local_sum, count]))
        n = totals[-1].detach()
        mean = totals[:-1] / n
        dev = xf - mean[None, :, None, None]
        var = _AllReduceSum.apply((dev * dev).sum(dim=(0, 2, 3))) / n
        with torch.no_grad():
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(var.detach() * n / (n - 1).clamp(min=1), self.momentum)
        return (dev * torch.rsqrt(var + self.eps)[None, :, None, None]).to(x.dtype)

    def reset_running_stats(self) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1.0)


def conditional_bns(module: nn.Module) -> list[ClassConditionalBN]:
    return [m for m in module.modules() if isinstance(m, ClassConditionalBN)]


@contextlib.contextmanager
def batch_statistics(module: nn.Module) -> Iterator[list[ClassConditionalBN]]:
    """Only the conditional BNs in training mode (batch statistics, running statistics updated), each on its own
    rank's batch; everything else in eval mode (no SN power iteration). Modes, momentum and the cross-replica
    setting are restored on exit. Yields the BN layers."""
    was_training = module.training
    bns = conditional_bns(module)
    saved = [(m.momentum, m.cross_replica) for m in bns]
    module.eval()
    for m in bns:
        m.training = True  # this layer alone: m.train() would also start its gain/bias layers' power iterations
        m.cross_replica = False
    try:
        yield bns
    finally:
        module.train(was_training)
        for m, (momentum, cross) in zip(bns, saved, strict=True):
            m.momentum, m.cross_replica = momentum, cross
