"""dvdgan: DVD-GAN (Clark, Donahue, Simonyan, arXiv 1907.06571 v2) in PyTorch.

    from dvdgan import load_checkpoint
    G = load_checkpoint("runs/00000-tiny-shapes").G_ema   # newest checkpoint of a run, ready to sample
    G = from_pretrained("tiny-shapes")                     # a shipped model, an export folder or a Hub repo
    save_video("grid.mp4", G(G.sample_z(4), torch.arange(4)))  # .mp4, .gif, .png (filmstrip) or .npz
"""

__version__ = "0.1.0"

from dvdgan.config import DVDGANConfig, list_presets, load_preset  # noqa: E402
from dvdgan.models import DualDiscriminator, Generator  # noqa: E402
from dvdgan.release import from_pretrained, list_pretrained, push_to_hub  # noqa: E402
from dvdgan.sampling import save_video  # noqa: E402
from dvdgan.training.checkpoint import load_checkpoint  # noqa: E402

__all__ = ["DVDGANConfig", "DualDiscriminator", "Generator", "__version__", "from_pretrained", "list_pretrained",
           "list_presets", "load_checkpoint", "load_preset", "push_to_hub", "save_video"]
