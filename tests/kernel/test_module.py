"""The Lightning module of the multitask experiment: hand-written gradients, training through the
factory (breakpoints, frozen biases, paired inits) and a bit-identical resume after a kill."""

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from learndyn.kernel import multitask as mt
from learndyn.kernel.module import TaskNetsGD, sse_and_grads
from learndyn.kernel.runs import sample_run_data
from learndyn.train import checkpoint_files, resume_step
from learndyn.train.factory import fit_with_breakpoints


def test_sse_and_grads_match_autograd():
    std, large = mt.paired_inits(3, n_hidden=16)
    data = mt.sample_curriculum("Multi12All", 30, np.random.default_rng(0))
    for net in (std, large):
        loss, g1, g2 = sse_and_grads(net, data.x, data.y)
        ref = mt.sse(net(data.x), data.y)
        r1, r2 = torch.autograd.grad(ref, [net.W1, net.W2])
        assert float(loss) == pytest.approx(float(ref.detach()), rel=1e-5)
        assert torch.allclose(g1, r1, rtol=1e-4, atol=1e-6) and torch.allclose(g2, r2, rtol=1e-4, atol=1e-6)


def _sets(seed=0, n=40):
    d = sample_run_data(seed, n, n)
    return {
        "single_train": d["Single12All/train"],
        "single_test": d["Single12All/test"],
        "multi_train": d["Multi12All/train"],
        "multi_test": d["Multi12All/test"],
    }


def _module(T=20, every=5):
    std, large = mt.paired_inits(1, n_hidden=16)
    schedule = list(range(0, 2 * T + 1, every))
    return TaskNetsGD([std, large], [0.03, 0.01], _sets(), phase_steps=T, schedule=schedule, loss_every=5), schedule


def _fit(module, schedule, run_dir, callbacks=()):
    return fit_with_breakpoints(
        module,
        module.train_dataloader(),
        run_dir=run_dir,
        schedule=schedule,
        seed=0,
        fingerprint={"test": 1},
        provenance={},
        log=lambda m: None,
        extra_callbacks=callbacks,
    )


class Killed(RuntimeError):
    pass


class _Kill(pl.Callback):
    """Abort the fit once the module has passed ``at`` (a SIGKILL between two breakpoints)."""

    def __init__(self, at):
        self.at = at

    def on_train_batch_end(self, trainer, pl_module, *args):
        if pl_module.progress_step > self.at:
            raise Killed


def test_resume_after_kill_is_bit_identical(tmp_path):
    ref, schedule = _module()
    _fit(ref, schedule, tmp_path / "ref")
    # a killed run: past step 25 (inside phase 2), no manifest; it resumes from resume.ckpt
    killed = tmp_path / "killed"
    part, _ = _module()
    with pytest.raises(Killed):
        _fit(part, schedule, killed, callbacks=[_Kill(25)])
    assert not (killed / "checkpoints.parquet").exists()
    at_kill = resume_step(killed / "ckpt")
    assert 25 <= at_kill < 40 and max(checkpoint_files(killed / "ckpt")) == at_kill
    resumed, _ = _module()
    _fit(resumed, schedule, killed)
    assert torch.equal(resumed.curves, ref.curves)
    for a, b in zip(resumed.state_dict().values(), ref.state_dict().values()):
        assert torch.equal(a, b)
    assert resumed.optimizers().optimizer.param_groups[1]["lr"] == 0.01


def test_loss_every_must_divide_phase():
    std, large = mt.paired_inits(1, n_hidden=4)
    with pytest.raises(ValueError, match="loss_every"):
        TaskNetsGD([std, large], [0.1, 0.1], _sets(n=12), phase_steps=10, schedule=[0, 10, 20], loss_every=3)
    with pytest.raises(ValueError, match="one lr per net"):
        TaskNetsGD([std, large], [0.1], _sets(n=12), phase_steps=10, schedule=[0, 10, 20], loss_every=5)


def test_sweep_nets_extend_the_pair_bit_identically(tmp_path):
    """Sweep nets are scaled copies of Std's draw; training them alongside leaves Std/Large unchanged."""
    nets = mt.scaled_inits(1, 0.1, [1.0, 10.0, 0.5, 2.0], n_hidden=16)
    std, large = mt.paired_inits(1, n_hidden=16)
    assert torch.equal(nets[0].W1, std.W1) and torch.equal(nets[1].W2, large.W2)
    assert torch.equal(nets[2].W1, 0.5 * std.W1)
    pair, schedule = _module()
    _fit(pair, schedule, tmp_path / "pair")
    four = TaskNetsGD(nets, [0.03, 0.01, 0.01, 0.01], _sets(), phase_steps=20, schedule=schedule, loss_every=5)
    _fit(four, schedule, tmp_path / "four")
    assert torch.equal(four.curves[:, :2], pair.curves)
    assert torch.isfinite(four.curves).all() and four.curves.shape[1] == 4
