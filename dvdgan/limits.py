"""Size limits, checked before anything is allocated (issue 25): no small file or typo may exhaust memory.

Files are bounded by their own size (a checkpoint's tensors must hold their data, an ``.npy`` is memory-mapped,
safetensors checks that its tensors tile the file); what no file size bounds gets a fixed limit here, set far
above any real use so that only a mistake or a crafted input reaches it. docs/bad-inputs.md ("Memory bounds")
lists each limit with its message.
"""

from __future__ import annotations

from dvdgan.config import ConfigError, ModelConfig

# Frames per clip. The paper's longest clips have 48 frames; BN keeps statistics per frame, so frames size the
# networks as well as the clips (100,000 frames made a 491 MB step-0 checkpoint of BN buffers).
MAX_FRAMES = 1024
# One float32 clip. The paper's largest (48 x 256 x 256 x 3) is 38 MB.
MAX_CLIP_BYTES = 1 << 30
# Parameters and buffers of one network. The paper's generator has 475-534 M (ch 96); ch 2048 asks for 51 G.
MAX_PARAMETERS = 4_000_000_000
# Float32 clips in one forward micro-batch of one rank: 436 clips of 12 x 128 x 128, 10,922 of the tiny preset's
# 8 x 32 x 32. The paper's batch of 512 is spread over a TPU pod (a few clips per core), and the networks keep
# activations tens of times their input's size (a paper-size D_S's first block alone: ~20x), so no device trains
# on more; train.micro_batch splits a larger batch into several forward passes.
MAX_BATCH_BYTES = 1 << 30
# Clips ``dvdgan sample`` holds in memory (uint8) before it writes them: ~170,000 clips of the tiny preset,
# 1,800 of the paper's 12 x 256 x 256.
MAX_SAMPLE_BYTES = 4 << 30
# Pixels of one decoded video frame or image: 8192 x 8192 (67 M pixels, 201 MB as RGB), 8x an 8K UHD frame
# (7680 x 4320). A GIF's 309-byte header can claim 12000 x 12000; frames are checked before they are decoded.
MAX_FRAME_PIXELS = 8192 * 8192


def clip_bytes(m: ModelConfig) -> int:
    """Bytes of one float32 clip of the model's shape."""
    return m.num_frames * m.resolution**2 * m.channels * 4


def gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_clip_size(m: ModelConfig) -> None:
    """``model.num_frames`` and the clip's size within MAX_FRAMES and MAX_CLIP_BYTES (ConfigError)."""
    if m.num_frames > MAX_FRAMES:
        raise ConfigError(f"model.num_frames={m.num_frames:,} is beyond the {MAX_FRAMES:,} frames dvdgan allows per "
                          "clip (the paper's longest clips have 48)")
    if clip_bytes(m) > MAX_CLIP_BYTES:
        raise ConfigError(f"model clips of {m.num_frames} x {m.resolution} x {m.resolution} take "
                          f"{gib(clip_bytes(m))} each as float32, more than the {gib(MAX_CLIP_BYTES)} dvdgan allows")


def check_micro_batch(micro: int, m: ModelConfig) -> None:
    """One forward pass's clips within MAX_BATCH_BYTES (ConfigError naming train.micro_batch as the way out)."""
    need = micro * clip_bytes(m)
    if need > MAX_BATCH_BYTES:
        raise ConfigError(f"train.batch_size: a forward micro-batch of {micro:,} clips of {m.num_frames} x "
                          f"{m.resolution} x {m.resolution} holds {gib(need)} of float32 clips, more than the "
                          f"{gib(MAX_BATCH_BYTES)} dvdgan allows; lower train.batch_size or set train.micro_batch "
                          f"(at most {max(1, MAX_BATCH_BYTES // clip_bytes(m)):,})")


def widths(m: ModelConfig) -> str:
    """The config keys that size the networks, for messages."""
    return (f"model.generator.ch={m.generator.ch}, model.discriminator.ch={m.discriminator.ch}, "
            f"model.num_classes={m.num_classes}")


def check_parameters(count: int, what: str, m: ModelConfig) -> None:
    """A network's size (parameters and buffers, counted on the meta device) within MAX_PARAMETERS."""
    if count > MAX_PARAMETERS:
        raise ConfigError(f"{what} would have {count / 1e9:,.1f} G parameters ({widths(m)}), more than the "
                          f"{MAX_PARAMETERS / 1e9:.0f} G dvdgan allows (the paper's generator has 0.5 G)")


def check_frame_size(width: int, height: int) -> str | None:
    """Why a frame of ``width x height`` is refused (None when it is within MAX_FRAME_PIXELS)."""
    if width * height > MAX_FRAME_PIXELS:
        return (f"frames of {width}x{height} are larger than the {MAX_FRAME_PIXELS / 1e6:.0f} M pixels "
                "(8192x8192) dvdgan decodes")
    return None
