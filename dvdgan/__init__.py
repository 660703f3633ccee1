"""dvdgan: DVD-GAN (Clark, Donahue, Simonyan, arXiv 1907.06571 v2) in PyTorch."""

from dvdgan.config import DVDGANConfig, list_presets, load_preset

__version__ = "0.1.0"

__all__ = ["DVDGANConfig", "list_presets", "load_preset", "__version__"]
