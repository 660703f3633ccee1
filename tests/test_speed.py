"""Speed switches (issue 15) change nothing but float rounding: activation checkpointing, channels_last, fused Adam,
torch.compile; a training step makes no host-device sync. No timings here (benchmarks/ measures speed)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from _train_helpers import micro_cfg
from dvdgan.models import DualDiscriminator, Generator
from dvdgan.models.checkpointing import set_checkpointing
from dvdgan.training import speed
from dvdgan.training.loop import Trainer


def _g_and_d_grads(G, D, cfg) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """One G forward, D scores of the clips, backward; (loss, G grads, D grads) with a fixed seed."""
    torch.manual_seed(1)
    n = 3
    z = torch.randn(n, cfg.model.generator.z_dim)
    y = torch.randint(cfg.model.num_classes, (n,))
    loss = sum(s.sum() for s in D(G(z, y), y).values())
    loss.backward()
    grads = [{k: p.grad.clone() for k, p in m.named_parameters()} for m in (G, D)]
    return loss.detach(), *grads


def test_checkpointed_activations_give_the_same_gradients_and_state() -> None:
    cfg = micro_cfg()
    torch.manual_seed(0)
    G, D = Generator(cfg.model), DualDiscriminator(cfg.model)
    G2, D2 = copy.deepcopy(G), copy.deepcopy(D)
    set_checkpointing(G2, True)
    set_checkpointing(D2, True)
    loss, g, d = _g_and_d_grads(G, D, cfg)
    loss2, g2, d2 = _g_and_d_grads(G2, D2, cfg)
    assert torch.allclose(loss, loss2, rtol=1e-5, atol=1e-5)
    for ref, got in ((g, g2), (d, d2)):
        for k in ref:
            assert torch.allclose(ref[k], got[k], rtol=1e-4, atol=1e-6), k
    # The recomputation neither runs the SN power iteration again nor updates BN running statistics twice.
    for a, b in ((G, G2), (D, D2)):
        for (k, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            assert torch.allclose(x, y, rtol=1e-5, atol=1e-6), k


def _step_grads(tmp: Path, *sets: str) -> dict[str, torch.Tensor]:
    """Gradients (D's from its step, G's from its step) and state after one step at learning rate 0: Adam would
    turn float-rounding differences of near-zero gradients into full-size updates of either sign."""
    tr = Trainer(micro_cfg("train.steps=2", "train.lr_g=0", "train.lr_d=0", *sets), tmp, quiet=True)
    tr.train_step()
    out = {}
    for net, module in (("G", tr.G), ("D", tr.D)):
        out |= {f"{net}.grad.{k}": p.grad.contiguous() for k, p in module.named_parameters()}
        out |= {f"{net}.{k}": v.contiguous() for k, v in module.state_dict().items()}
    return out


@pytest.mark.parametrize("flag", ["train.channels_last=true", "train.checkpoint_activations=true"])
def test_speed_flags_train_as_the_default_does(tmp_path: Path, flag: str) -> None:
    ref = _step_grads(tmp_path / "ref")
    got = _step_grads(tmp_path / "flag", flag)
    assert ref.keys() == got.keys()
    # Another memory layout sums in another order. Gradients that are zero in exact arithmetic (a conv bias
    # followed by BN) are then rounding noise of the network's gradient scale, so atol follows that scale.
    scale = {net: max(v.abs().max().item() for k, v in ref.items() if k.startswith(f"{net}.grad.")) for net in "GD"}
    for k in ref:
        atol = 1e-6 * scale[k[0]] if ".grad." in k else 1e-6
        assert torch.allclose(ref[k], got[k], rtol=1e-4, atol=atol), f"{flag}: {k}"


def test_fused_adam_steps_as_foreach_adam() -> None:
    cfg = micro_cfg()
    torch.manual_seed(0)
    nets = [Generator(cfg.model) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    for flag, net in zip(("false", "true"), nets, strict=True):
        t = micro_cfg(f"train.fused_optimizer={flag}").train
        opt = speed.adam(net, 1e-3, t, torch.device("cpu"))
        assert bool(opt.defaults["fused"]) is (flag == "true") and bool(opt.defaults["foreach"]) is (flag == "false")
        torch.manual_seed(1)
        for _ in range(3):
            for p in net.parameters():
                p.grad = torch.randn_like(p)
            opt.step()
    for (k, a), b in zip(nets[0].named_parameters(), nets[1].parameters(), strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-7), k


def test_a_training_step_makes_no_host_device_sync(tmp_path: Path, monkeypatch) -> None:
    tr = Trainer(micro_cfg("train.steps=2", "train.micro_batch=2"), tmp_path, quiet=True)
    tr.train_step()  # creates Adam's step counters: host tensors by design (on a GPU too), read without a sync
    host_counters = {id(s["step"]) for opt in (tr.opt_G, tr.opt_D) for s in opt.state.values()}
    originals = {name: getattr(torch.Tensor, name) for name in ("item", "tolist", "__bool__")}

    def guard(name):
        def forbidden(self, *args, **kwargs):
            if id(self) not in host_counters:
                raise AssertionError(f"host-device sync inside a training step (Tensor.{name})")
            return originals[name](self, *args, **kwargs)
        return forbidden

    for name in originals:
        monkeypatch.setattr(torch.Tensor, name, guard(name))
    tr.train_step()
    monkeypatch.undo()
    stats = tr.totals.read()  # the one sync, at the log interval
    assert stats and all(isinstance(v, float) for v in stats.values())
    assert tr.totals.read() == {}  # a fresh window


def test_compile_without_a_cpu_compiler_warns_and_runs_eagerly(monkeypatch, capsys) -> None:
    monkeypatch.setattr(speed.shutil, "which", lambda name: None)
    G, D = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    assert speed.compile_networks(G, D, torch.device("cpu")) == (G, D)
    assert "needs a C++ compiler" in capsys.readouterr().err


@pytest.mark.skipif(speed.compiler_problem(torch.device("cpu")) is not None, reason="no C++ compiler here")
def test_compiled_generator_equals_eager() -> None:
    cfg = micro_cfg()
    torch.manual_seed(0)
    G = Generator(cfg.model).eval()  # eval: no SN/BN state updates, so both calls see the same weights
    z = torch.randn(2, cfg.model.generator.z_dim)
    y = torch.randint(cfg.model.num_classes, (2,))
    with torch.no_grad():
        eager = G(z, y)
        compiled = torch.compile(G)(z, y)
    assert torch.allclose(eager, compiled, rtol=1e-4, atol=1e-5)
