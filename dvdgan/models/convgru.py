"""Convolutional GRU unrolled over time [paper v2 section 3; equations as stated by TrIVD-GAN].

    r = sigmoid(W_r * [h; x]),  u = sigmoid(W_u * [h; x])
    c = ReLU(W_c * [x; r . h])
    h' = u . h + (1 - u) . c            (output at step t = h')

r and u come from one convolution with 2x hidden channels. Because a convolution over a channel
concatenation is the sum of convolutions over the parts, the input's share of every gate is computed for all
T steps in one batched call and only the hidden-state share runs sequentially; the spectrally normalised
weight is the full ``[out, hidden + in, k, k]`` matrix, exactly as for the concatenated form.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dvdgan.models.layers import sn_conv2d


class ConvGRU(nn.Module):
    """A single-layer ConvGRU over a sequence ``[B, T, C_in, H, W]`` returning ``[B, T, C_hidden, H, W]``."""

    def __init__(
        self,
        in_channels: int,  # channels of x_t
        hidden_channels: int,  # channels of h_t (= output channels)
        kernel_size: int = 3,  # [ours] the paper does not give the kernel size
        update_bias: float = 0.0,  # [ours] initial bias of the update gate u; > 0 keeps more of h at each step
    ):
        super().__init__()
        self.in_channels, self.hidden_channels, self.pad = in_channels, hidden_channels, kernel_size // 2
        self.gates = sn_conv2d(hidden_channels + in_channels, 2 * hidden_channels, kernel_size)  # on [h; x]
        if not self.gates.bias.is_meta:
            with torch.no_grad():
                self.gates.bias[hidden_channels:] = update_bias  # channels [hidden:] are u (see chunk below)
        self.candidate = sn_conv2d(in_channels + hidden_channels, hidden_channels, kernel_size)  # on [x; r.h]

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None, steps: int | None = None) -> torch.Tensor:
        """x: ``[B, T, C_in, H, W]``, or ``[B, 1, C_in, H, W]`` with ``steps=T`` for the same input at every step."""
        b, t, c, height, width = x.shape
        if steps is not None:
            if t != 1:
                raise ValueError(f"ConvGRU: steps= needs a single input step, got {list(x.shape)}")
            t = steps
        if c != self.in_channels:
            raise ValueError(f"ConvGRU expects {self.in_channels} input channels, got {list(x.shape)}")
        hid = self.hidden_channels
        if h0 is None:
            h = x.new_zeros(b, hid, height, width)
        elif h0.shape != (b, hid, height, width):
            raise ValueError(f"ConvGRU initial state must be {[b, hid, height, width]}, got {list(h0.shape)}")
        else:
            h = h0
        w_gates, w_cand = self.gates.weight, self.candidate.weight  # computed once per forward (SN)
        # Contiguous once here: a strided slice would be copied by every one of the T per-step convolutions.
        w_gates_h, w_gates_x = w_gates[:, :hid].contiguous(), w_gates[:, hid:]
        w_cand_x, w_cand_h = w_cand[:, :c], w_cand[:, c:].contiguous()
        n = x.shape[1]
        flat = x.reshape(b * n, c, height, width)
        x_gates = F.conv2d(flat, w_gates_x, self.gates.bias, padding=self.pad).view(b, n, 2 * hid, height, width)
        x_cand = F.conv2d(flat, w_cand_x, self.candidate.bias, padding=self.pad).view(b, n, hid, height, width)
        outputs = []
        for step in range(t):
            i = step if n > 1 else 0
            gates = torch.sigmoid(x_gates[:, i] + F.conv2d(h, w_gates_h, padding=self.pad))
            r, u = gates.chunk(2, dim=1)
            cand = torch.relu(x_cand[:, i] + F.conv2d(r * h, w_cand_h, padding=self.pad))
            h = u * h + (1.0 - u) * cand
            outputs.append(h)
        return torch.stack(outputs, dim=1)
