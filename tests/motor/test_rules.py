"""Rule laws, constants and one RLS step against the direct least-squares formula (motor.md, 'Learning rules' to
'Per-task hyperparameters', 'Expected outcomes and where to check them')."""

import numpy as np
import pytest

from learndyn.motor import rules
from learndyn.motor.reservoir import NumpyOps, TorchOps
from learndyn.motor.rules import Options, rule_params


def test_phi_odd_and_reward_half():
    x = np.array([-0.0016, -1e-4, 0.0, 1e-4, 0.0016])
    odd = rules.phi(x, "odd", np)
    np.testing.assert_allclose(odd, -5 * np.sign(x) * np.abs(x) ** 0.25)
    np.testing.assert_allclose(odd, -odd[::-1])
    assert odd[0] == pytest.approx(5 * 0.2)  # error fell: reward
    half = rules.phi(x, "reward_half", np)
    np.testing.assert_allclose(half, [1.0, 0.5, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("family,n,psi01", [(1, 0, 0.025), (2, 2, 0.01), (3, 3, 0.005)])
def test_psi_values(family, n, psi01):
    rp = rule_params(family, n, "supertrex", Options())
    assert rules.psi(np.array(0.1), rp) == pytest.approx(psi01)  # (10 * 0.1)^q = 1
    e = 1e-3
    assert rules.psi(np.array(e), rp) == pytest.approx(psi01 * (10 * e) ** rp.psi_exp)
    assert rp.psi_exp == (0.2 if family == 2 else 0.25)


def test_gate():
    th = 1.5e-3
    assert rules.gate(np.array(th), th, np) == pytest.approx(0.5)
    assert rules.gate(np.array(th - 1e-4), th, np) == pytest.approx(1.0, abs=1e-12)
    assert rules.gate(np.array(th + 1e-4), th, np) == pytest.approx(0.0, abs=1e-12)
    assert rules.gate_scalar(th + 1e-4, th) < rules.GATE_SKIP


def test_constants_scripts_and_modified():
    o, m = Options(), Options(variant="modified")
    t1 = rule_params(1, 0, "supertrex", o)
    assert (t1.eta, t1.c_w2, t1.a_z, t1.theta, t1.kappa, t1.phi_mode, t1.rls_target) == (
        5e-4,
        1.0,
        0.2,
        1.5e-3,
        0.5,
        "reward_half",
        "z2",
    )
    assert rule_params(1, 0, "supertrex", m).rls_target == "zbar"
    assert rule_params(1, 0, "rmhl", m).phi_mode == "odd"
    t2 = rule_params(2, 2, "supertrex", o)
    assert (t2.a_z, t2.theta, t2.kappa, t2.rls_target, t2.phi_mode) == (0.1, 1.5e-3, 0.5, "zbar", "odd")
    assert rule_params(2, 2, "rmhl", o).a_z == 0.2
    assert rule_params(2, 2, "supertrex", m).theta == 1.5e-2
    assert rule_params(2, 2, "supertrex", m).c_w2 == 1.0  # 2 segments: unchanged
    assert rule_params(2, 3, "supertrex", m).c_w2 == pytest.approx(0.1 / 3)
    t3 = rule_params(3, 3, "supertrex", o)
    assert (t3.c_w2, t3.theta, t3.kappa, t3.psi_scale) == (0.5, 1.5e-2, 0.9, 0.005)
    assert rule_params(3, 3, "supertrex", m).c_w2 == pytest.approx(0.5 / 3)
    assert rule_params(3, 3, "rmhl", Options(psi_scale_task3=0.025)).psi_scale == 0.025
    assert rule_params(1, 0, "force", o).force_log_sparse and not rule_params(1, 0, "force", m).force_log_sparse
    ro = m.resolved()
    assert (ro.cost_highpass, ro.test_cost_ref) == ("total", "track")
    with pytest.raises(ValueError):
        rule_params(2, 2, "force", o)
    with pytest.raises(ValueError):
        Options(phi_task1="bogus").resolved()


def test_update_first_ordering():
    # ebar <- 0.8 ebar_prev + 0.2 e first, so ehat = e - ebar = 0.8 (e - ebar_prev)
    ebar_prev, e = 0.3, 0.1
    ebar = rules.EBAR_KEEP * ebar_prev + (1 - rules.EBAR_KEEP) * e
    assert e - ebar == pytest.approx(0.8 * (e - ebar_prev))


@pytest.mark.parametrize("ops", [NumpyOps(), TorchOps()], ids=["numpy", "torch"])
def test_force_rls_equals_ridge_least_squares(ops):
    """K FORCE steps from P = I/10, W = 0: P = (10 I + R R^T)^-1 and W = F R^T P (ridge LS)."""
    rng = np.random.default_rng(0)
    N, d, K = 12, 2, 30
    R, F = rng.standard_normal((K, N)), rng.standard_normal((K, d))
    P, W = ops.asarray(np.eye(N) / 10), ops.zeros((d, N))
    for k in range(K):
        r, f = ops.asarray(R[k]), ops.asarray(F[k])
        z = W @ r  # a-priori output
        rules.force_update_(P, W, r, z - f, ops)
        if k == 0:  # one step, closed form
            P1 = np.linalg.inv(10 * np.eye(N) + np.outer(R[0], R[0]))
            np.testing.assert_allclose(ops.to_numpy(P), P1, atol=1e-12)
            np.testing.assert_allclose(ops.to_numpy(W), np.outer(F[0], R[0]) @ P1, atol=1e-12)
    Pd = np.linalg.inv(10 * np.eye(N) + R.T @ R)
    np.testing.assert_allclose(ops.to_numpy(P), Pd, atol=1e-8)
    np.testing.assert_allclose(ops.to_numpy(W), F.T @ R @ Pd, atol=1e-8)


def test_supertrex_gated_update_in_place():
    ops = NumpyOps()
    rng = np.random.default_rng(1)
    N, d = 10, 3
    P = np.eye(N) / 10
    P_id = P.ctypes.data
    W = np.zeros((d, N))
    r, s = rng.standard_normal(N), rng.standard_normal(d)
    G, kappa = 0.7, 0.9
    k = P @ r
    c = 1 / (1 + r @ k)
    P_expect = P - G * c * np.outer(k, k)
    W_expect = kappa * G * c * np.outer(s, k)
    rules.supertrex_update_(P, W, r, s, G, kappa, ops)
    assert P.ctypes.data == P_id  # updated in place
    np.testing.assert_allclose(P, P_expect, atol=1e-15)
    np.testing.assert_allclose(W, W_expect, atol=1e-15)
    # with G = 1 it is the plain RLS downdate: P = (10 I + r r^T)^-1
    P = np.eye(N) / 10
    rules.supertrex_update_(P, np.zeros((d, N)), r, s, 1.0, kappa, ops)
    np.testing.assert_allclose(P, np.linalg.inv(10 * np.eye(N) + np.outer(r, r)), atol=1e-12)


def test_w2_update():
    rng = np.random.default_rng(2)
    W2, z2, zbar, r = np.zeros((2, 3, 5)), rng.random((2, 3)), rng.random((2, 3)), rng.random((2, 5))
    coef = np.array([0.5, -2.0])
    rules.w2_update_(W2, coef, z2, zbar, r)
    for b in range(2):
        np.testing.assert_allclose(W2[b], coef[b] * np.outer(z2[b] - zbar[b], r[b]))
