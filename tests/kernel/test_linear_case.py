"""Validation cases: SMG deep linear net (O2, pseudo_kernel.md, 'Linear test case: Saxe, McClelland & Ganguli') and the
1-D ReLU net ('1-D one-step check')."""

import numpy as np
import pytest
import torch

from learndyn.kernel import linear_case as lc
from learndyn.kernel import pseudo_kernel as pk


def test_smg_data():
    d = lc.smg_data(seed=0)
    assert d.X.shape == (250, 4) and d.Y.shape == (250, 5)
    assert torch.allclose(d.X.T @ d.X, torch.eye(4, dtype=d.X.dtype), atol=1e-12)
    assert d.X.mean(0).abs().max() < 1e-12
    assert torch.allclose(torch.linalg.svdvals(d.W_star), d.s)
    assert d.s.tolist() == [90.0, 24.0, 7.0, 1.0]
    recon = sum(d.s[a] * torch.outer(d.U[:, a], d.V[:, a]) for a in range(4))
    assert torch.allclose(recon, d.W_star, atol=1e-10)
    assert torch.allclose(d.Y, d.X @ d.W_star)


def test_smg_net_and_predicted_map_change():
    net = lc.smg_net()
    assert [tuple(p.shape) for p in net.parameters()] == [(3, 4), (5, 3)]
    assert all(p.abs().max() <= 0.1 / np.sqrt(p.shape[1]) for p in net.parameters())
    again = lc.smg_net()
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters()))
    d = lc.smg_data()
    # ΔM̂ from the pseudo-kernel at e_q == −η (G2 W1 + W2 G1), the first-order change of W2 W1
    lr = 0.2
    dM = lc.predicted_map_change(net, d, lr)
    W1, W2 = net[0].weight, net[1].weight
    loss = lc.smg_objective_scale(d) * ((net(d.X) - d.Y) ** 2).sum()
    G1, G2 = torch.autograd.grad(loss, [W1, W2])
    assert torch.allclose(dM, -lr * (G2 @ W1 + W2 @ G1).detach(), atol=1e-14)


def test_mode_tracking_small_fast_scale():
    # 4× the learning rate on 1/4 of the epochs: the same stage-like sequence in 625 steps.
    d = lc.smg_data(seed=1)
    track = lc.track_smg(lc.smg_net(), d, lr=0.8, epochs=625, marked=(48,), kernel_every=125)
    assert track.loss.shape == (626,) and track.cos.shape == (626, 4)
    assert track.half_times[0] < track.half_times[1] < 625
    switch = lc.mode_switch_times(track.cos, 3)
    assert switch[0] <= 1 and track.half_times[0] < switch[1] < track.half_times[1] < switch[2]
    assert track.cos[48, 0] > 0.9
    assert track.marked[48].r["train"][0].argmax() == 0
    assert track.kernel_steps.tolist() == [0, 125, 250, 375, 500, 625]
    assert track.kernel_sv.shape == (6, 4) and track.ntk_sv.shape == (6, 4)
    assert set(track.sv_modes) == {"pseudo", "entk"} and np.abs(track.sv_modes["entk"]).max() <= 1
    # the raw eNTK of a linear net is symmetric PSD: its singular values are its eigenvalues, sorted
    assert (np.diff(track.ntk_sv, axis=1) <= 1e-9).all() and (track.ntk_sv >= 0).all()
    assert (np.diff(track.loss[track.loss.size // 2 :]) <= 1e-12).all()


@pytest.fixture(scope="module")
def smg_full():
    d = lc.smg_data(seed=0)
    return d, lc.track_smg(lc.smg_net(), d, lr=0.2, epochs=2500)


@pytest.mark.slow
def test_smg_stagelike_loss_and_half_times(smg_full):
    # (a) modes learned in order of s_α; τ_1, τ_2 within ±30 % of the authors' 190, 770.
    d, track = smg_full
    tau = track.half_times
    assert tau[0] < tau[1] < tau[2] and np.isinf(tau[3])  # width 3 < rank 4
    assert abs(tau[0] - 190) <= 0.3 * 190 and abs(tau[1] - 770) <= 0.3 * 770
    # stage-like: the loss falls fastest near each half-time, plateaus between
    drops = -np.diff(np.log(track.loss))
    assert drops[int(tau[0])] > 5 * drops[int((tau[0] + tau[1]) / 2)]
    assert track.loss[-1] < 0.01 * track.loss[0]


@pytest.mark.slow
def test_smg_predicted_direction_tracks_current_mode(smg_full):
    # (b) û aligns with mode 1 around t = 190, mode 2 around 770, then mode 3;
    # the switches bracket the loss drops.
    _, track = smg_full
    assert track.cos[190].argmax() == 0 and track.cos[190, 0] > 0.9
    assert track.cos[770].argmax() == 1 and track.cos[770, 1] > 0.9
    assert track.cos[-1].argmax() == 2
    switch = lc.mode_switch_times(track.cos, 3)
    tau = track.half_times
    assert tau[0] < switch[1] < tau[1] < switch[2]


@pytest.mark.slow
def test_smg_kernel_singular_vectors_match_mode_projections(smg_full):
    # (c) r(SV1, |x·u_1|) at 190 and r(SV2, |x·u_2|) at 770: largest over α, above 0.8.
    _, track = smg_full
    r190 = track.marked[190].r["train"]
    r770 = track.marked[770].r["train"]
    assert r190[0].argmax() == 0 and r190[0, 0] > 0.8
    assert r770[1].argmax() == 1 and r770[1, 1] > 0.8
    assert track.marked[190].abs_proj.shape == (4, 250)


def test_relu1d_case():
    x, y = lc.relu1d_data()
    assert x.shape == (6, 1) and y.squeeze().tolist() == [0, 0, 0, 1, 1, 1]
    net = lc.relu1d_net()
    assert not net[0].bias.requires_grad and net[0].weight.shape == (100, 1)
    state = torch.random.get_rng_state()
    again = lc.relu1d_net()
    assert torch.equal(torch.random.get_rng_state(), state)  # global RNG untouched
    assert torch.equal(net[0].weight, again[0].weight)
    b0 = net[0].bias.detach().clone()
    loss = lc.train_gd(net, x, y, 0.03, steps=300, objective_scale=1 / 6)
    assert loss[-1] < 0.5 * loss[0] and torch.equal(net[0].bias, b0)
    # the eNTK per training point, as in Fig. A(b): shape (grid, 6) for K = 1
    theta = pk.empirical_ntk(net, lc.relu1d_grid(50), x, diagonal=True)
    assert theta.shape == (50, 6, 1)


def test_mode_switch_times_sequential():
    cos = np.array([[0.2, 0.9, 0.1], [0.9, 0.2, 0.1], [0.9, 0.3, 0.1], [0.1, 0.9, 0.2], [0.1, 0.8, 0.3]])
    assert lc.mode_switch_times(cos).tolist() == [1.0, 3.0, np.inf]  # the t = 0 blip is ignored
