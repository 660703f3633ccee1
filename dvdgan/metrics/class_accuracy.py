"""Analytic class accuracy for the procedural datasets (docs/architecture.md sections 7 and 10): does a sample show the
class it was conditioned on? Per-class results are reported so that a dropped class is visible.

``judged_accuracy`` is what ``class_acc`` reports: a clip is correct only when the data's strict judge (``judge``
of each built-in dataset) accepts it as a real-looking clip of its label; every rejected clip is counted under its
reason, per class. ``class_accuracy`` scores the data's lenient class rule (``classify``), which only asks which
class a clip resembles most."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass(frozen=True)
class ClassAccuracy:
    """`overall`: fraction of samples whose predicted class equals the conditioning class;
    `per_class[c]`: the same among samples conditioned on class c (nan if none); `counts[c]`: those samples;
    `no_object`: fraction of samples in which the class rule found nothing to classify (prediction -1), or that the
    judge found empty; `reasons[r][c]`: samples of class c that the judge rejected for reason r."""

    overall: float
    per_class: tuple[float, ...]
    counts: tuple[int, ...]
    no_object: float = 0.0
    reasons: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def worst(self) -> float:
        present = [a for a in self.per_class if not math.isnan(a)]
        return min(present) if present else math.nan

    def as_dict(self, prefix: str = "class_acc") -> dict[str, float]:
        """Flat dict for metrics.jsonl: overall, worst class, and one entry per class."""
        out = {prefix: self.overall, f"{prefix}_worst": self.worst, f"{prefix}_no_object": self.no_object}
        out.update({f"{prefix}/{c}": a for c, a in enumerate(self.per_class)})
        total = max(sum(self.counts), 1)
        out.update({f"{prefix}_reject/{r}": sum(n) / total for r, n in self.reasons.items()})
        return out


def _labels(x: np.ndarray | torch.Tensor | Sequence[int]) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim != 1 or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {x.shape} dtype {x.dtype}")
    return x.astype(np.int64)


def class_accuracy(predicted: np.ndarray | torch.Tensor | Sequence[int],
                   labels: np.ndarray | torch.Tensor | Sequence[int], num_classes: int | None = None
                   ) -> ClassAccuracy:
    """Compare a dataset's `classify(clips)` output with the conditioning labels `y`; a prediction of -1 (no
    object found) is wrong for every label."""
    pred, y = _labels(predicted), _labels(labels)
    if len(pred) and pred.min() < -1:
        raise ValueError(f"predicted classes must be >= -1 (-1: no object), got {pred.min()}")
    if pred.shape != y.shape or len(y) == 0:
        raise ValueError(f"need equally many predictions and labels (>0), got {len(pred)} and {len(y)}")
    if num_classes is None:
        num_classes = int(max(pred.max(), y.max())) + 1
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes})")
    correct = pred == y
    counts = np.bincount(y, minlength=num_classes)
    hits = np.bincount(y, weights=correct, minlength=num_classes)
    per_class = tuple(float(h / n) if n else math.nan for h, n in zip(hits, counts, strict=True))
    return ClassAccuracy(float(correct.mean()), per_class, tuple(int(n) for n in counts), float((pred < 0).mean()))


def judged_accuracy(verdicts: Sequence[str | None], labels: np.ndarray | torch.Tensor | Sequence[int],
                    num_classes: int) -> ClassAccuracy:
    """Accuracy from the judge's verdicts (None: accepted, else the reason), with rejections counted per reason
    and class (only reasons that occurred)."""
    y = _labels(labels)
    if len(verdicts) != len(y) or len(y) == 0:
        raise ValueError(f"need equally many verdicts and labels (>0), got {len(verdicts)} and {len(y)}")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes})")
    accepted = np.array([v is None for v in verdicts])
    counts = np.bincount(y, minlength=num_classes)
    hits = np.bincount(y, weights=accepted, minlength=num_classes)
    per_class = tuple(float(h / n) if n else math.nan for h, n in zip(hits, counts, strict=True))
    reasons = {r: tuple(int(n) for n in np.bincount(y[[v == r for v in verdicts]], minlength=num_classes))
               for r in dict.fromkeys(v for v in verdicts if v is not None)}
    empty = sum(reasons.get("empty", ())) / len(y)
    return ClassAccuracy(float(accepted.mean()), per_class, tuple(int(n) for n in counts), empty, reasons)


def format_class_accuracy(acc: ClassAccuracy, class_names: Sequence[str] | None = None) -> str:
    """One line, e.g. `class acc 72.5% (worst 3.1%) | red 98.0% (n=50) | blue 3.1% (n=64) | ...`."""
    names = class_names or [str(c) for c in range(len(acc.per_class))]
    parts = [f"class acc {100 * acc.overall:.1f}% (worst {100 * acc.worst:.1f}%)"]
    if acc.no_object:
        parts[0] += f", no object in {100 * acc.no_object:.1f}%"
    parts += [f"{name} {'n/a' if math.isnan(a) else f'{100 * a:.1f}%'} (n={n})"
              for name, a, n in zip(names, acc.per_class, acc.counts, strict=True)]
    return " | ".join(parts)
