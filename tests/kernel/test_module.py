"""The Lightning module of the multitask experiment: hand-written gradients, training through the
factory (breakpoints, frozen biases, paired inits) and a bit-identical resume after a kill."""
import numpy as np
import pytest
import torch

from learndyn.kernel import multitask as mt
from learndyn.kernel.module import TaskNetsGD, sse_and_grads
from learndyn.kernel.runs import SETS, sample_run_data
from learndyn.train import checkpoint_files, load_checkpoint
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
    return {"single_train": d["Single12All/train"], "single_test": d["Single12All/test"],
            "multi_train": d["Multi12All/train"], "multi_test": d["Multi12All/test"]}


def _module(T=20, every=5):
    std, large = mt.paired_inits(1, n_hidden=16)
    schedule = list(range(0, 2 * T + 1, every))
    return TaskNetsGD([std, large], [0.03, 0.01], _sets(), phase_steps=T, schedule=schedule,
                      loss_every=5), schedule


def _fit(module, schedule, run_dir):
    return fit_with_breakpoints(module, module.train_dataloader(), run_dir=run_dir, schedule=schedule, seed=0,
                                fingerprint={"test": 1}, provenance={}, log=lambda m: None)


def test_training_two_phases_breakpoints_and_frozen_biases(tmp_path):
    module, schedule = _module()
    manifest = _fit(module, schedule, tmp_path)
    assert manifest.step.tolist() == schedule and module.progress_step == 40
    c = module.curves.numpy()
    assert np.isfinite(c).all() and c.shape == (9, 2, len(SETS))
    assert (c[4, :, 0] < c[0, :, 0]).all()  # single-task train loss falls in phase 1
    assert (c[8, :, 2] < c[4, :, 2]).all()  # multitask train loss falls in phase 2
    ck0 = load_checkpoint(tmp_path / manifest.file[0])["state_dict"]
    assert torch.equal(ck0["nets.1.W1"], 10 * ck0["nets.0.W1"])  # Large = 10 × Std at t = 0
    for net in module.nets:
        assert (net.b1 == -2).all() and (net.b2 == -2).all()
    # recorded losses are the nets' SSE at that step: check the end
    x, y = module.data("multi_test")
    assert c[-1, 0, 3] == pytest.approx(float(mt.sse(module.nets[0](x), y).detach()), rel=1e-6)


def test_resume_after_kill_is_bit_identical(tmp_path):
    ref, schedule = _module()
    _fit(ref, schedule, tmp_path / "ref")
    # a killed run: checkpoints only up to step 25 (inside phase 2), no manifest
    killed = tmp_path / "killed"
    part, _ = _module()
    _fit(part, schedule, killed)
    for step, path in checkpoint_files(killed / "ckpt").items():
        if step > 25:
            path.unlink()
    (killed / "checkpoints.parquet").unlink()
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
