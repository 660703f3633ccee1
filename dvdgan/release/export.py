"""Export a run's (or checkpoint's) G_ema as a shareable folder: weights, config and a generated model card."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from dvdgan.release.card import CardFacts, metrics_at, model_card
from dvdgan.release.format import ExportError, write_export
from dvdgan.training.checkpoint import load_checkpoint


def run_dir_of(checkpoint: Path) -> Path | None:
    """The run directory a checkpoint file lies in (``RUN/checkpoints/ckpt-*.pt``), None for a loose file."""
    run = checkpoint.parent.parent
    return run if checkpoint.parent.name == "checkpoints" and (run / "config.yaml").is_file() else None


def export_checkpoint(source: str | Path, out: str | Path, name: str | None = None, command: str | None = None,
                      gif: str = "", reference: str | None = None, contexts: np.ndarray | None = None,
                      dtype: torch.dtype = torch.float32) -> Path:
    """Write ``out/{model.safetensors, config.json, README.md}`` from a run directory (its newest checkpoint) or a
    checkpoint file. The card takes the metrics of the run's ``metrics.jsonl`` at the checkpoint's step; its
    commands load the model from ``reference`` (default: ``out``'s absolute path, so that they run from any
    directory; ``pretrained:NAME`` for a shipped model, ``hf:USER/REPO`` for the Hub). A DVD-GAN-FP model may carry
    ``contexts``, example clips (uint8 ``[N, T, H, W, 3]``, at most ``MAX_EXAMPLE_CONTEXTS``) that ``dvdgan sample``
    continues when given none; ``dtype`` float16 halves the weights' file."""
    ckpt = load_checkpoint(source)  # G_ema alone, from a memory-mapped file
    contexts = _example_contexts(contexts, ckpt.config.model)
    run = run_dir_of(ckpt.path)
    if command is None:  # a run's config.yaml is complete: training it again gives the same model
        command = f"dvdgan train --config {run / 'config.yaml'}" if run else "not recorded (a loose checkpoint)"
    facts = CardFacts(name=name or Path(out).name, cfg=ckpt.config, step=ckpt.step,
                      standing_stats=ckpt.standing_stats,
                      parameters=sum(p.numel() for p in ckpt.G_ema.parameters()), command=command,
                      source=str(ckpt.path), metrics=metrics_at(run, ckpt.step) if run else None, gif=gif,
                      reference=reference or str(Path(out).resolve()), contexts=contexts is not None)
    return write_export(out, ckpt.G_ema, ckpt.config, ckpt.step, ckpt.standing_stats, model_card(facts),
                        contexts=contexts, dtype=dtype)


MAX_EXAMPLE_CONTEXTS = 16  # a few rows of a sample grid; 16 clips of 16x64x64 are ~3 MB before compression


def _example_contexts(contexts: np.ndarray | None, m) -> np.ndarray | None:
    """The example clips to store: checked against the model, cut to its clip length and to a few clips."""
    if contexts is None:
        return None
    if not m.context_frames:
        raise ExportError("example contexts are for DVD-GAN-FP models (model.context_frames > 0)")
    if (contexts.dtype != np.uint8 or contexts.ndim != 5 or contexts.shape[1] < m.context_frames
            or contexts.shape[2:] != (m.resolution, m.resolution, 3)):
        raise ExportError(f"example contexts must be uint8 [N, T >= {m.context_frames}, {m.resolution}, "
                          f"{m.resolution}, 3], got {contexts.dtype} {list(contexts.shape)}")
    return np.ascontiguousarray(contexts[:MAX_EXAMPLE_CONTEXTS, : m.num_frames])
