"""experiments/plot_curves.py: a PNG of the expected size from a tiny fake run; a clear error without metrics.jsonl."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from PIL import Image

SCRIPT = Path(__file__).resolve().parent.parent / "experiments" / "plot_curves.py"


@pytest.fixture(scope="module")
def plot_curves():
    # experiments/ is not a package: load the script from its path
    spec = importlib.util.spec_from_file_location("plot_curves", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["plot_curves"] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["plot_curves"]


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _fake_run(root: Path, name: str, fvd: bool = False) -> Path:
    run = root / name
    run.mkdir()
    t0 = 1_700_000_000.0
    metrics = [{"step": s, "time": t0 + 2 * s, "class_acc": 0.1 * i, "class_acc_worst": 0.05 * i,
                "motion_ratio_min": 0.3 + 0.2 * i, "motion_ratio_max": 2.5 - 0.3 * i}
               for i, s in enumerate((100, 200, 300), start=1)]
    if fvd:
        for i, m in enumerate(metrics):
            m.update(fvd=900.0 - 100 * i, protocol="fvd64_16f")
    del metrics[1]["class_acc_worst"]  # a record without a key: that point is left out
    _write_jsonl(run / "metrics.jsonl", metrics)
    _write_jsonl(run / "stats.jsonl", [{"step": s, "time": t0 + 2 * s, "sec_per_step": 2.0} for s in (10, 20)])
    return run


def test_writes_png_of_expected_size(plot_curves, tmp_path: Path) -> None:
    a, b = _fake_run(tmp_path, "a"), _fake_run(tmp_path, "b", fvd=True)
    (b / "stats.jsonl").unlink()  # no timing: b is left out of the wall-clock column only
    out = tmp_path / "plots" / "curves.png"
    plot_curves.main([str(a), str(b), "--labels", "A", "B", "--title", "fake", "--out", str(out)])
    rows = 3  # class accuracy, motion ratio, FVD
    with Image.open(out) as img:
        assert img.format == "PNG"
        assert img.size == (2 * plot_curves.PANEL_W, plot_curves.HEADER_H + rows * plot_curves.PANEL_H)
        assert len(img.getcolors(1 << 20)) > 50  # something was drawn, antialiased

    out2 = tmp_path / "one.png"
    plot_curves.main([str(a), "--out", str(out2)])  # no FVD in run a: two rows
    with Image.open(out2) as img:
        assert img.size == (2 * plot_curves.PANEL_W, plot_curves.HEADER_H + 2 * plot_curves.PANEL_H)


def test_missing_metrics_is_a_clear_error(plot_curves, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="metrics.jsonl"):
        plot_curves.load_run(tmp_path)
    with pytest.raises(SystemExit) as e:
        plot_curves.main([str(tmp_path), "--out", str(tmp_path / "x.png")])
    assert str(e.value) == f"plot_curves: {tmp_path / 'metrics.jsonl'}: no such file (not a run directory, or no " \
                           "evaluation yet)"
    assert not (tmp_path / "x.png").exists()
