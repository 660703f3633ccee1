"""The training loop [paper v2 section 4; docs/architecture.md section 4].

Per generator step: ``d_steps`` discriminator steps, each on a fresh real batch and fresh z/y, then one generator
step; hinge losses summed over D_S and D_T; Adam; EMA of G. Gradient accumulation reaches a preset's batch on
small hardware and DDP spreads it over ranks; ``batches.py`` makes every random draw independent of both, while G's
cross-replica BN sees micro-batch x world size clips (docs/architecture.md section 4).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from dvdgan.config import ConfigError, DVDGANConfig, ExtraTermsConfig
from dvdgan.data import build_dataset
from dvdgan.limits import check_clip_size, check_micro_batch
from dvdgan.losses import DOutputs, ExtraTerms, GOutputs, d_objective, g_objective, pair_labels
from dvdgan.models import DualDiscriminator, Generator
from dvdgan.models.layers import raw_sigma, set_power_iteration
from dvdgan.training import checkpoint as ckpt
from dvdgan.training.batches import BatchLayout, GlobalStream, RankBatchSampler, micro_seed
from dvdgan.training.distributed import all_gather_objects, barrier, init_distributed
from dvdgan.training.ema import EMA
from dvdgan.training.evaluate import standing_statistics
from dvdgan.training.logger import ProgressSummary, RunLogger
from dvdgan.training.metric_plan import check_metrics
from dvdgan.training.rundir import (
    ConsoleLog,
    RunLock,
    check_new_run_dir,
    set_aside_step_logs,
    truncate_step_logs,
)
from dvdgan.training.snapshot import Snapshotter
from dvdgan.training.speed import adam, apply_memory_format, set_activation_checkpointing
from dvdgan.training.step_stats import DeviceTotals, FiniteGuard, NonFiniteLossError

__all__ = ["NonFiniteLossError", "Trainer", "TrainResult", "train"]
from dvdgan.video import uint8_to_video


@dataclass
class TrainResult:
    step: int  # generator steps completed
    run_dir: Path
    stopped_early: bool  # interrupted by SIGINT/SIGTERM or max_steps
    last_checkpoint: Path | None
    stop_signal: int = 0  # the signal that stopped the run (a scheduler must not read it as done), else 0


class _StopFlag:
    """SIGINT/SIGTERM ask the loop to finish the current step, save and exit."""

    def __init__(self) -> None:
        self.requested = False
        self.signal = 0
        self._old: dict[int, object] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread (e.g. inside a test runner thread)
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:  # a second signal: stop now
            raise KeyboardInterrupt
        self.requested, self.signal = True, signum

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _signals_held(step: int):
    """SIGINT/SIGTERM wait until the checkpoint save inside is done, then take effect as they would have (the
    loop's ``_StopFlag``: stop after it, or stop now). A second Ctrl-C must not abandon the save the first one
    asked for: the save is atomic, so stopping half-way loses the steps it was writing."""
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        held.append(signum)
        with contextlib.suppress(RuntimeError, OSError):  # a print interrupted by the signal must not fail it
            print(f"{signal.Signals(signum).name}: finishing the checkpoint of step {step} first", file=sys.stderr)

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: nothing to hold
            old[sig] = signal.signal(sig, hold)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    for signum in held:  # the save is done: each signal now does what it would have done
        signal.raise_signal(signum)


# Below this many clips per BN batch G's output moves by more than ~6% of its std with the draw of the batch
# (benchmarks/bn_batch.py, docs/architecture.md section 4).
MIN_BN_BATCH = 64

# A few layers whose raw weights' spectral norms are logged (BigGAN's health signal: G's growing before collapse).
SIGMA_LAYERS = {
    "G": ("linear", "levels.0.gru.gates", "head_conv"),
    "D": ("spatial.trunk.blocks.0.conv1", "spatial.head.linear", "temporal.blocks3d.0.conv1", "temporal.head.linear"),
}


def layer_sigmas(G: nn.Module, D: nn.Module) -> dict[str, float]:
    """``sigma_<net>.<layer>``: the SN power iteration's estimate of each raw weight's largest singular value."""
    out = {}
    for net, module in (("G", G), ("D", D)):
        for name in SIGMA_LAYERS[net]:
            try:
                layer = module.get_submodule(name)
            except AttributeError:  # a discriminator left out (model.discriminator.parts) or no 3-D blocks
                continue
            out[f"sigma_{net}.{name}"] = raw_sigma(layer)
    return out


def extra_terms(e: ExtraTermsConfig, context_frames: int) -> ExtraTerms:
    """The weights of the objective's terms beyond the paper's hinge loss, from ``train.extra_terms``. DVD-GAN-FP
    has no mode-seeking term: each of its clips continues its own context, so no two share one to differ from."""
    return ExtraTerms(class_d=e.class_loss, class_g=e.g_class_loss, class_g_cap=e.class_loss_g_cap,
                      mode_seeking=0.0 if context_frames else e.mode_seeking)


def _unwrap(m: nn.Module) -> nn.Module:
    return m.module if isinstance(m, DDP) else m


def with_class_names(cfg: DVDGANConfig, dataset) -> DVDGANConfig:
    """``cfg`` with ``model.class_names`` taken from the data (a store's class folders, the procedural classes)
    when it sets none, so that grids, ``dvdgan sample --classes`` and exports know them; as is where the data has
    no usable names (unlabelled, unconditional model, names that are not distinct)."""
    m = cfg.model
    names = [str(n) for n in getattr(dataset, "class_names", ())]
    if m.class_names or not m.num_classes or len(names) != m.num_classes:
        return cfg
    try:
        return dataclasses.replace(cfg, model=dataclasses.replace(m, class_names=names))
    except ConfigError:  # e.g. an .npz whose class_names repeat: ids stand for the classes, as before
        return cfg


def check_sizes(cfg: DVDGANConfig, world_size: int) -> None:
    """Sizes a typo makes huge (issue 25), refused before the data, the networks or a step-0 checkpoint exist:
    frames and clip size, one forward micro-batch, each network's parameters (counted on the meta device)."""
    t = cfg.train
    check_clip_size(cfg.model)
    check_micro_batch(BatchLayout.create(t.batch_size, t.micro_batch, world_size, 1).micro, cfg.model)
    ckpt.check_network_sizes(cfg)


class Trainer:
    """Builds everything a run needs and runs steps; ``train()`` is the entry point."""

    def __init__(self, cfg: DVDGANConfig, run_dir: Path, resume: bool = False, quiet: bool = False,
                 console: ConsoleLog | None = None):
        self.cfg, self.run_dir, self.quiet, self.console = cfg, Path(run_dir), quiet, console
        self.dist, self.device = init_distributed(cfg.train.device)
        check_sizes(cfg, self.dist.world_size)
        t = cfg.train
        if t.threads > 0:
            torch.set_num_threads(t.threads)
        torch.manual_seed(t.seed)
        self.dataset = build_dataset(cfg.data, cfg.model.num_frames, cfg.model.resolution, seed=t.seed)
        ds_classes = int(getattr(self.dataset, "num_classes", 0))
        if cfg.model.num_classes > 0 and ds_classes != cfg.model.num_classes:
            raise ValueError(
                f"model.num_classes={cfg.model.num_classes} but data source {cfg.data.source!r} has {ds_classes} "
                f"classes; set model.num_classes={ds_classes} (0 trains unconditionally)"
            )
        cfg = self.cfg = with_class_names(cfg, self.dataset)
        if t.eval_every:
            check_metrics(cfg, self.dataset)  # now, not at the first evaluation hours later
        found = self._find_checkpoint() if resume else None
        self._build_networks(found)
        apply_memory_format((self.G, self.D, self.G_ema), t.channels_last)
        set_activation_checkpointing((self.G, self.D), t.checkpoint_activations)
        self.ema = EMA(self.G, self.G_ema, t.ema_decay, t.ema_start)
        self.opt_G = adam(self.G, t.lr_g, t, self.device)
        self.opt_D = adam(self.D, t.lr_d, t, self.device)
        self.totals, self.guard = DeviceTotals(self.device), FiniteGuard(self.device)
        self.context_frames = cfg.model.context_frames
        self.extra_terms = extra_terms(t.extra_terms, self.context_frames)
        self.layout = BatchLayout.create(
            t.batch_size, t.micro_batch, self.dist.world_size, t.d_steps + (1 if self.context_frames else 0)
        )
        self.step, self.saved_step, self.resumed_from = 0, -1, None
        if found is not None:
            self._resume(*found)
        self.G_train: nn.Module = self.G
        self.D_train: nn.Module = self.D
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            # DDP's default buffer broadcast keeps SN vectors and BN statistics identical across ranks.
            self.G_train = DDP(self.G, device_ids=ids)
            self.D_train = DDP(self.D, device_ids=ids)
        if t.compile:
            from dvdgan.training.speed import compile_networks

            self.G_train, self.D_train = compile_networks(self.G_train, self.D_train, self.device)
        self.autocast = (
            torch.autocast(self.device.type, dtype=torch.bfloat16) if t.precision == "bf16"
            else contextlib.nullcontext()
        )
        loader_kwargs = {"num_workers": cfg.data.num_workers, "pin_memory": self.device.type == "cuda"}
        if cfg.data.num_workers > 0:
            loader_kwargs.update(persistent_workers=True, prefetch_factor=4)
        sampler = RankBatchSampler(GlobalStream(len(self.dataset), t.seed), self.layout, self.dist.rank, self.step)
        self.loader = iter(torch.utils.data.DataLoader(self.dataset, batch_sampler=sampler, **loader_kwargs))
        main = self.dist.is_main
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            cfg.save(self.run_dir / "config.yaml")
            ckpt.remove_partial_saves(self.run_dir)
            if self.resumed_from is None:  # a new run where a killed one left logs: keep them aside
                for old, kept in set_aside_step_logs(self.run_dir):
                    print(f"kept the earlier {old.name} as {kept.name}", file=sys.stderr)
            truncate_step_logs(self.run_dir, self.step)  # steps a killed run logged after its last checkpoint
        self.logger = RunLogger(self.run_dir, enabled=main, log_to=t.log_to, config=cfg.to_dict())
        self._eval_dataset = None
        self.snapshots = Snapshotter(cfg, self.run_dir, self.dataset, self.device, enabled=main)

    # ----------------------------------------------------------------------------------------------------------
    def _find_checkpoint(self) -> tuple[Path, dict] | None:
        """The checkpoint a resumed run continues from (None: none yet, start at step 0), its model checked."""
        found = ckpt.latest_valid_checkpoint(self.run_dir, map_location="cpu")
        if found is None:
            files = ckpt.list_checkpoints(self.run_dir)
            if files:  # starting again at step 0 would silently throw away the run
                raise ckpt.CheckpointError(
                    f"none of the {len(files)} checkpoints in {files[0].parent} can be read (see the warnings); "
                    "move them away to start again from step 0"
                )
            raise ckpt.CheckpointError(nothing_to_resume(self.run_dir))  # other ranks (rank 0 checks in train())
        path, data = found
        stored = ckpt.config_from_checkpoint(data, path)
        # class names label the classes and change no weight: a run from before they were recorded resumes
        if dataclasses.replace(stored.model, class_names=self.cfg.model.class_names) != self.cfg.model:
            raise ckpt.CheckpointError(f"{path} was trained with a different model config; cannot resume")
        return found

    def _build_networks(self, found: tuple[Path, dict] | None) -> None:
        m = self.cfg.model
        if found is None:
            self.G = Generator(m).to(self.device)
            self.D = DualDiscriminator(m).to(self.device)
            self.G_ema = copy.deepcopy(self.G).eval()
            return
        # Built on the meta device and given the stored tensors: the checkpoint replaces every weight, so the
        # orthogonal initialisation (about 2 minutes for a paper-size G on a CPU) would be wasted.
        path, data = found
        self.G = ckpt.build_checked(lambda: Generator(m), data["G"], "G", path, self.device)
        self.D = ckpt.build_checked(lambda: DualDiscriminator(m), data["D"], "D", path, self.device)
        self.G_ema = ckpt.build_checked(lambda: Generator(m), data["G_ema"], "G_ema", path, self.device).eval()

    def _resume(self, path: Path, data: dict) -> None:
        self.opt_G.load_state_dict(data["opt_G"])
        self.opt_D.load_state_dict(data["opt_D"])
        t = self.cfg.train  # the config wins over the saved hyper-parameters: `--resume --set train.lr_d=` works
        for opt, lr in ((self.opt_G, t.lr_g), (self.opt_D, t.lr_d)):
            for group in opt.param_groups:
                group.update(lr=lr, betas=tuple(t.betas), eps=t.adam_eps)
        self.step = self.saved_step = int(data["step"])
        self.resumed_from = path
        rng = data.get("rng", [])
        if len(rng) == self.dist.world_size:
            ckpt.set_rng_state(rng[self.dist.rank])

    def save(self, collective: bool = True) -> Path | None:
        """Checkpoint the current step. ``collective=False`` (after a crash: other ranks may be gone) skips the
        gathering of every rank's RNG state; a resume then draws fresh random numbers."""
        if collective:  # a non-finite loss since the last log must not reach a checkpoint
            self.check_finite()
        rng = all_gather_objects(ckpt.rng_state(), self.dist) if collective else [ckpt.rng_state()]
        self.saved_step = self.step  # on every rank: they must agree on whether a final save is due
        if not self.dist.is_main:
            return None
        path = ckpt.checkpoint_path(self.run_dir, self.step)
        standing = self.cfg.eval.standing_stats if collective else 0  # after a crash: save, compute nothing
        with _signals_held(self.step):
            ckpt.save_checkpoint(
                path, self.cfg, self.step, g_ema_standing_stats=standing,
                G=self.G.state_dict(), D=self.D.state_dict(), G_ema=self._g_ema_state(standing),
                opt_G=self.opt_G.state_dict(), opt_D=self.opt_D.state_dict(), rng=rng,
                world_size=self.dist.world_size,
            )
            ckpt.prune_checkpoints(self.run_dir, self.cfg.train.keep_checkpoints, newest=path)
        return path

    def _g_ema_state(self, standing: int) -> dict[str, torch.Tensor]:
        """G_ema's state; with ``standing`` > 0 its BN statistics are its own (docs/architecture.md section 4), so that
        sampling from the checkpoint recomputes nothing. G_ema keeps the statistics the EMA copies from G."""
        if not standing:
            return self.G_ema.state_dict()
        with standing_statistics(self.G_ema, self.cfg, self.dataset, self.device):
            return {k: v.clone() if "running_" in k else v for k, v in self.G_ema.state_dict().items()}

    # ----------------------------------------------------------------------------------------------------------
    def _next_real(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        clips, labels = next(self.loader)
        video = uint8_to_video(clips.to(self.device, non_blocking=True))
        y = labels.to(self.device).long() if self.cfg.model.num_classes > 0 else None
        return video, y

    def _fake_inputs(self, n: int, real_y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(n, self.cfg.model.generator.z_dim, device=self.device)
        if self.cfg.model.num_classes == 0:
            return z, None
        if self.context_frames:  # DVD-GAN-FP continues a real clip: the continuation has that clip's class
            return z, real_y
        return z, torch.randint(self.cfg.model.num_classes, (n,), device=self.device)

    def _generate(self, G: nn.Module, z, y, real: torch.Tensor | None) -> torch.Tensor:
        if not self.context_frames:
            return G(z, y)
        context = real[:, : self.context_frames]
        return torch.cat([context, G(z, y, context=context)], dim=1)  # D sees context + prediction

    def _micro_steps(self, phase: int):
        """Per micro-batch: whether it is the last (the one that syncs DDP gradients); seeds each one's RNG."""
        lay = self.layout
        for a in range(lay.accum):
            g = a * lay.world_size + self.dist.rank
            torch.manual_seed(micro_seed(self.cfg.train.seed, self.step, phase, g))
            # One SN power iteration per network and step, whatever the accumulation (so runs agree across layouts).
            set_power_iteration(self.G, a == 0)
            set_power_iteration(self.D, a == 0)
            last = a == lay.accum - 1
            yield last

    def _no_sync(self, module: nn.Module, last: bool):
        return module.no_sync() if (isinstance(module, DDP) and not last) else contextlib.nullcontext()

    def _discriminate(self, D: nn.Module, videos: torch.Tensor, labels: torch.Tensor | None):
        """D's scores, and with ``train.extra_terms.class_loss`` its heads' class logits (else an empty dict), in
        fp32."""
        if not self.cfg.train.extra_terms.class_loss:
            return {k: v.float() for k, v in D(videos, labels).items()}, {}
        scores, logits = D(videos, labels, class_logits=True)
        return {k: v.float() for k, v in scores.items()}, {k: v.float() for k, v in logits.items()}

    def d_step(self, phase: int) -> None:
        self.opt_D.zero_grad(set_to_none=True)
        G = _unwrap(self.G_train)
        for last in self._micro_steps(phase):
            real, y = self._next_real()
            z, y_fake = self._fake_inputs(real.shape[0], y)
            with torch.no_grad(), self.autocast:
                fake = self._generate(G, z, y_fake, real)
            videos = torch.cat([real, fake.to(real.dtype)])  # one D pass over both: one SN power iteration
            labels = torch.cat([y, y_fake]) if y is not None else None
            with self._no_sync(self.D_train, last), self.autocast:
                scores, logits = self._discriminate(self.D_train, videos, labels)
                loss, terms = d_objective(DOutputs.split(scores, logits, real.shape[0]), y, self.extra_terms)
                (loss / self.layout.accum).backward()
            self.guard.observe(loss, self.step, "discriminator")  # on the device: no sync inside the step
            self.totals.add(terms, 1.0 / self.layout.accum / self.cfg.train.d_steps)
        self.opt_D.step()

    def g_step(self, phase: int) -> None:
        self.opt_G.zero_grad(set_to_none=True)
        D = _unwrap(self.D_train)  # D's weights are not trained here: no DDP gradient sync needed
        D.requires_grad_(False)
        try:
            for last in self._micro_steps(phase):
                real, real_y = self._next_real() if self.context_frames else (None, None)
                z, y = self._fake_inputs(self.layout.micro, real_y)
                if self.extra_terms.mode_seeking and y is not None:  # the mode-seeking term compares one label's clips
                    y = pair_labels(y)
                with self._no_sync(self.G_train, last), self.autocast:
                    fake = self._generate(self.G_train, z, y, real)
                    scores, logits = self._discriminate(D, fake, y)
                    loss, terms = g_objective(GOutputs(fake, z, y, scores, logits), self.extra_terms)
                    (loss / self.layout.accum).backward()
                self.guard.observe(loss, self.step, "generator")
                self.totals.add(terms, 1.0 / self.layout.accum)
        finally:
            D.requires_grad_(True)
        self.opt_G.step()

    def check_finite(self) -> None:
        """Raise NonFiniteLossError if any loss since the start went non-finite (a host-device sync)."""
        self.guard.raise_if_bad(str(self.run_dir / "checkpoints"))

    def train_step(self) -> None:
        """One generator step and its D steps; losses are summed into ``self.totals`` on the device."""
        for phase in range(self.cfg.train.d_steps):
            self.d_step(phase)
        self.g_step(self.cfg.train.d_steps)
        self.ema.update(self.step)
        self.step += 1
        self.totals.steps += 1

    # ----------------------------------------------------------------------------------------------------------
    def run(self, max_steps: int | None = None) -> TrainResult:
        t = self.cfg.train
        end = t.steps if max_steps is None else min(t.steps, self.step + max_steps)
        self.last_ckpt: Path | None = self.resumed_from  # a finished run resumed: nothing new to save
        self._announce(end)
        first_step = self.step
        if t.sample_every and self.resumed_from is None and self.step == 0:  # what G should learn, beside its samples
            self._guarded("real-data grid", lambda: self.snapshots.write_reals(self.logger))
        # A terminal (or a notebook) gets the bar; a log file (stderr redirected) a summary line now and then.
        interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
        self.summary = ProgressSummary(self.step, end, enabled=self.dist.is_main and not self.quiet
                                       and not interactive)
        bar = tqdm(total=end, initial=self.step, disable=not self.dist.is_main or self.quiet or self.summary.enabled,
                   desc="train", unit="it", dynamic_ncols=True)
        try:
            with _StopFlag() as stop:
                stopped = self._steps(end, bar, stop)
                if self.saved_step != self.step:
                    self.last_ckpt = self.save() or self.last_ckpt  # the final (or interrupted) state
            bar.close()
            if t.sample_every and self.step % t.sample_every:
                self._guarded("sample snapshot", lambda: self.snapshots.write(self.G_ema, self.step, self.logger))
            # A run that ends between two evaluations (one shorter than eval_every, too) is measured at its end.
            if t.eval_every and self.step % t.eval_every and self.step == t.steps > first_step and not stopped:
                self._guarded("evaluation", self._evaluate)
        except (NonFiniteLossError, KeyboardInterrupt, ckpt.CheckpointError):
            raise  # a broken state, "stop now", or a save that just failed: nothing to save
        except Exception:
            self._save_after_crash()
            raise
        finally:
            bar.close()
            self.logger.close()
        # Ranks leave together: a gloo rank that tears down its process group while another is still saving or
        # sampling has aborted that one ("terminate called without an active exception", seen in the DDP test).
        barrier(self.dist)
        result = TrainResult(self.step, self.run_dir, stopped or self.step < t.steps, self.last_ckpt, stop.signal)
        self._report(result)
        return result

    def _steps(self, end: int, bar: tqdm, stop: _StopFlag) -> bool:
        """Train to ``end``; True when a signal stopped it first."""
        t = self.cfg.train
        self.totals.read()  # a fresh window
        window_t = time.perf_counter()
        while self.step < end:
            self.train_step()
            bar.update(1)
            if self.step % t.log_every == 0 or self.step == end:
                self.check_finite()  # the window's only host-device syncs: this and reading the totals
                window_n = self.totals.steps
                stats = self._mean_over_ranks(self.totals.read())
                elapsed = time.perf_counter() - window_t
                stats["loss_d"] = sum(v for k, v in stats.items() if k.startswith("d_"))
                stats["loss_g"] = sum(v for k, v in stats.items() if k.startswith("g_"))
                stats["sec_per_step"] = elapsed / window_n
                stats.update(layer_sigmas(self.G, self.D))
                self.logger.stats(self.step, stats)
                bar.set_postfix(d=f"{stats['loss_d']:.3f}", g=f"{stats['loss_g']:.3f}")
                self.summary.update(self.step, stats)
                window_t = time.perf_counter()
            if any(every and self.step % every == 0 for every in (t.checkpoint_every, t.sample_every, t.eval_every)):
                self.check_finite()  # nothing is saved, sampled or evaluated from a broken state
            # The checkpoint first: an evaluation that fails or is killed then costs no training.
            if t.checkpoint_every and self.step % t.checkpoint_every == 0:
                self.last_ckpt = self.save() or self.last_ckpt
            if t.sample_every and self.step % t.sample_every == 0:
                self._guarded("sample snapshot", lambda: self.snapshots.write(self.G_ema, self.step, self.logger))
            if t.eval_every and self.step % t.eval_every == 0:
                self._guarded("evaluation", self._evaluate)
            if self._should_stop(stop.requested):
                return True
        return False

    def _guarded(self, what: str, job) -> None:
        """Run an evaluation or snapshot; its failure is logged (traceback in log.txt) and training goes on."""
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - a metric or a video writer must never end hours of training
            where = "traceback below"
            if self.console is not None:
                self.console.note(traceback.format_exc())
                where = f"traceback in {self.run_dir / 'log.txt'}"
            else:
                traceback.print_exc()
            message = str(exc).splitlines()[0] if str(exc) else ""
            tqdm.write(f"warning: {what} at step {self.step} failed ({type(exc).__name__}: {message}); {where}; "
                       "training goes on", file=sys.stderr)

    def _save_after_crash(self) -> None:
        """An unexpected error ends the run: keep the steps since the last checkpoint, unless the state is broken."""
        finite = all(torch.isfinite(v).all() for m in (self.G, self.D, self.G_ema)
                     for v in m.state_dict().values() if v.is_floating_point())
        if self.step == self.saved_step or not finite or self.guard.seen_bad():
            return
        try:
            path = self.save(collective=False)  # other ranks may be gone: no collective calls
        except ckpt.CheckpointError as exc:
            print(f"warning: could not save step {self.step} after the error: {exc}", file=sys.stderr)
            return
        if path is not None:
            print(f"saved step {self.step} to {path} before stopping on an error", file=sys.stderr)

    def _announce(self, end: int) -> None:
        """The start-up lines: where, on what, with which model and data, from which step, measuring what."""
        if not self.dist.is_main:
            return
        t, e = self.cfg.train, self.cfg.eval
        start = (f"resumed from step {self.step} ({self.resumed_from})" if self.resumed_from is not None
                 else f"starting at step {self.step}")
        ranks = f" x {self.dist.world_size} ranks" if self.dist.enabled else ""
        params = [sum(p.numel() for p in m.parameters()) for m in (self.G, self.D)]
        metrics = "no in-loop metrics (train.eval_every=0)"
        if t.eval_every:
            video = any(m in ("fvd", "is", "kvd") for m in e.metrics)
            metrics = (f"metrics every {t.eval_every} steps and at the last: {', '.join(e.metrics)}"
                       f"{f' ({e.protocol})' * video}")
        print(f"run {self.run_dir}: {start}, training to step {end}\n"
              f"device {self.device}{ranks}, {torch.get_num_threads()} CPU threads; "
              f"G {params[0]:,} parameters, D {params[1]:,}\n"
              f"data {self.cfg.data.source}: {_describe_data(self.dataset)}; {metrics}{self._bn_note()}",
              file=sys.stderr)

    def _bn_note(self) -> str:
        """A start-up line when G's batch norm sees less than the whole batch, as the paper's does."""
        lay, cross = self.layout, self.cfg.model.generator.cross_replica_bn
        clips = lay.micro * (lay.world_size if cross else 1)
        if clips >= lay.batch_size:
            return ""
        how = f"micro-batches of {lay.micro}"
        if lay.world_size > 1:
            how += f" x {lay.world_size} ranks" if cross else " per rank (model.generator.cross_replica_bn=false)"
        note = f"\nG's batch norm: statistics over {clips} of the batch's {lay.batch_size} clips ({how})"
        if clips < MIN_BN_BATCH:
            note += f"; below {MIN_BN_BATCH} the draw of the batch moves G's output (docs/architecture.md section 4)"
        return note

    def _report(self, result: TrainResult) -> None:
        if not self.dist.is_main:
            return
        if result.stop_signal:
            state = f"stopped by {signal.Signals(result.stop_signal).name} at step {result.step}"
        elif result.stopped_early:
            state = f"stopped at step {result.step} of {self.cfg.train.steps}"
        else:
            state = f"finished at step {result.step}"
        print(f"{state}; checkpoint {result.last_checkpoint}; samples in {self.run_dir / 'samples'}", file=sys.stderr)
        if result.stopped_early:
            print(f"continue with: dvdgan train --resume --out {self.run_dir}", file=sys.stderr)

    def _mean_over_ranks(self, values: dict[str, float]) -> dict[str, float]:
        """Each rank's losses are those of its shard of the batch; the logged ones are the global batch's mean."""
        if not self.dist.enabled:
            return values
        keys = sorted(values)
        total = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return dict(zip(keys, (total / self.dist.world_size).tolist(), strict=True))

    def _should_stop(self, requested: bool) -> bool:
        if not self.dist.enabled:
            return requested
        flag = torch.tensor([1.0 if requested else 0.0], device=self.device)
        dist.all_reduce(flag)
        return bool(flag.item() > 0)

    def _evaluate(self) -> None:
        from dvdgan.training.evaluate import evaluate_generator

        # Every rank evaluates its share of the clips (evaluate_generator merges them); rank 0 alone logs.
        if self._eval_dataset is None:
            # Another seed: procedural sets then give clips (and DVD-GAN-FP contexts) that training never saw.
            c = self.cfg
            self._eval_dataset = build_dataset(c.data, c.model.num_frames, c.model.resolution, seed=c.train.seed + 1)
        results = evaluate_generator(self.G_ema, self.cfg, self._eval_dataset, self.device, in_loop=True)
        self.logger.metrics(self.step, results)


def train(
    cfg: DVDGANConfig,
    run_dir: str | Path,
    resume: bool = False,
    max_steps: int | None = None,
    quiet: bool = False,
) -> TrainResult:
    """Train ``cfg`` writing into ``run_dir`` (config.yaml, stats.jsonl, samples/, checkpoints/, tensorboard/,
    log.txt). A new run needs a new or empty directory (or one a run left before its first checkpoint); the
    directory is locked while the run writes."""
    run_dir = Path(run_dir)
    if int(os.environ.get("RANK", "0")) != 0:  # rank 0 alone guards the run directory and keeps its log
        return Trainer(cfg, run_dir, resume=resume, quiet=quiet).run(max_steps=max_steps)
    if resume and not ckpt.list_checkpoints(run_dir):  # before the lock and log.txt: write nothing there
        raise ckpt.CheckpointError(nothing_to_resume(run_dir))
    if not resume:
        check_new_run_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_dir)
    console = ConsoleLog(run_dir)
    try:
        return Trainer(cfg, run_dir, resume=resume, quiet=quiet, console=console).run(max_steps=max_steps)
    except BaseException as exc:
        expected = isinstance(exc, (ValueError, NonFiniteLossError, KeyboardInterrupt))  # one line says it all
        console.note(f"error: {type(exc).__name__}: {exc}" if expected else traceback.format_exc())
        raise
    finally:
        console.close()
        lock.release()


def nothing_to_resume(run_dir: Path) -> str:
    """A resume with no checkpoint is an error, not a silent start from step 0 over the directory's logs: the
    directory may be another program's, and a run killed before its first checkpoint is restarted on purpose."""
    return (f"--resume: {run_dir} holds no checkpoint to resume; to start a run there from step 0, leave out "
            f"--resume (e.g. dvdgan train --config {Path(run_dir) / 'config.yaml'} --out {run_dir}; earlier step "
            "logs are kept aside as stats.N.jsonl)")


def _describe_data(dataset) -> str:
    """``12 videos, 3 classes`` (video sources) or ``50,000 clips, 9 classes`` (procedural, made on the fly)."""
    kind = "videos" if hasattr(dataset, "source") else "procedural clips"
    classes = int(getattr(dataset, "num_classes", 0))
    return f"{len(dataset):,} {kind}, " + (f"{classes} classes" if classes else "unlabelled")

