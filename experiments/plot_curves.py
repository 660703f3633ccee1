"""Training curves of one or more runs as one PNG, drawn with Pillow (matplotlib is not a dependency).

    python experiments/plot_curves.py RUN [RUN ...] [--labels A B ...] [--title T] --out docs/results/NAME.png

The figure is a grid of panels: one row per metric, one column per x-axis (training step on the left, wall-clock
minutes since the run started on the right). Rows, each drawn only when some run has its keys in metrics.jsonl:

* class accuracy: overall (solid) and the worst class (dashed), 0 to 1;
* motion ratio fake / real: the largest (solid) and smallest (dashed) over the clip's frame steps, on a log scale
  so that 0.5 and 2 are equally far from 1, with the target band [0.5, 2] shaded green;
* one row per FVD key (``fvd...``; its protocol in the title).

One colour per run (the legend at the top). A run without one of the keys just lacks that line. Wall-clock time
starts at the run's estimated start: the first stats.jsonl record's time minus its step x sec_per_step; it
includes any pause between a stop and its resume, and runs that shared the CPU run slower than alone. A run without
stats.jsonl is left out of the wall-clock column. The PNG is 960 pixels wide and 40 + 300 per row high; the legend
is one line, so keep labels short.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PANEL_W, PANEL_H = 480, 300  # one panel, in output pixels
HEADER_H = 40  # figure title and the run legend
SCALE = 2  # drawn at twice the size, then downsampled: Pillow draws lines without antialiasing
# Okabe-Ito colours (distinguishable with colour blindness), yellow left out: too pale on white
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
BAND = (0.5, 2.0)  # the motion ratio's target (docs/results.md)


@dataclass
class Run:
    label: str
    metrics: list[dict]  # one record per in-loop evaluation, sorted by step
    start_time: float | None  # unix seconds; None without stats.jsonl


@dataclass
class Series:
    xs: list[float]
    ys: list[float]
    colour: str
    dashed: bool = False


def _read_jsonl(path: Path) -> list[dict]:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    # a run resumed from an earlier checkpoint logs some steps twice: the later record is the run that went on
    return sorted({r["step"]: r for r in records if "step" in r}.values(), key=lambda r: r["step"])


def load_run(run_dir: str | Path, label: str | None = None) -> Run:
    run_dir = Path(run_dir)
    metrics_path = run_dir / "metrics.jsonl"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{metrics_path}: no such file (not a run directory, or no evaluation yet)")
    stats_path = run_dir / "stats.jsonl"
    stats = _read_jsonl(stats_path) if stats_path.is_file() else []
    start = None
    if stats and "time" in stats[0] and "sec_per_step" in stats[0]:
        start = stats[0]["time"] - stats[0]["step"] * stats[0]["sec_per_step"]
    else:
        print(f"plot_curves: {stats_path}: no timing records; {run_dir} left out of the wall-clock panels",
              file=sys.stderr)
    return Run(label or run_dir.name, _read_jsonl(metrics_path), start)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size * SCALE)  # Pillow >= 10.1: a scalable built-in font
    except TypeError:  # older Pillow: its small bitmap font
        return ImageFont.load_default()


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round ticks (1, 2 or 5 times a power of ten) from <= lo to >= hi."""
    raw = (hi - lo) / n if hi > lo else max(abs(hi), 1.0) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first = math.floor(lo / step + 1e-9) * step
    count = math.ceil((hi - first) / step - 1e-9)
    return [first + i * step for i in range(max(count, 1) + 1)]


def _dashed_line(draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]], fill: str, width: int) -> None:
    # Pillow has no dash pattern: walk the polyline, drawing every other piece; the phase carries across vertices
    on, off = 6 * SCALE, 4 * SCALE
    phase = 0.0
    for (x0, y0), (x1, y1) in pairwise(pts):
        length = math.hypot(x1 - x0, y1 - y0)
        t = 0.0
        while t < length:
            drawing = phase < on
            step = min((on if drawing else on + off) - phase, length - t)
            if drawing:
                a, b = t / length, (t + step) / length
                draw.line([(x0 + a * (x1 - x0), y0 + a * (y1 - y0)), (x0 + b * (x1 - x0), y0 + b * (y1 - y0))],
                          fill=fill, width=width)
            t += step
            phase = (phase + step) % (on + off)


def _line(draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]], colour: str, dashed: bool) -> None:
    if dashed:
        _dashed_line(draw, pts, colour, 2 * SCALE)
    else:
        draw.line(pts, fill=colour, width=2 * SCALE, joint="curve")


def draw_panel(draw: ImageDraw.ImageDraw, origin: tuple[int, int], title: str, xlabel: str, series: list[Series],
               style_key: tuple[str, str] | None = None, ylim: tuple[float, float] | None = None,
               log2: bool = False, band: tuple[float, float] | None = None) -> None:
    """A line chart in the PANEL_W x PANEL_H box at origin (output pixels): title, grid, ticks, lines with dots.

    style_key: what the solid and dashed lines mean, drawn as a small key right of the title. log2: a log scale
    with ticks at powers of 2 (for ratios). band: a y range shaded green (a target)."""
    s = SCALE
    left, top = origin[0] * s, origin[1] * s
    x0, x1 = left + 58 * s, left + (PANEL_W - 16) * s  # plot area
    y0, y1 = top + 30 * s, top + (PANEL_H - 44) * s
    small, normal = _font(11), _font(13)
    draw.text((x0, top + 8 * s), title, fill="#222", font=normal)
    if style_key:  # right-aligned: "—— solid   - - dashed"
        x = x1
        for text, dashed in ((style_key[1], True), (style_key[0], False)):
            x -= draw.textlength(text, font=small)
            yc = top + 16 * s
            draw.text((x, yc), text, fill="#444", font=small, anchor="lm")
            _line(draw, [(x - 26 * s, yc), (x - 4 * s, yc)], "#444", dashed)
            x -= 40 * s

    fy = (lambda v: math.log2(v)) if log2 else (lambda v: v)
    pts = [(x, y) for se in series for x, y in zip(se.xs, se.ys, strict=True) if not (log2 and y <= 0)]
    xs = [p[0] for p in pts] or [0.0, 1.0]
    xticks = nice_ticks(0.0, max(max(xs), 1e-9))
    if log2:  # ticks at powers of 2 covering the data and the band with a power to spare, so the band shows as one
        ys = [math.log2(p[1]) for p in pts] + ([math.log2(band[0]) - 1, math.log2(band[1]) + 1] if band else [0.0])
        yticks = list(range(math.floor(min(ys)), math.ceil(max(ys)) + 1))
    else:
        ys = [p[1] for p in pts] or [0.0, 1.0]
        yticks = nice_ticks(*ylim) if ylim else nice_ticks(min(ys), max(ys))
    (xa, xb), (ya, yb) = (xticks[0], xticks[-1]), (yticks[0], yticks[-1])
    yb = yb if yb > ya else ya + 1
    px = lambda v: x0 + (v - xa) / (xb - xa) * (x1 - x0)
    py = lambda v: y1 - (fy(v) - ya) / (yb - ya) * (y1 - y0)

    if band:
        draw.rectangle([x0, max(py(band[1]), y0), x1, min(py(band[0]), y1)], fill="#dff0d8")
    for t in xticks:
        draw.line([(px(t), y0), (px(t), y1)], fill="#e4e4e4", width=s)
        draw.text((px(t), y1 + 5 * s), f"{t:g}", fill="#444", font=small, anchor="mt")
    for t in yticks:
        v = 2.0**t if log2 else t
        draw.line([(x0, py(v)), (x1, py(v))], fill="#e4e4e4", width=s)
        draw.text((x0 - 5 * s, py(v)), f"{v:g}", fill="#444", font=small, anchor="rm")
    draw.rectangle([x0, y0, x1, y1], outline="#888", width=s)
    draw.text(((x0 + x1) / 2, y1 + 22 * s), xlabel, fill="#222", font=small, anchor="mt")
    if not pts:  # e.g. the wall-clock column when no run has stats.jsonl
        draw.text(((x0 + x1) / 2, (y0 + y1) / 2), "no data", fill="#888", font=normal, anchor="mm")

    for se in series:
        line = [(px(x), py(y)) for x, y in zip(se.xs, se.ys, strict=True) if not (log2 and y <= 0)]
        if len(line) > 1:
            _line(draw, line, se.colour, se.dashed)
        for x, y in line:
            draw.ellipse([x - 2.5 * s, y - 2.5 * s, x + 2.5 * s, y + 2.5 * s], fill=se.colour)


def _rows(runs: list[Run]) -> list[dict]:
    """The metric rows some run has: title, (solid key, dashed key or None), line-style key, axis options."""
    keys = {k for run in runs for rec in run.metrics for k, v in rec.items() if isinstance(v, (int, float))}
    rows = []
    if keys & {"class_acc", "class_acc_worst"}:
        rows.append(dict(title="class accuracy", keys=("class_acc", "class_acc_worst"),
                         style_key=("overall", "worst class"), ylim=(0.0, 1.0)))
    if keys & {"motion_ratio_max", "motion_ratio_min"}:
        rows.append(dict(title="motion ratio fake / real (target shaded)", keys=("motion_ratio_max",
                         "motion_ratio_min"), style_key=("max", "min"), log2=True, band=BAND))
    for key in sorted(k for k in keys if k.startswith("fvd")):
        protocols = {rec["protocol"] for run in runs for rec in run.metrics if key in rec and "protocol" in rec}
        title = f"{key.upper()} ({', '.join(sorted(protocols))})" if protocols else key.upper()
        rows.append(dict(title=title, keys=(key, None)))
    return rows


def plot(runs: list[Run], out: str | Path, title: str | None = None) -> Path:
    rows = _rows(runs)
    if not rows:
        raise ValueError("no plottable metric (class_acc, motion_ratio_*, fvd*) in any run's metrics.jsonl")
    s = SCALE
    img = Image.new("RGB", (2 * PANEL_W * s, (HEADER_H + len(rows) * PANEL_H) * s), "white")
    draw = ImageDraw.Draw(img)
    x = 16 * s
    if title:
        draw.text((x, HEADER_H / 2 * s), title, fill="#222", font=_font(15), anchor="lm")
        x += draw.textlength(title, font=_font(15)) + 30 * s
    for i, run in enumerate(runs):  # the run legend: a coloured line and the label
        colour, yc = COLOURS[i % len(COLOURS)], HEADER_H / 2 * s
        draw.line([(x, yc), (x + 24 * s, yc)], fill=colour, width=3 * s)
        draw.text((x + 30 * s, yc), run.label, fill="#222", font=_font(13), anchor="lm")
        x += 30 * s + draw.textlength(run.label, font=_font(13)) + 24 * s

    for r, row in enumerate(rows):
        for c, xlabel in enumerate(("training step", "wall-clock minutes")):
            series = []
            for i, run in enumerate(runs):
                if c == 1 and run.start_time is None:
                    continue
                for key, dashed in zip(row["keys"], (False, True), strict=True):
                    recs = [rec for rec in run.metrics if isinstance(rec.get(key), (int, float))
                            and math.isfinite(rec[key]) and (c == 0 or "time" in rec)]
                    if key and recs:
                        xs = [rec["step"] if c == 0 else (rec["time"] - run.start_time) / 60 for rec in recs]
                        series.append(Series(xs, [rec[key] for rec in recs], COLOURS[i % len(COLOURS)], dashed))
            draw_panel(draw, (c * PANEL_W, HEADER_H + r * PANEL_H), row["title"], xlabel, series,
                       style_key=row.get("style_key"), ylim=row.get("ylim"), log2=row.get("log2", False),
                       band=row.get("band"))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.resize((2 * PANEL_W, HEADER_H + len(rows) * PANEL_H), Image.LANCZOS).save(out)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="run directories (each with metrics.jsonl, and stats.jsonl for time)")
    p.add_argument("--labels", nargs="+", help="legend labels, one per run (default: the directory names)")
    p.add_argument("--title", help="figure title, left of the legend")
    p.add_argument("--out", required=True, help="PNG to write")
    args = p.parse_args(argv)
    if args.labels and len(args.labels) != len(args.runs):
        p.error(f"{len(args.labels)} labels for {len(args.runs)} runs")
    try:
        runs = [load_run(d, lab) for d, lab in zip(args.runs, args.labels or [None] * len(args.runs), strict=True)]
        print(plot(runs, args.out, args.title))
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"plot_curves: {e}")


if __name__ == "__main__":
    main()
