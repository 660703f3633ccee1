"""Export a run's (or checkpoint's) G_ema as a shareable folder: weights, config and a generated model card."""

from __future__ import annotations

from pathlib import Path

from dvdgan.release.card import CardFacts, metrics_at, model_card
from dvdgan.release.format import write_export
from dvdgan.training.checkpoint import load_checkpoint


def run_dir_of(checkpoint: Path) -> Path | None:
    """The run directory a checkpoint file lies in (``RUN/checkpoints/ckpt-*.pt``), None for a loose file."""
    run = checkpoint.parent.parent
    return run if checkpoint.parent.name == "checkpoints" and (run / "config.yaml").is_file() else None


def export_checkpoint(source: str | Path, out: str | Path, name: str | None = None, command: str | None = None,
                      gif: str = "", reference: str | None = None) -> Path:
    """Write ``out/{model.safetensors, config.json, README.md}`` from a run directory (its newest checkpoint) or a
    checkpoint file. The card takes the metrics of the run's ``metrics.jsonl`` at the checkpoint's step; its
    commands load the model from ``reference`` (default: ``out``'s absolute path, so that they run from any
    directory; ``pretrained:NAME`` for a shipped model, ``hf:USER/REPO`` for the Hub)."""
    ckpt = load_checkpoint(source)  # G_ema alone, from a memory-mapped file
    run = run_dir_of(ckpt.path)
    if command is None:  # a run's config.yaml is complete: training it again gives the same model
        command = f"dvdgan train --config {run / 'config.yaml'}" if run else "not recorded (a loose checkpoint)"
    facts = CardFacts(name=name or Path(out).name, cfg=ckpt.config, step=ckpt.step,
                      standing_stats=ckpt.standing_stats,
                      parameters=sum(p.numel() for p in ckpt.G_ema.parameters()), command=command,
                      source=str(ckpt.path), metrics=metrics_at(run, ckpt.step) if run else None, gif=gif,
                      reference=reference or str(Path(out).resolve()))
    return write_export(out, ckpt.G_ema, ckpt.config, ckpt.step, ckpt.standing_stats, model_card(facts))
