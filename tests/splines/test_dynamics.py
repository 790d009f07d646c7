"""Gradient-flow dynamics in spline coordinates (splines.md, 'Gradient-flow dynamics'; T9, T10). Tolerances as in
'Automated tests'."""

import numpy as np
import pytest

from learndyn.splines import constructions as C
from learndyn.splines import dynamics as dy
from learndyn.splines import landscape as ls

D1_X = np.array([-1.0, -0.6, -0.1, 0.2, 0.7, 1.0])
D1_Y = np.array([0.0, 0.8, -0.5, 0.6, 1.0, 0.2])


def _rel_each(a, ref):
    """Componentwise relative error."""
    return float(np.max(np.abs(np.asarray(a) - ref) / np.abs(ref)))


@pytest.fixture(scope="module", params=[(0, "D3"), (1, "D1"), (2, "D1")])
def point(request):
    seed, name = request.param
    x, y = C.dataset_d3() if name == "D3" else (D1_X, D1_Y)
    p = C.generic_point(x, y, H=5, seed=seed)
    assert ls.distance_to_data(x, p["beta"]).min() >= 1e-3
    return p


def _nn(p):
    return p["x"], p["y"], p["w"], p["b"], p["v"], p["c"]


# ------------------------------------------------------------------------------------------------ T9


def test_t9_one_gd_step_matches_induced_velocities(point):
    x, y, w, b, v, c = _nn(point)
    beta_dot, mu_dot, c_dot = dy.induced_velocities(x, y, w, b, v, c)
    moving = ls.nn_active(x, w, b).any(axis=0)  # dead units have zero velocity; nothing relative to test
    assert moving.sum() >= 3
    assert np.all(np.abs(beta_dot[moving]) > 1e-4) and np.all(np.abs(mu_dot[moving]) > 1e-4)
    eta = 1e-7
    (w1, b1, v1, c1), _ = dy.gd_step(x, y, w, b, v, c, eta)
    beta0, mu0, _, _ = ls.spline_params_from_nn(w, b, v, c)
    beta1, mu1, _, _ = ls.spline_params_from_nn(w1, b1, v1, c1)
    assert _rel_each(((beta1 - beta0) / eta)[moving], beta_dot[moving]) < 1e-5
    assert _rel_each(((mu1 - mu0) / eta)[moving], mu_dot[moving]) < 1e-5
    assert np.all(beta1[~moving] == beta0[~moving]) and np.all(mu1[~moving] == mu0[~moving])
    assert abs((c1 - c) / eta - c_dot) <= 1e-5 * abs(c_dot)


def test_t9_metric_form_and_preconditioner(point):
    x, y, w, b, v, c = _nn(point)
    beta_dot, mu_dot, c_dot = dy.induced_velocities(x, y, w, b, v, c)
    mb, mm, mc = dy.metric_velocities(x, y, w, b, v, c)
    moving = ls.nn_active(x, w, b).any(axis=0)
    assert _rel_each(mb[moving], beta_dot[moving]) < 1e-10
    assert _rel_each(mm[moving], mu_dot[moving]) < 1e-10
    assert np.all(mb[~moving] == 0) and np.all(mm[~moving] == 0)
    assert abs(mc - c_dot) <= 1e-10 * abs(c_dot)  # spline-form vs NN-form residuals differ by rounding only
    # the metric form is the chain rule applied to the NN flow: J_phi (-grad_theta L)
    vel = -ls.phi_jacobian(w, b, v) @ ls.nn_gradient(x, y, w, b, v, c)
    H = w.size
    assert np.max(np.abs(vel[:H] - mb)) <= 1e-10 * np.max(np.abs(mb))
    assert np.max(np.abs(vel[H : 2 * H] - mm)) <= 1e-10 * np.max(np.abs(mm))
    P = dy.preconditioner(w, b, v)
    PJ = dy.preconditioner_from_jacobian(w, b, v)
    assert np.max(np.abs(P - PJ) / np.abs(PJ).max(axis=(1, 2), keepdims=True)) < 1e-12
    det = dy.preconditioner_det(w, b, v)
    assert np.all(det > 0)
    assert _rel_each(det, np.linalg.det(PJ)) < 1e-12


def test_closure_and_balanced_velocities(point):
    """(derivation) w^2, v^2 recovered from (beta, mu, delta); delta = 0 units follow the balanced formulas."""
    x, y, w, b, v, c = _nn(point)
    beta, mu, s, _ = ls.spline_params_from_nn(w, b, v, c)
    w2, v2 = dy.closure_from_spline(beta, mu, dy.balance_invariant(w, b, v))
    assert _rel_each(w2, w**2) < 1e-12 and _rel_each(v2, v**2) < 1e-12
    bal = C.rebalance(point)
    assert np.all(np.abs(dy.balance_invariant(bal["w"], bal["b"], bal["v"])) <= 1e-12 * (1 + bal["v"] ** 2))
    nb, nm, _ = dy.induced_velocities(*_nn(bal))
    bb, bm = dy.balanced_velocities(x, y, beta, mu, s, c)
    moving = ls.nn_active(x, w, b).any(axis=0)
    assert _rel_each(bb[moving], nb[moving]) < 1e-10 and _rel_each(bm[moving], nm[moving]) < 1e-10


# ----------------------------------------------------------------------------------------------- T10


def test_t10_per_step_identity():
    p = C.generic_point(D1_X, D1_Y, H=5, seed=3)
    x, y, w, b, v, c = _nn(p)
    eta = 0.1
    worst = 0.0
    for _ in range(200):
        (w1, b1, v1, c1), (gw, gb, gv, _) = dy.gd_step(x, y, w, b, v, c, eta)
        lhs = dy.balance_invariant(w1, b1, v1) - dy.balance_invariant(w, b, v)
        rhs = dy.delta_step_increment(gw, gb, gv, eta)
        scale = w**2 + b**2 + v**2 + eta**2 * (gw**2 + gb**2 + gv**2)
        worst = max(worst, float(np.max(np.abs(lhs - rhs) / scale)))
        w, b, v, c = w1, b1, v1, c1
    assert worst < 1e-12
    assert np.max(np.abs(rhs)) > 0  # the increment is not trivially zero


def test_t10_drift_is_first_order_in_eta():
    rng = np.random.default_rng(10)
    H = 6
    w, b = rng.uniform(-1, 1, H), rng.uniform(-1, 1, H)
    v = rng.normal(0.0, np.sqrt(3.0 / H), H)
    x, y, c, T = D1_X, D1_Y, 0.0, 20.0
    delta0 = dy.balance_invariant(w, b, v)
    drift = {}
    for eta in (2e-3, 1e-3, 5e-4, 2.5e-4):
        wT, bT, vT, _ = dy.gd_run(x, y, w, b, v, c, eta, int(round(T / eta)))
        drift[eta] = float(np.linalg.norm(dy.balance_invariant(wT, bT, vT) - delta0))
    assert drift[2.5e-4] > 0
    for eta in (2e-3, 1e-3, 5e-4):
        assert 1.7 <= drift[eta] / drift[eta / 2] <= 2.3
