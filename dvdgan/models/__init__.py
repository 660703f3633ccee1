"""DVD-GAN networks. Imports only torch and ``dvdgan.config`` (never training, data or metrics code)."""

from dvdgan.models.discriminator import (
    DualDiscriminator,
    SpatialDiscriminator,
    TemporalDiscriminator,
    pixel_fraction,
)
from dvdgan.models.generator import Generator

__all__ = ["DualDiscriminator", "Generator", "SpatialDiscriminator", "TemporalDiscriminator", "pixel_fraction"]
