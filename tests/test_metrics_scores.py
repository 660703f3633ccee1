"""IS, KVD, class accuracy, protocols and the statistics cache (docs/architecture.md section 7)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dvdgan.metrics import (
    PROTOCOLS,
    FeatureStats,
    Protocol,
    cached_statistics,
    class_accuracy,
    get_protocol,
    inception_score,
    kernel_video_distance,
)
from dvdgan.metrics.class_accuracy import format_class_accuracy


def test_inception_score_uniform_is_one() -> None:
    mean, std = inception_score(np.zeros((40, 400)), splits=4)
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_confident_distinct_is_num_classes() -> None:
    classes = 10
    logits = 50.0 * np.eye(classes)[np.arange(60) % classes]  # each split of 20 holds every class twice
    mean, std = inception_score(logits, splits=3)
    assert mean == pytest.approx(classes, rel=1e-6) and std < 1e-6
    # All samples confidently the same class: no diversity, IS 1.
    assert inception_score(50.0 * np.eye(classes)[np.zeros(60, int)], splits=1)[0] == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="split"):
        inception_score(logits[:2], splits=3)


def test_inception_score_accepts_kept_features() -> None:
    s = FeatureStats(5, keep_features=True)
    s.update(50.0 * np.eye(5))
    assert inception_score(s, splits=1)[0] == pytest.approx(5.0, rel=1e-2)


def test_kvd_near_zero_for_same_distribution_positive_for_shift() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 32)), rng.normal(size=(400, 32))
    shifted = rng.normal(size=(400, 32)) + 0.5
    same = kernel_video_distance(a, b, num_subsets=20, max_subset_size=200)
    diff = kernel_video_distance(a, shifted, num_subsets=20, max_subset_size=200)
    assert diff > 0.05
    assert abs(same) < 0.05 * diff
    # With subsets covering the whole sets the estimator is exactly symmetric.
    assert kernel_video_distance(a, shifted, num_subsets=2) == pytest.approx(
        kernel_video_distance(shifted, a, num_subsets=2), rel=1e-9)


def test_class_accuracy_shows_a_dropped_class() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 3])
    pred = np.array([0, 0, 1, 0, 0, 0, 0, 3])  # class 2 never produced
    acc = class_accuracy(pred, labels, num_classes=5)
    assert acc.overall == pytest.approx(4 / 8)
    assert acc.per_class[:4] == (1.0, 0.5, 0.0, 1.0) and math.isnan(acc.per_class[4])
    assert acc.counts == (2, 2, 3, 1, 0)
    assert acc.worst == 0.0
    text = format_class_accuracy(acc, ["red", "green", "blue", "white", "black"])
    assert "blue 0.0% (n=3)" in text and "black n/a (n=0)" in text and text.startswith("class acc 50.0%")
    assert acc.as_dict()["class_acc/2"] == 0.0
    with pytest.raises(ValueError, match="equally many"):
        class_accuracy(pred[:3], labels)
    # -1 (nothing to classify) is wrong for every label, class 0 included, and reported on its own
    empty = class_accuracy(np.array([-1, 0, -1, 1]), np.array([0, 0, 1, 1]), num_classes=2)
    assert empty.per_class == (0.5, 0.5) and empty.no_object == 0.5
    assert "no object in 50.0%" in format_class_accuracy(empty)
    with pytest.raises(ValueError, match=">= -1"):
        class_accuracy(np.array([-2, 0]), np.array([0, 0]))


def test_protocol_registry() -> None:
    p = get_protocol("fvd2048_16f")
    assert (p.num_real, p.num_fake, p.num_frames, p.resize) == (2048, 2048, 16, "tf1")
    assert get_protocol("fvd256_16f").num_fake == 256 and "fvd2048_128f" in PROTOCOLS
    assert get_protocol(p) is p
    with pytest.raises(KeyError, match="fvd2048_16f"):
        get_protocol("fvd10k")
    with pytest.raises(ValueError, match="fvd<num_fake>_<num_frames>f"):
        Protocol("fvd2048_16f", 2048, 1024, 16)  # the name must tell the truth about its counts
    with pytest.raises(ValueError, match="FVD is undefined"):
        Protocol("fvd2048_8f", 2048, 2048, 8)


def test_cached_statistics(tmp_path: Path) -> None:
    calls = []

    def compute() -> FeatureStats:
        calls.append(1)
        s = FeatureStats(3, keep_features=True)
        s.update(np.arange(12.0).reshape(4, 3))
        return s

    first = cached_statistics("ucf101/train", "fvd256_16f", compute, tmp_path, weights_sha256="abc")
    again = cached_statistics("ucf101/train", "fvd256_16f", compute, tmp_path, weights_sha256="abc")
    assert len(calls) == 1
    np.testing.assert_array_equal(again.features, first.features)
    cached_statistics("ucf101/train", "fvd2048_16f", compute, tmp_path, weights_sha256="abc")
    cached_statistics("ucf101/train", "fvd256_16f", compute, tmp_path, weights_sha256="other")
    cached_statistics("ucf101/test", "fvd256_16f", compute, tmp_path, weights_sha256="abc")
    assert len(calls) == 4
    files = sorted(p.name for p in (tmp_path / "fvd-stats").iterdir())
    assert len(files) == 4 and all(f.endswith(".npz") for f in files)
