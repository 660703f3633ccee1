"""Nested dataclass configuration, YAML presets and ``key.sub=value`` overrides.

Paper values (arXiv 1907.06571 v2, section 4) are the dataclass defaults; choices the paper does not state are
marked ``[ours]`` in the comments. Presets live in ``dvdgan/presets/*.yaml`` as overrides of these defaults.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import reprlib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dvdgan.protocols import get_protocol  # pure data: config imports nothing else of the package


class ConfigError(ValueError):
    """A configuration problem: unknown key, wrong type, invalid value or unknown preset."""


def paper_value(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING) -> Any:
    """A field whose default is the paper's model or recipe, so that any other value departs from the paper: an
    ``[ours flag]`` (a trick the paper does not have) or one of the paper's ablations. Every paper preset keeps
    these at their defaults; ``paper_value_fields`` lists them for that test, from this marker alone."""
    return field(default=default, default_factory=factory, metadata={"paper_value": True})


def paper_value_fields(cls: type | None = None, prefix: str = "") -> dict[str, Any]:
    """``{"model.generator.relu_slope": 0.0, ...}``: every ``paper_value`` field under ``cls`` (default the whole
    config) with its default."""
    cls = cls or DVDGANConfig
    out: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            out.update(paper_value_fields(hints[f.name], f"{prefix}{f.name}."))
        elif f.metadata.get("paper_value"):
            out[prefix + f.name] = f.default_factory() if f.default is dataclasses.MISSING else f.default
    return out


# --------------------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------------------


@dataclass
class GeneratorConfig:
    """Generator hyper-parameters [paper v2 section 3, Fig. 3]."""

    z_dim: int = 120  # [paper] noise dimension
    embed_dim: int = 120  # [paper] class embedding dimension; cond = [z; e(y)]
    # [ours] G uses z_scale * z. Every layer z reaches is spectrally normalised, so noise moves each CBN gain by
    # about +-1 whatever G learns; < 1 caps that (DVD-GAN-FP on a CPU budget: 1.0 drowns the context).
    z_scale: float = paper_value(1.0)
    ch: int = 96  # [ours, BigGAN] base width; level widths come from the BigGAN table
    gru_kernel: int = 3  # [ours] ConvGRU kernel size
    # [ours] initial bias of the ConvGRU update gate u (h' = u.h + (1-u).c); the paper does not give its gate
    # initialisation. 0 gives u = 0.5 at the start.
    gru_update_bias: float = paper_value(0.0)
    bn_eps: float = 1e-5  # [ours, BigGAN]
    bn_momentum: float = 0.1  # [ours, PyTorch default]
    # [BigGAN; the paper trains at batch 512 on TPU pods and builds on BigGAN] BN statistics over the batch of all
    # ranks (cross-replica BN) rather than each rank's micro-batch. Gradient accumulation still splits them: BN
    # sees micro_batch x world_size clips (docs/architecture.md section 4). No effect in one process.
    cross_replica_bn: bool = True
    # [ours flag] negative slope of G's activations (leaky ReLU); 0 is the paper's ReLU. See docs/results.md
    # section 14 for what a dead class looks like and what this does to it.
    relu_slope: float = paper_value(0.0)
    # [ours flag] DVD-GAN-FP only: G draws each predicted frame as a change of the last context frame,
    # tanh(atanh(last context) + head), instead of from scratch, tanh(head). Video prediction models commonly
    # predict changes (the paper does not say); at a CPU budget G otherwise loses the context's colours
    # (docs/results.md, the robot section).
    context_residual: bool = paper_value(False)

    def __post_init__(self) -> None:
        _positive(self, "z_dim", "embed_dim", "ch", "gru_kernel", "z_scale", "bn_eps")
        if not 0.0 < self.bn_momentum <= 1.0:
            raise ConfigError(f"model.generator.bn_momentum must be in (0, 1], got {self.bn_momentum}")
        if not 0.0 <= self.relu_slope < 1.0:
            raise ConfigError(f"model.generator.relu_slope must be in [0, 1), got {self.relu_slope}")
        if self.gru_kernel % 2 != 1:
            raise ConfigError(f"model.generator.gru_kernel must be odd, got {self.gru_kernel}")


D_PARTS = ("spatial", "temporal")  # D_S, D_T
TEMPORAL_INPUTS = ("frames", "differences", "both")


@dataclass
class DiscriminatorConfig:
    """Dual discriminator hyper-parameters [paper v2 section 3]."""

    ch: int = 96  # [ours, BigGAN] base width of D_S and D_T
    k_frames: int = paper_value(8)  # [paper] frames sampled per video for D_S
    temporal_pool: int = paper_value(2)  # [paper] phi = 2x2 average pooling before D_T
    # [ours flag] base width of D_T alone; 0 = ch (the paper's one width). At ch 4 D_T's head sees 16 channels
    # and its ReLUs die within ~200 steps (a constant score: no signal about motion); see docs/results.md.
    temporal_ch: int = paper_value(0)
    # [ours flag] what D_T sees: "frames" (the paper) or "differences" x[t+1] - x[t] of the pooled frames, so that
    # D_T judges motion alone and cannot separate real from fake by appearance, which is D_S's job; or "both":
    # each frame x[t+1] stacked with its difference (6 channels), so D_T sees what moves and whether it stays itself
    temporal_input: str = paper_value("frames")
    temporal_3d_blocks: int = paper_value(2)  # [paper] leading 3-D residual blocks of D_T
    # [paper] both; one alone is the ablation of which discriminator teaches what (D_S: frames, D_T: motion)
    parts: list[str] = paper_value(factory=lambda: ["spatial", "temporal"])

    def __post_init__(self) -> None:
        _positive(self, "ch", "k_frames", "temporal_pool")
        _choice(self, "temporal_input", TEMPORAL_INPUTS)
        if self.temporal_ch < 0:
            raise ConfigError(f"model.discriminator.temporal_ch must be >= 0 (0 = ch), got {self.temporal_ch}")
        if self.temporal_3d_blocks < 0:
            raise ConfigError("model.discriminator.temporal_3d_blocks must be >= 0")
        if not self.parts or len(set(self.parts)) != len(self.parts) or not set(self.parts) <= set(D_PARTS):
            raise ConfigError(f"model.discriminator.parts must be a non-empty subset of {list(D_PARTS)}, "
                              f"got {self.parts}")


@dataclass
class ModelConfig:
    """What the networks need to know: clip shape, classes, and the two sub-networks."""

    resolution: int = 64  # frame height = width; a power of two >= 16
    num_frames: int = 12  # frames in a clip (for DVD-GAN-FP: context + predicted)
    context_frames: int = 0  # DVD-GAN-FP conditioning frames C (0 = plain synthesis) [paper v1 section 3.2]
    num_classes: int = 600  # 0 = unconditional
    # The name of each class id, e.g. the class folders of a prepared store; empty: unknown (ids stand for them).
    # A model field, not a separate checkpoint entry, so that the names travel wherever the model config does
    # (checkpoints, config.yaml, an export's config.json, G.cfg) with no change to those formats, and old ones
    # without it still load. Training fills it from the data when left empty; it never changes the networks.
    class_names: list[str] = field(default_factory=list)
    channels: int = 3
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)

    def __post_init__(self) -> None:
        res = self.resolution
        if res < 16 or res & (res - 1):
            raise ConfigError(f"model.resolution must be a power of two >= 16, got {res}")
        if self.num_frames < 1:
            raise ConfigError(f"model.num_frames must be >= 1, got {self.num_frames}")
        if not 0 <= self.context_frames < self.num_frames:
            raise ConfigError(
                f"model.context_frames must be in [0, num_frames={self.num_frames}), got {self.context_frames}"
            )
        if self.num_classes < 0:
            raise ConfigError(f"model.num_classes must be >= 0, got {self.num_classes}")
        names = self.class_names
        if names and len(names) != self.num_classes:
            raise ConfigError(f"model.class_names has {len(names)} names for model.num_classes={self.num_classes}; "
                              "give one per class or none")
        if any(not isinstance(n, str) or not n.strip() for n in names) or len(set(names)) != len(names):
            raise ConfigError(f"model.class_names must be distinct non-empty strings, got {_short(names)}")
        if self.generator.context_residual and not self.context_frames:
            raise ConfigError("model.generator.context_residual needs model.context_frames > 0 (DVD-GAN-FP): it "
                              "predicts changes of the last context frame")
        if self.channels != 3:  # the generator's last layer and D's first are RGB
            raise ConfigError(f"model.channels must be 3 (the models make and judge RGB video), got {self.channels}")
        if self.discriminator.k_frames > self.generated_frames:
            raise ConfigError(
                f"model.discriminator.k_frames={self.discriminator.k_frames} exceeds the "
                f"{self.generated_frames} generated frames per clip"
            )
        if res % self.discriminator.temporal_pool:
            raise ConfigError("model.resolution must be divisible by model.discriminator.temporal_pool")

    @property
    def generated_frames(self) -> int:
        """Frames the generator emits (P for DVD-GAN-FP, T otherwise)."""
        return self.num_frames - self.context_frames


# --------------------------------------------------------------------------------------------------------------
# Data, training, evaluation
# --------------------------------------------------------------------------------------------------------------


@dataclass
class DataConfig:
    """Where clips come from [docs/architecture.md section 6]. ``source`` is a data spec string, see ``dvdgan.data``."""

    source: str = "shapes"  # shapes | motion | digits | folder:/path | prepared:/path | npz:/path
    frame_stride: int = 1  # temporal stride between sampled frames (Kinetics synthesis: 2 [paper])
    hflip: bool = paper_value(False)  # [ours flag] random horizontal flip of training clips
    num_workers: int = 0  # DataLoader worker processes
    split: str = "train"  # train | test | all (UCF-101 split files, Kinetics CSV)
    split_index: int = 1  # UCF-101 split 1..3
    annotations: str = ""  # Kinetics CSV file (label,youtube_id,time_start,time_end,split)
    length: int = 50_000  # virtual length of procedural datasets

    def __post_init__(self) -> None:
        _positive(self, "frame_stride", "length")
        if self.num_workers < 0:
            raise ConfigError("data.num_workers must be >= 0")
        _choice(self, "split", ("train", "test", "all"))


DEVICE_PATTERN = r"auto|cpu|mps|cuda(:\d+)?"
LOG_BACKENDS = ("tensorboard", "wandb")


@dataclass
class ExtraTermsConfig:
    """``train.extra_terms``: loss terms beyond the paper's hinge loss [ours] (``dvdgan.losses.ExtraTerms``), for
    small models on a CPU budget. All are 0 or off in the paper presets, which then train the paper's objective;
    the CPU presets (``tiny``, ``small``) turn them on."""

    # [ours flag] weight of a class loss on each discriminator head's projection (P2GAN's dual projection, Han
    # et al. 2021): the logits <embed(c), h> of every class c, cross-entropy against the label, for D on real
    # clips and for G on its own. The projection's embedding must then separate the classes by their look, and
    # G is told which class its clip shows (docs/results.md section 12). Paper: 0.
    class_loss: float = paper_value(0.0)
    # [ours flag] G's weight of that class loss on its own clips; None = class_loss. 0 trains D's projection to
    # classify without asking G to be classified (docs/results.md section 13). Like the cap below, it only acts
    # when class_loss > 0. Paper: unused.
    class_loss_g: float | None = paper_value(None)
    # [ours flag] G's class loss gives no gradient where it is worse than logits that say nothing (cross-entropy
    # above ln(classes)): there, fading the object towards an empty clip is its cheapest way down
    # (docs/results.md section 13). Paper: unused.
    class_loss_g_cap: bool = paper_value(False)
    # [ours flag] weight of a mode-seeking term for G (Mao et al. 2019, MSGAN): G's batch is drawn in pairs with one
    # label and two noises, and G is penalised by 1 / (|x1 - x2| / |z1 - z2| + eps) per pair, so a class whose clips
    # do not change with z (a flat fill) costs G much more than a varied one. No effect in DVD-GAN-FP
    # (model.context_frames > 0), whose clips each continue their own context. Paper: unused.
    mode_seeking: float = paper_value(0.0)

    def __post_init__(self) -> None:
        for name in ("class_loss", "mode_seeking"):
            if not 0.0 <= getattr(self, name) < math.inf:
                raise ConfigError(f"train.extra_terms.{name} must be a finite weight >= 0, got {getattr(self, name)}")
        if self.class_loss_g is not None and not 0.0 <= self.class_loss_g < math.inf:
            raise ConfigError("train.extra_terms.class_loss_g must be a finite weight >= 0 or null, "
                              f"got {self.class_loss_g}")

    @property
    def g_class_loss(self) -> float:
        """G's weight of the class loss: ``class_loss_g``, or ``class_loss`` when that is None."""
        return self.class_loss if self.class_loss_g is None else self.class_loss_g


@dataclass
class TrainConfig:
    """Optimisation recipe [paper v2 section 4]; defaults are the paper's."""

    steps: int = 300_000  # [paper] generator steps
    batch_size: int = 512  # [paper] global batch per D or G step
    lr_g: float = 1e-4  # [paper]
    lr_d: float = 5e-4  # [paper]
    betas: list[float] = field(default_factory=lambda: [0.0, 0.999])  # [ours, BigGAN]
    adam_eps: float = 1e-8  # [ours, BigGAN]
    d_steps: int = 2  # [paper] D steps per G step
    ema_decay: float = 0.9999  # [paper v1]
    ema_start: int = 20_000  # [paper v1] step from which the EMA accumulates

    # How the recipe runs on the hardware at hand
    micro_batch: int = 0  # per-rank forward batch; 0 = batch_size / world_size (no accumulation)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    precision: str = "fp32"  # fp32 | bf16 (autocast; GPUs, and CPUs with AVX512-BF16 or AMX: docs/benchmarks.md)
    compile: bool = False  # torch.compile G and D (GPUs; on a CPU it needs a C++ compiler, else a warning)
    # [ours; issue 15] speed switches, not departures: channels_last and fused_optimizer change float rounding only;
    # checkpoint_activations recomputes G's levels and D's blocks in the backward pass (memory for time).
    channels_last: bool = False  # conv weights and activations in NHWC / NDHWC
    fused_optimizer: bool = False  # Adam's fused kernel (default: foreach, the per-tensor loop's arithmetic)
    checkpoint_activations: bool = False
    threads: int = 0  # CPU threads for torch ops (0 = torch's default); 1 is faster for tiny models on busy CPUs

    # What the run writes
    log_every: int = 10
    sample_every: int = 500  # write a sample grid every N steps (0 = never)
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    eval_every: int = 0  # in-loop metrics every N steps (0 = never)
    truncation: float = 0.0  # sampling truncation for grids (0 = none)
    # where scalars and sample videos go besides stats.jsonl and metrics.jsonl (always written): tensorboard
    # (RUN/tensorboard) and wandb (Weights & Biases, the optional 'wandb' extra; WANDB_MODE=offline keeps it local)
    log_to: list[str] = field(default_factory=lambda: ["tensorboard"])

    # [ours] the CPU recipe's terms beyond the paper's hinge loss, all off here (the paper's objective)
    extra_terms: ExtraTermsConfig = field(default_factory=ExtraTermsConfig)

    def __post_init__(self) -> None:
        _positive(self, "steps", "batch_size", "d_steps", "log_every", "keep_checkpoints")
        for name in ("lr_g", "lr_d"):  # 0 is allowed: it freezes a network (tests compare gradients that way)
            if not 0.0 <= getattr(self, name) < math.inf:
                raise ConfigError(f"train.{name} must be a finite number >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.adam_eps < math.inf:
            raise ConfigError(f"train.adam_eps must be a finite number >= 0, got {self.adam_eps}")
        # numpy's legacy seeding takes [0, 2**32), and offsets such as seed + 12345 must stay within torch's 64 bits
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"train.seed must be an integer in [0, 2**32), got {self.seed}")
        if not 0.0 <= self.truncation < math.inf:
            raise ConfigError(f"train.truncation must be a finite number >= 0 (0 = none), got {self.truncation}")
        if self.threads < 0:  # was ignored: any value <= 0 meant torch's default
            raise ConfigError(f"train.threads must be >= 0 (0 = torch's default), got {self.threads}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"train.betas must be two numbers in [0, 1), got {self.betas}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"train.ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.micro_batch < 0:
            raise ConfigError("train.micro_batch must be >= 0")
        _choice(self, "precision", ("fp32", "bf16"))
        if not re.fullmatch(DEVICE_PATTERN, self.device):
            raise ConfigError(f"train.device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
        if not set(self.log_to) <= set(LOG_BACKENDS) or len(set(self.log_to)) != len(self.log_to):
            raise ConfigError(f"train.log_to: choose distinct backends from {list(LOG_BACKENDS)} (or none), "
                              f"got {self.log_to}")


@dataclass
class EvalConfig:
    """In-loop and ``dvdgan eval`` metrics [docs/architecture.md section 7]."""

    # fvd | is | kvd | class_acc | motion | travel; for DVD-GAN-FP also psnr_ssim and continuation
    metrics: list[str] = field(default_factory=lambda: ["fvd"])
    protocol: str = "fvd2048_16f"  # FVD protocol; the name carries the clip counts (fvd256_16f for quick checks)
    num_samples: int = 2048  # generated clips for class_acc
    batch_size: int = 8
    # [ours, BigGAN's standing statistics] before sampling and evaluation, G_ema's BN running statistics are
    # recomputed from this many of its own clips (0: the live G's statistics, which the EMA copies, although
    # G_ema's weights lag G's by ~1/(1 - ema_decay) steps). The paper does not say: a choice, not a departure
    # (the paper presets use 512, as BigGAN).
    standing_stats: int = 0

    def __post_init__(self) -> None:
        valid = ("fvd", "is", "kvd", "class_acc", "motion", "travel", "psnr_ssim", "continuation")
        # context_colour (a correlation of colours across clips, kinder than the eye) was replaced by continuation;
        # configs stored in older checkpoints and exports still load
        self.metrics = list(dict.fromkeys("continuation" if m == "context_colour" else m for m in self.metrics))
        bad = [m for m in self.metrics if m not in valid]
        if bad:
            raise ConfigError(f"eval.metrics: unknown {bad}; choose from {valid}")
        _positive(self, "num_samples", "batch_size")
        if self.standing_stats < 0:
            raise ConfigError(f"eval.standing_stats must be >= 0 (0 = off), got {self.standing_stats}")
        try:
            get_protocol(self.protocol)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"eval.protocol: {exc.args[0]}") from None


@dataclass
class DVDGANConfig:
    """The whole configuration of a run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        if self.train.extra_terms.class_loss and self.model.num_classes < 2:
            raise ConfigError("train.extra_terms.class_loss needs a class-conditional model with >= 2 classes "
                              f"(model.num_classes is {self.model.num_classes}); set train.extra_terms.class_loss=0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DVDGANConfig:
        return _build(cls, data, "")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def save(self, path: str | Path) -> None:
        """Write atomically: a run killed while saving keeps the previous ``config.yaml``, which resume reads."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.to_yaml())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> DVDGANConfig:
        return cls.from_dict(_read_yaml(Path(path)))

    def override(self, assignments: list[str]) -> DVDGANConfig:
        """Return a copy with ``a.b.c=value`` assignments applied (``_override_value``: YAML values, except that a
        string key takes the text as typed and nothing is ever a comment)."""
        values = {}
        for item in assignments:
            if "=" not in item:
                raise ConfigError(f"override {item!r} must look like key.sub=value")
            key, raw = item.split("=", 1)
            values[key.strip()] = _override_value(type(self), key.strip(), raw, item)
        return self.with_values(values)

    def with_values(self, values: dict[str, Any]) -> DVDGANConfig:
        """Return a copy with ``{"a.b.c": value}`` set as given (no YAML parsing: for paths and CLI values)."""
        data = self.to_dict()
        for key, value in _moved_values(values).items():
            _set_path(type(self), data, key, value)
        return type(self).from_dict(data)


def _override_value(cls: type, key: str, raw: str, item: str) -> Any:
    """The value of ``--set key=raw``. YAML gives numbers, booleans and lists their types, but a ``--set`` is one
    value, not a YAML file: a string key (a path such as ``folder:vids/good #2``) takes the text as typed, unquoted
    only when it is quoted; for other keys, text YAML would drop as a comment (`` # ...``) is an error, never a
    silent truncation."""
    text = raw.strip()
    if not text:
        return ""
    if _leaf_type(cls, MOVED_KEYS.get(key, key)) is str and text[0] not in "'\"":
        return text
    try:
        node = yaml.compose(text, Loader=_ConfigLoader)
        value = _load_yaml(text)
    except yaml.YAMLError as exc:
        reason = str(getattr(exc, "problem", None) or exc).splitlines()[0]
        raise ConfigError(f"override {item!r}: the value is not valid YAML ({reason})") from None
    rest = text[node.end_mark.index:].strip() if node is not None else text
    if rest:
        raise ConfigError(f"override {item!r}: {rest!r} after the value would be dropped as a YAML comment; "
                          "quote the value if it holds ' #', or leave the comment out")
    return value


def _leaf_type(cls: type, key: str) -> Any:
    """The type of config key ``a.b.c``, or None when it names no key (``with_values`` then says which)."""
    tp: Any = cls
    for part in key.split("."):
        if not dataclasses.is_dataclass(tp):
            return None
        tp = _hints(tp).get(part)
    return tp


# --------------------------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------------------------

DEFAULT_PRESET = "tiny"
PRESET_DIR = Path(__file__).parent / "presets"


def list_presets() -> list[str]:
    """Names of the presets shipped in ``dvdgan/presets``."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def paper_presets() -> list[str]:
    """The presets of the paper's own experiments: those whose first line cites the paper's table."""
    return [name for name in list_presets()
            if "[paper" in (PRESET_DIR / f"{name}.yaml").read_text().partition("\n")[0]]


def preset_dict(name: str) -> dict[str, Any]:
    """The preset's overrides of the config defaults (nested dict). Every preset stands alone: none inherits
    another, so a change to one (``tiny``) never ripples into the others."""
    names = list_presets()
    if name not in names:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(names)}")
    data = _load_yaml((PRESET_DIR / f"{name}.yaml").read_text()) or {}
    if "base" in data:
        raise ConfigError(f"preset {name!r} has a 'base:' key; presets stand alone (write every value out)")
    return data


def load_preset(name: str = DEFAULT_PRESET) -> DVDGANConfig:
    """Build the config of a named preset (``list_presets()`` lists them)."""
    return _build(DVDGANConfig, preset_dict(name), "")


def resolve_config(
    preset: str | None = None, config_file: str | Path | None = None, overrides: list[str] | None = None
) -> DVDGANConfig:
    """Preset (default ``tiny``), then a YAML file of overrides, then ``--set`` assignments."""
    data = preset_dict(preset or DEFAULT_PRESET)
    if config_file is not None:
        file_data = _read_yaml(Path(config_file))
        file_data.pop("base", None)
        # old keys renamed before the merge: a file's train.class_loss overrides the preset's new key, as it did
        data = _deep_merge(_moved(data), _moved(file_data))
    cfg = _build(DVDGANConfig, data, "")
    return cfg.override(overrides or [])


# --------------------------------------------------------------------------------------------------------------
# Helpers: building dataclasses from dicts with type checks
# --------------------------------------------------------------------------------------------------------------


MAX_YAML_DEPTH = 32  # a config nests 3 levels; 100,000 nested '[' overflowed the YAML composer's recursion


class _RefusedYAML(yaml.MarkedYAMLError):
    """Valid YAML that configs refuse (an alias, deep nesting): it could cost memory or a crash, never a value."""


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader without aliases, and nested at most MAX_YAML_DEPTH levels. Configs never need ``*alias``:
    nested aliases ("billion laughs") expand 355 bytes into 387 M list elements, gigabytes once anything walks
    them. Every config (``--config``, ``--set``, presets, a run's ``config.yaml``) is read with this loader."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _RefusedYAML(None, None, f"YAML alias *{event.anchor} refused (dvdgan configs take plain "
                               "values; aliases can expand a few bytes into gigabytes)", event.start_mark)
        if self._depth >= MAX_YAML_DEPTH:
            raise _RefusedYAML(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels (a config has 3)",
                               self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_ConfigLoader)  # a SafeLoader subclass: plain values only


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """One line: the problem and where (PyYAML's own message spans several lines and quotes the file)."""
    problem = str(getattr(exc, "problem", None) or exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}: {problem}" if mark is not None else problem


def _config_text(path: Path) -> str:
    """The text of a config file, or a ConfigError saying what ``path`` is instead of a YAML file: a directory or
    a FIFO was reported as missing, and reading a FIFO would wait for a writer forever."""
    expected = "expected a YAML file such as a run's config.yaml"
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory; {expected}")
    if not path.is_file():
        raise ConfigError(f"config file {path} is not a regular file (a FIFO, socket or device); {expected}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:  # latin-1 text or a binary file
        raise ConfigError(f"config file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{exc.start}); {expected}, saved as UTF-8") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    text = _config_text(path)
    try:
        data = _load_yaml(text) or {}
    except _RefusedYAML as exc:
        raise ConfigError(f"config file {path}: {_yaml_reason(exc)}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML ({_yaml_reason(exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


# Flags removed in issue 27, with the value that meant "off": measured as no help and set by no preset (their
# results stay in docs/results.md). Configs stored before (checkpoints, exports, shipped models) hold them at that
# value, which loads as if the key were absent; any other value asked for a model or recipe that no longer exists.
REMOVED_KEYS: dict[str, Any] = {
    "model.generator.bn_pool_time": False,
    "model.generator.tanh_grad_floor": 0.0,
    "train.temporal_negatives": [],
    "train.mismatched_labels": False,
}


def _is_removed_at_default(key: str, value: Any) -> bool:
    """True for a removed key (``REMOVED_KEYS``) at its old default; a ConfigError for one set to anything else."""
    if key not in REMOVED_KEYS:
        return False
    if value == REMOVED_KEYS[key]:
        return True
    raise ConfigError(f"{_removed(key)}; this config sets it to {_short(value)}, and only its old default "
                      f"{REMOVED_KEYS[key]!r} still loads")


def _removed(key: str) -> str:
    return f"config key {key} was removed in issue 27 (measured as no help: docs/results.md)"


# Keys moved in issue 27: the CPU recipe's terms beyond the paper's loss went into one sub-config, so that train's
# own keys read like the paper's recipe. Configs written before (checkpoints, a run's config.yaml, users' YAML
# files and --set lines) give the old names, which load as the new ones.
MOVED_KEYS: dict[str, str] = {
    "train.class_loss": "train.extra_terms.class_loss",
    "train.class_loss_g": "train.extra_terms.class_loss_g",
    "train.class_loss_g_cap": "train.extra_terms.class_loss_g_cap",
    "train.diversity": "train.extra_terms.mode_seeking",
}


def _both_names(old: str, new: str) -> ConfigError:
    # neither value is surely the one meant, so neither wins
    return ConfigError(f"config gives both {old} and {new}, one key under its old and new names (moved in issue "
                       f"27); keep {new} alone")


def _moved(data: Any) -> Any:
    """``data``, a whole config as a nested dict, with the old keys of ``MOVED_KEYS`` under their new names. The
    mappings on the way are copied: the caller's dict (a preset's, a checkpoint's) stays as it was."""
    for old, new in MOVED_KEYS.items():
        value = _lookup(data, old)
        if value is _ABSENT:
            continue
        if _lookup(data, new) is not _ABSENT:
            raise _both_names(old, new)
        data = _replaced(_replaced(data, old, _ABSENT), new, value)
    return data


def _moved_values(values: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b.c": value}`` assignments (``--set``) with the old keys of ``MOVED_KEYS`` under their new names."""
    out = {}
    for key, value in values.items():
        new = MOVED_KEYS.get(key, key)
        if new != key and new in values:
            raise _both_names(key, new)
        out[new] = value
    return out


_ABSENT = object()  # no value at a key (None is a value: class_loss_g: null)


def _lookup(data: Any, key: str) -> Any:
    """The value at dotted ``key`` of a nested dict, or ``_ABSENT``."""
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return _ABSENT
        data = data[part]
    return data


def _replaced(data: dict[str, Any], key: str, value: Any, prefix: str = "") -> dict[str, Any]:
    """A copy of ``data`` with ``value`` at dotted ``key`` (``_ABSENT``: the key removed), copying only the
    mappings on the way."""
    head, _, rest = key.partition(".")
    out = dict(data)
    if rest:
        node = out.get(head, {})
        if not isinstance(node, dict):  # as _build says it
            raise ConfigError(f"{prefix}{head} must be a mapping, got {type(node).__name__}")
        out[head] = _replaced(node, rest, value, f"{prefix}{head}.")
    elif value is _ABSENT:
        out.pop(head, None)
    else:
        out[head] = value
    return out


def _build(cls: type, data: Any, prefix: str) -> Any:
    where = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(data).__name__}")
    if not prefix:  # the whole config: MOVED_KEYS move keys between sections
        data = _moved(data)
    hints = _hints(cls)
    valid = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in valid and _is_removed_at_default(f"{prefix}{key}", value):
            continue
        if key not in valid:
            raise ConfigError(f"unknown config key {prefix}{_short(key)}; valid keys under {where}: "
                              f"{', '.join(valid)}")
        kwargs[key] = _coerce(value, hints[key], f"{prefix}{key}")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60


def _short(value: Any) -> str:
    """A repr for messages, at most 80 characters and computed in bounded time: a value may be 387 M elements
    through shared references (YAML aliases, a pickle's memo), and a full repr exhausted memory (issue 25)."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key + ".")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                pass
        raise ConfigError(f"config key {key!r}: {_short(value)} does not match {tp}")
    if origin in (list, tuple):
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key {key!r} expects a list, got {_short(value)}")
        return [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"config key {key!r} expects true/false, got {_short(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"config key {key!r} expects an integer, got {_short(value)}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"config key {key!r} expects a number, got {_short(value)}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"config key {key!r} expects a string, got {_short(value)}")
    return value


def _set_path(cls: type, data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node, node_cls = data, cls
    for i, part in enumerate(parts):
        names = [f.name for f in dataclasses.fields(node_cls)]
        if part not in names and key in REMOVED_KEYS:
            raise ConfigError(f"{_removed(key)}; leave it out")
        if part not in names:
            where = ".".join(parts[:i]) or "config"
            raise ConfigError(f"unknown config key {key!r}; valid keys under {where}: {', '.join(names)}")
        if i == len(parts) - 1:
            tp = _hints(node_cls)[part]
            if dataclasses.is_dataclass(tp):
                raise ConfigError(f"config key {key!r} is a section; set one of its keys instead")
            node[part] = value
        else:
            node_cls = _hints(node_cls)[part]
            if not dataclasses.is_dataclass(node_cls):
                raise ConfigError(f"config key {'.'.join(parts[: i + 1])!r} is not a section")
            node = node[part]


_SECTIONS = {"GeneratorConfig": "model.generator", "DiscriminatorConfig": "model.discriminator",
             "ModelConfig": "model", "DataConfig": "data", "TrainConfig": "train",
             "ExtraTermsConfig": "train.extra_terms", "EvalConfig": "eval"}


def _positive(obj: Any, *names: str) -> None:
    """Each field > 0; a float must also be finite (``not value > 0`` catches NaN, which every comparison fails,
    and ``lr_d=inf`` was accepted). The message names the key as it is set (``train.lr_d``)."""
    for name in names:
        value = getattr(obj, name)
        if not 0 < value < math.inf:
            expected = "> 0 and finite" if isinstance(value, float) else "> 0"
            raise ConfigError(f"{_SECTIONS.get(type(obj).__name__, type(obj).__name__)}.{name} must be {expected}, "
                              f"got {value}")


def _choice(obj: Any, name: str, choices: tuple[str, ...]) -> None:
    if getattr(obj, name) not in choices:
        raise ConfigError(f"{type(obj).__name__}.{name} must be one of {choices}, got {getattr(obj, name)!r}")
