"""Pseudo-kernel: closed form vs torch.func (T1), raw-eNTK identity, one-step identity (T2)."""

import numpy as np
import pytest
import torch
from torch import nn

from learndyn.kernel import linear_case as lc
from learndyn.kernel import multitask as mt
from learndyn.kernel import pseudo_kernel as pk


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


@pytest.fixture(scope="module")
def small_env():
    train, test = mt.make_split("Single12All", seed=3, n_train=40, n_test=30)
    multi, _ = mt.make_split("Multi12All", seed=4, n_train=40, n_test=1)
    return train, test, multi


@pytest.mark.parametrize("init", ["std", "large"])
@pytest.mark.parametrize("method", ["jacobian", "jvp"])
def test_closed_form_matches_torch_func_float64(small_env, init, method):
    train, test, multi = small_env
    std, large = mt.paired_inits(seed=1, dtype=torch.float64)
    net = std if init == "std" else large
    for data in (train, multi):  # single-task and concurrent task cues
        x, y, xp = data.x.double(), data.y.double(), test.x.double()
        closed = pk.multitask_closed_form(net.W1, net.W2, xp, x, y)
        generic = pk.pseudo_kernel(net, xp, x, y, method=method)
        assert generic.shape == (30, 40, 9)
        assert rel(generic, closed) < 1e-10


def test_closed_form_matches_torch_func_float32(small_env):
    train, test, _ = small_env
    std, _ = mt.paired_inits(seed=2)
    closed = pk.multitask_closed_form(std.W1, std.W2, test.x, train.x, train.y)
    generic = pk.pseudo_kernel(std, test.x, train.x, train.y)
    assert rel(generic, closed) < 1e-5


def test_weights_only_selection_excludes_biases():
    net = lc.relu1d_net(freeze_biases=False)
    assert set(pk.select_params(net)) == {"0.weight", "2.weight"}
    assert set(pk.select_params(net, "trainable")) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert set(pk.select_params(net, ["2.bias"])) == {"2.bias"}
    assert set(pk.select_params(net, lambda n, p: n.startswith("0."))) == {"0.weight", "0.bias"}
    std, _ = mt.paired_inits(0, n_hidden=8)
    assert set(pk.select_params(std)) == {"W1", "W2"}  # frozen biases are buffers


def test_pseudo_kernel_is_residual_weighted_entk(small_env):
    # P_k(x, x_n) = Σ_m r_nm Θ_km(x, x_n), r_n = 2 (f(x_n) − y_n) for the summed SSE.
    train, test, _ = small_env
    std, _ = mt.paired_inits(seed=5, n_hidden=16, dtype=torch.float64)
    x, y, xp = train.x.double()[:12], train.y.double()[:12], test.x.double()[:10]
    theta = pk.empirical_ntk(std, xp, x)  # (Np, Nt, K, K)
    r = 2 * (std(x) - y).detach()
    assert rel(pk.pseudo_kernel(std, xp, x, y), torch.einsum("ijkm,jm->ijk", theta, r)) < 1e-10
    diag = pk.empirical_ntk(std, xp, x, diagonal=True)
    assert rel(diag, torch.diagonal(theta, dim1=2, dim2=3)) < 1e-12


def test_summed_kernel_is_sum_over_training_points(small_env):
    train, test, _ = small_env
    std, _ = mt.paired_inits(seed=6, dtype=torch.float64)
    x, y, xp = train.x.double(), train.y.double(), test.x.double()
    summed = pk.summed_pseudo_kernel(std, xp, x, y)
    assert rel(summed, pk.pseudo_kernel(std, xp, x, y).sum(1)) < 1e-10


def _error_ratios(errors):
    return [errors[i + 1] / errors[i] for i in range(len(errors) - 1)]


@pytest.mark.parametrize("init", ["std", "large"])
def test_one_step_identity_multitask(small_env, init):
    # c = 1 (summed SSE): Δf_true − (−η Σ_n P) = O(η²), so the relative error halves with η.
    _, test, multi = small_env
    std, large = mt.paired_inits(seed=7, dtype=torch.float64)
    net = std if init == "std" else large
    x, y, xp = multi.x.double(), multi.y.double(), test.x.double()
    b1 = net.b1.clone()
    errors = []
    for lr in (4e-3, 2e-3, 1e-3, 5e-4):
        d_true, d_pred = pk.one_step_check(net, xp, x, y, lr)
        errors.append(rel(d_pred, d_true))
    assert errors[-1] < 0.02
    for ratio in _error_ratios(errors):
        assert 0.4 < ratio < 0.6, errors
    assert torch.equal(net.b1, b1)  # one_step_check does not touch the model


def test_gd_step_moves_only_selected_params():
    net = lc.relu1d_net(freeze_biases=False, dtype=torch.float64)
    x, y = lc.relu1d_data(torch.float64)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    pk.gd_step(net, x, y, 0.03, params="weights", objective_scale=1 / 6)
    after = dict(net.named_parameters())
    assert not torch.equal(after["0.weight"], before["0.weight"])
    assert torch.equal(after["0.bias"], before["0.bias"])


def test_one_step_identity_relu1d():
    # Spec pseudo_kernel.md, '1-D one-step check': sup-norm relative error < 1e-2 at η = 0.03 (mean MSE, c = 1/N).
    x, y = lc.relu1d_data(torch.float64)
    grid = lc.relu1d_grid(1000, torch.float64)
    net = lc.relu1d_net(dtype=torch.float64)  # frozen biases, weights-only θ
    c = 1 / x.shape[0]
    sup, l2, at_train = [], [], []
    for lr in (0.03, 0.015, 0.0075):
        d_true, d_pred = pk.one_step_check(net, grid, x, y, lr, objective_scale=c)
        sup.append(rel(d_pred, d_true))
        l2.append(float((d_pred - d_true).norm() / d_true.norm()))
        t_true, t_pred = pk.one_step_check(net, x, x, y, lr, objective_scale=c)
        at_train.append(rel(t_pred, t_true))
    assert sup[0] < 1e-2
    # Halving η halves the error in L2 and at the data points. The grid sup-norm shrinks
    # more slowly: a grid point that a ReLU kink crosses carries an O(η) local error.
    for errs in (l2, at_train):
        for ratio in _error_ratios(errs):
            assert 0.4 < ratio < 0.6, errs
    assert sup[2] < sup[0]


def test_one_step_identity_needs_matching_param_sets():
    # Trainable biases + weights-only kernel: the identity fails at first order.
    x, y = lc.relu1d_data(torch.float64)
    net = lc.relu1d_net(freeze_biases=False, dtype=torch.float64)
    c, lr = 1 / 6, 1e-4
    pred_w = pk.predicted_change(pk.summed_pseudo_kernel(net, x, x, y), lr, c)
    pred_all = pk.predicted_change(pk.summed_pseudo_kernel(net, x, x, y, params="trainable"), lr, c)
    stepped = lc.relu1d_net(freeze_biases=False, dtype=torch.float64)
    pk.gd_step(stepped, x, y, lr, params="trainable", objective_scale=c)
    with torch.no_grad():
        d_true = stepped(x) - net(x)
    assert rel(pred_all, d_true) < 1e-3
    assert rel(pred_w, d_true) > 0.02  # ≈ 4 % here: the bias share of the step


def test_jvp_chunking_and_generic_module():
    # Any nn.Module: a small tanh MLP with 3 outputs; chunked vmap gives the same kernel.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)).double()
    x, y, xp = torch.randn(9, 5).double(), torch.randn(9, 3).double(), torch.randn(4, 5).double()
    full = pk.pseudo_kernel(net, xp, x, y, method="jvp")
    chunked = pk.pseudo_kernel(net, xp, x, y, method="jvp", chunk_size=2)
    jac = pk.pseudo_kernel(net, xp, x, y, method="jacobian", chunk_size=3)
    assert rel(chunked, full) < 1e-12 and rel(jac, full) < 1e-12
    # Brute force: one autograd backward per (probe, output) and per training example.
    ws = [net[0].weight, net[2].weight]
    brute = torch.zeros(4, 9, 3, dtype=torch.float64)
    for j in range(9):
        gl = torch.autograd.grad(((net(x[j : j + 1])[0] - y[j]) ** 2).sum(), ws)
        for i in range(4):
            for k in range(3):
                gf = torch.autograd.grad(net(xp[i : i + 1])[0, k], ws)
                brute[i, j, k] = sum((a * b).sum() for a, b in zip(gf, gl))
    assert rel(full, brute) < 1e-12
    assert np.isfinite(full.numpy()).all()
