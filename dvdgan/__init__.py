"""dvdgan: DVD-GAN (Clark, Donahue, Simonyan, arXiv 1907.06571 v2) in PyTorch.

    from dvdgan import load_checkpoint
    G = load_checkpoint("runs/00000-tiny-shapes").G_ema   # newest checkpoint of a run, ready to sample
"""

__version__ = "0.1.0"

from dvdgan.config import DVDGANConfig, list_presets, load_preset  # noqa: E402
from dvdgan.models import DualDiscriminator, Generator  # noqa: E402
from dvdgan.training.checkpoint import load_checkpoint  # noqa: E402

__all__ = ["DVDGANConfig", "DualDiscriminator", "Generator", "__version__", "list_presets", "load_checkpoint",
           "load_preset"]
