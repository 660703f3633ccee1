"""What training logs: the raw spectral norms of a few layers (a GAN health signal) next to the losses."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from _train_helpers import load_payload, micro_cfg
from dvdgan.training.loop import SIGMA_LAYERS, train


def _sigma(state: dict, layer: str) -> float:
    """u^T W v of a layer's raw weight, from a checkpoint's state dict."""
    prefix = f"{layer}.parametrizations.weight"
    w = state[f"{prefix}.original"]
    u, v = state[f"{prefix}.0._u"], state[f"{prefix}.0._v"]
    return torch.vdot(u, w.reshape(w.shape[0], -1) @ v).item()


def test_raw_spectral_norms_are_logged(tmp_path: Path) -> None:
    result = train(micro_cfg("train.steps=2"), tmp_path / "run", quiet=True)
    stats = [json.loads(line) for line in (tmp_path / "run" / "stats.jsonl").read_text().splitlines()]
    payload = load_payload(result.last_checkpoint)
    for net, layers in SIGMA_LAYERS.items():
        for layer in layers:
            logged = stats[-1][f"sigma_{net}.{layer}"]
            assert logged == _sigma(payload[net], layer)  # the raw weight's, as the checkpoint holds it
    # the normalised weight's sigma is 1 by construction; D's raw weights move away from it within two steps
    assert any(abs(v - 1.0) > 1e-3 for k, v in stats[-1].items() if k.startswith("sigma_D."))
