"""Preset files stand alone (no ``base:`` chain that a later change to one preset ripples through), and every value
in them says whose it is: ``[paper]`` or ``[ours]`` (or ``[BigGAN]``), on its line or in the comment just above."""

from __future__ import annotations

import re

import pytest

from dvdgan.config import PRESET_DIR, ConfigError, list_presets, preset_dict

TAG = re.compile(r"\[(paper|ours|BigGAN)")


@pytest.mark.parametrize("name", list_presets())
def test_a_preset_inherits_no_other(name: str) -> None:
    assert "base" not in preset_dict(name)
    assert not re.search(r"^base\s*:", (PRESET_DIR / f"{name}.yaml").read_text(), re.MULTILINE)


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_value_is_marked_paper_or_ours(name: str) -> None:
    lines = (PRESET_DIR / f"{name}.yaml").read_text().splitlines()
    unmarked = []
    for i, line in enumerate(lines):
        body, _, comment = line.partition(" #")
        if not body.strip() or body.lstrip().startswith("#") or body.rstrip().endswith(":"):
            continue  # a comment, a blank line or a section header
        above = []
        for prev in reversed(lines[:i]):  # the comment block directly above
            if not prev.lstrip().startswith("#"):
                break
            above.append(prev)
        if not TAG.search(comment) and not any(TAG.search(c) for c in above):
            unmarked.append(f"line {i + 1}: {line.strip()}")
    assert unmarked == [], f"{name}: values without [paper] or [ours]: {unmarked}"


def test_a_preset_with_a_base_is_refused(tmp_path, monkeypatch) -> None:
    (tmp_path / "child.yaml").write_text("base: tiny\nmodel: {num_classes: 3}\n")
    monkeypatch.setattr("dvdgan.config.PRESET_DIR", tmp_path)
    with pytest.raises(ConfigError, match="stand alone"):
        preset_dict("child")
