"""The model card (``README.md`` of an export): how the model was made and what it measured."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvdgan.config import DVDGANConfig

# (metrics.jsonl key, what the card calls it); the motion profiles are lists, shown per frame step
METRIC_ROWS = (
    ("class_acc", "strict class accuracy (the built-in data's judge: one object of the data's brightness, colour, "
                  "size and class shape in every frame, rigid, on a track the data could produce)"),
    ("class_acc_worst", "worst class's strict accuracy"),
    ("class_acc_per_class", "strict accuracy per class, in class order"),
    ("class_acc_no_object", "share of generated clips that are empty"),
    ("travel_speed_ratio_min", "object speed ratio, smallest over frame steps (generated / real)"),
    ("travel_speed_ratio_max", "object speed ratio, largest over frame steps"),
    ("travel_net_ratio", "net displacement over the clip (generated / real, medians)"),
    ("travel_area_swing_ratio", "area variation within a clip (generated / real)"),
    ("motion_ratio_min", "motion energy ratio, smallest over frame steps (generated / real; counts deformation too)"),
    ("motion_ratio_max", "motion energy ratio, largest over frame steps"),
    ("continuation_kept", "predicted frames that keep the context object's colour and shape (DVD-GAN-FP)"),
    ("continuation_repeat_kept", "the same for repeating the last context frame (baseline)"),
    ("continuation_track_error", "track error of the predicted object, pixels (DVD-GAN-FP)"),
    ("continuation_repeat_track_error", "the same for repeating the last context frame (baseline)"),
    ("psnr_mean", "PSNR of predicted frames, mean (DVD-GAN-FP)"),
    ("ssim_mean", "SSIM of predicted frames, mean (DVD-GAN-FP)"),
    ("fvd", "FVD"),
    ("is", "Inception Score"),
    ("kvd", "KVD"),
)

# YAML front matter: how the Hugging Face Hub files the model
HUB_METADATA = ("---", "library_name: dvdgan", "tags:", "- video-generation", "- gan", "- dvd-gan", "---")


@dataclass
class CardFacts:
    """What a card says about one model."""

    name: str
    cfg: DVDGANConfig
    step: int
    standing_stats: int
    parameters: int
    command: str  # how the run was trained
    source: str  # the run or checkpoint it was exported from
    metrics: dict[str, Any] | None = None  # one record of the run's metrics.jsonl
    gif: str = ""  # a sample GIF, relative to the card
    reference: str = ""  # what `dvdgan sample` takes to load it: a folder, pretrained:NAME or hf:USER/REPO
    contexts: bool = False  # the export carries example context clips (DVD-GAN-FP)


def metrics_at(run_dir: Path, step: int) -> dict[str, Any] | None:
    """The run's ``metrics.jsonl`` record at ``step`` (else the latest before it); None without one."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return None
    best = None
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # a torn last line of a killed run
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int) and record["step"] <= step and (
                best is None or record["step"] >= best["step"]):
            best = record
    return best


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v)
    return "undefined" if v is None else str(v)


def _metrics_section(metrics: dict[str, Any] | None, origin: str | None = None) -> list[str]:
    if not metrics:
        return ["No metrics were recorded for this model (the run had no `metrics.jsonl`)."]
    rows = [f"| {label} | {_value(metrics[key])} |" for key, label in METRIC_ROWS if key in metrics]
    if not rows:
        return ["The run recorded no metric this card knows."]
    origin = origin or f"Measured during training at step {metrics['step']} (the run's `metrics.jsonl`):"
    return [origin, "", "| metric | value |", "|---|---|", *rows]


def restate_metrics(card: str, metrics: dict[str, Any], origin: str) -> str:
    """``card`` with its Metrics section replaced by ``metrics`` (e.g. re-measured by ``dvdgan eval``)."""
    head, found, _ = card.partition("## Metrics\n")
    if not found:
        raise ValueError("the card has no '## Metrics' section")
    return head + found + "\n" + "\n".join(_metrics_section(metrics, origin)) + "\n"


def _usage(reference: str, cfg: DVDGANConfig, contexts: bool = False) -> list[str]:
    """How to load the model: ``reference`` is what ``dvdgan sample`` takes (an export folder, ``pretrained:NAME``
    or ``hf:USER/REPO``); ``from_pretrained`` takes the name of a shipped model, a Hub id or a folder."""
    m = cfg.model
    context = " --context clips.npz" if m.context_frames else ""
    if m.context_frames and contexts:
        context = "  # continues the example clips in contexts.npz; --context clips.npz continues yours"
    python = reference.removeprefix("pretrained:").removeprefix("hf:")
    return ["```bash", f"dvdgan sample {_quoted(reference)} --out samples.gif{context}", "```", "", "```python",
            "import dvdgan", "", f"G = dvdgan.from_pretrained({json.dumps(python)})  # G_ema, in eval mode",
            "z = G.sample_z(4)", "video = G(z, y)  # y: int64 class ids [4]; frames in [-1, 1], [B, T, 3, H, W]"
            if m.num_classes else "video = G(z)  # frames in [-1, 1], [B, T, 3, H, W]", "```"]


def _quoted(text: str) -> str:
    """``text`` as one shell word."""
    import shlex

    return shlex.quote(text)


def restate_usage(card: str, reference: str, cfg: DVDGANConfig, contexts: bool = False) -> str:
    """``card`` with its Use section's commands loading the model from ``reference`` (e.g. once on the Hub)."""
    head, found, rest = card.partition("## Use\n")
    _, after, tail = rest.partition("\n## ")
    if not found or not after:
        raise ValueError("the card has no '## Use' section")
    return head + found + "\n" + "\n".join(_usage(reference, cfg, contexts)) + "\n" + after + tail


def _classes_section(names: list[str]) -> list[str]:
    """The class id of each class name (none for a model that records no names: its ids are all there is)."""
    if not names:
        return []
    listed = ", ".join(f"{i} `{name}`" for i, name in enumerate(names))
    return ["## Classes", "", f"Class ids and names: {listed}.", "",
            "`dvdgan sample --classes` takes either; in Python `G.class_names[y]` names class id `y`.", ""]


def restate_classes(card: str, names: list[str]) -> str:
    """``card`` with its Classes section saying ``names`` (added before the Use section where it has none)."""
    head, found, rest = card.partition("## Classes\n")
    if found:  # drop the old section up to the next one
        _, after, tail = rest.partition("\n## ")
        card = head + "## " + tail if after else head
    head, found, rest = card.partition("## Use\n")
    if not found:
        raise ValueError("the card has no '## Use' section")
    return head + "\n".join(_classes_section(names)) + "\n" + found + rest


def model_card(f: CardFacts) -> str:
    """The card as Markdown: what the model makes, how to use it, how it was made, what it measured."""
    m, d = f.cfg.model, f.cfg.data
    kind = (f"DVD-GAN-FP: {m.generated_frames} frames after {m.context_frames} context frames" if m.context_frames
            else f"DVD-GAN: {m.num_frames} frames")
    classes = f"{m.num_classes} classes" if m.num_classes else "unconditional"
    stats = (f"its own, from {f.standing_stats} of its clips" if f.standing_stats else "copied from the live G")
    lines = [
        *HUB_METADATA, "",
        f"# {f.name}", "",
        f"{kind} at {m.resolution}x{m.resolution}, {classes}; G_ema with {f.parameters / 1e6:.2f} M parameters, "
        f"exported by dvdgan (format: `model.safetensors` + `config.json`, no pickle).", "",
    ]
    if f.gif:
        rows = "one row per context clip: its frames, then the prediction" if m.context_frames else "one row per class"
        lines += [f"![samples, {rows}]({f.gif})", ""]
    lines += _classes_section(m.class_names)
    lines += ["## Use", "", *_usage(f.reference or f"pretrained:{f.name}", f.cfg, f.contexts), "",
              "## How it was made", "",
              f"- command: `{f.command}`",
              f"- steps: {f.step}",
              f"- seed: {f.cfg.train.seed}",
              f"- data: `{d.source}` (split {d.split}, frame stride {d.frame_stride})",
              f"- G_ema's batch-norm statistics: {stats}",
              f"- exported from: `{Path(f.source).name}`", "",  # the file name: a path would leak the trainer's disk
              "## Metrics", "", *_metrics_section(f.metrics), ""]
    return "\n".join(lines)
