"""Spec splines.md, 'Automated tests' T1–T4: the spline reparametrisation φ, its piecewise form and its inverse."""

import numpy as np
import pytest
import torch

from learndyn.splines.spline import (
    evaluate_pieces,
    evaluate_spline,
    network_forward,
    network_from_spline,
    spline_from_network,
    spline_pieces,
    tail_slopes,
)


def fixture_net(seed=0, H=40):
    """Random net plus every splines.md, 'Spline reparametrization' edge case: w = 0, coincident knots with opposite s
    (a visible and an invisible merged jump), v = 0, out-of-hull knots and one far unit. Dyadic values keep coincident
    breakpoints bitwise equal."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(-2, 2, H)
    beta = np.concatenate([rng.uniform(-3, 3, H - 8), rng.uniform(-40, 40, 8)])  # 8 out of hull
    b = -w * beta
    v = rng.normal(0, 1, H)
    extra = np.array(
        [
            # w,      b,      v
            [0.0, 0.7, 1.3],  # w = 0, folds v[b]_+ into c~
            [0.0, -0.4, 2.0],  # w = 0, folds nothing
            [2.0, -1.0, 0.6],  # β = 0.5, s = +1
            [-1.0, 0.5, -0.3],  # β = 0.5, s = −1 (merged jump 1.2 − 0.3 = 0.9)
            [4.0, -1.0, 0.25],  # β = 0.25, s = +1, μ = 1
            [-0.5, 0.125, -2.0],  # β = 0.25, s = −1, μ = −1: invisible merged knot
            [1.5, 0.3, 0.0],  # v = 0: invisible knot
            [1e-14, 0.8, 0.9],  # far unit (|β| = 8e13), active everywhere
            [-1e-14, 0.2, -0.7],  # far unit facing left, active everywhere
            [1e-14, -0.5, 1.1],  # far unit, dead on every finite grid
        ]
    )
    w, b, v = (np.concatenate([a, extra[:, j]]) for j, a in enumerate((w, b, v)))
    return w, b, v, 0.37


def eval_grid(sp):
    knots = sp.breakpoint[np.abs(sp.breakpoint) <= 50]
    return np.concatenate([np.linspace(-50, 50, 20001), knots, knots + 1e-9, knots - 1e-9])


def tol(f):
    return 1e-12 * (1 + np.max(np.abs(f)))


def test_t1_spline_exactness():
    w, b, v, c = fixture_net()
    sp = spline_from_network(w, b, v, c)
    x = eval_grid(sp)
    f_net = network_forward(w, b, v, c, x)
    assert len(sp) == w.size - 2 and sp.offset == pytest.approx(c + 1.3 * 0.7, abs=1e-15)
    assert sp.far.sum() == 3 and np.all(np.abs(sp.breakpoint[sp.far]) > 1e13)
    assert np.max(np.abs(evaluate_spline(sp, x) - f_net)) <= tol(f_net)
    assert np.max(np.abs(evaluate_pieces(spline_pieces(sp), x) - f_net)) <= tol(f_net)
    # torch float64 nn.Linear(1,H) -> ReLU -> nn.Linear(H,1), the training model's forward
    net = torch.nn.Sequential(torch.nn.Linear(1, w.size), torch.nn.ReLU(), torch.nn.Linear(w.size, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(w)[:, None]), net[0].bias.copy_(torch.tensor(b))
        net[2].weight.copy_(torch.tensor(v)[None, :]), net[2].bias.fill_(c)
        f_torch = net(torch.tensor(x)[:, None])[:, 0].numpy()
        sp_t = spline_from_network(net[0].weight[:, 0], net[0].bias, net[2].weight[0], net[2].bias)
    assert np.max(np.abs(evaluate_pieces(spline_pieces(sp_t), x) - f_torch)) <= tol(f_torch)


def test_t1_wide_random_net():
    rng = np.random.default_rng(1)
    H = 3000
    w, b = rng.uniform(-1, 1, (2, H))
    v = rng.normal(0, 1 / np.sqrt(3 * H), H)
    x = rng.uniform(-50, 50, 4000)
    f_net = network_forward(w, b, v, 0.1, x, chunk_size=300)
    sp = spline_from_network(w, b, v, 0.1)
    assert np.max(np.abs(evaluate_pieces(spline_pieces(sp), x) - f_net)) <= tol(f_net)
    assert np.max(np.abs(evaluate_spline(sp, x) - f_net)) <= tol(f_net)


def test_t2_piecewise_form():
    w, b, v, c = fixture_net(seed=2)
    sp = spline_from_network(w, b, v, c)
    P = spline_pieces(sp)
    x = eval_grid(sp)
    f_net = network_forward(w, b, v, c, x)
    assert np.max(np.abs(evaluate_pieces(P, x) - f_net)) <= tol(f_net)
    assert P.n_pieces == np.unique(sp.breakpoint).size + 1 == P.knots.size + 1
    assert np.all(np.diff(P.knots) > 0)
    i25 = np.flatnonzero(P.knots == 0.25)[0]
    i5 = np.flatnonzero(P.knots == 0.5)[0]
    assert P.invisible[i25] and P.jumps[i25] == 0.0 and P.multiplicity[i25] == 2
    assert not P.invisible[i5] and P.jumps[i5] == pytest.approx(0.9, abs=1e-15)
    i_v0 = np.flatnonzero(P.knots == sp.breakpoint[sp.delta_slope == 0][0])[0]
    assert P.invisible[i_v0]
    # active-sum form (the pieces) equals the cumsum recursion m_k = m_left + ΣJ, a_k = a_0 − ΣJκ
    m_left, m_right = tail_slopes(sp)
    a0 = sp.offset + np.sum(sp.gamma[sp.orientation < 0])
    m_rec = m_left + np.concatenate([[0], np.cumsum(P.jumps)])
    a_rec = a0 - np.concatenate([[0], np.cumsum(P.jumps * P.knots)])
    scale = 1 + np.sum(np.abs(sp.gamma)) + np.sum(np.abs(sp.delta_slope))
    assert np.max(np.abs(P.slopes - m_rec)) <= 1e-12 * scale
    assert np.max(np.abs(P.intercepts - a_rec)) <= 1e-12 * scale
    assert P.slopes[0] == pytest.approx(m_left, abs=1e-12) and P.slopes[-1] == pytest.approx(m_right, abs=1e-12)
    # the active-sum evaluation (evaluate_spline) equals the piecewise one
    assert np.max(np.abs(evaluate_spline(sp, x) - evaluate_pieces(P, x))) <= tol(f_net)
    # continuity at every knot inside the domain
    k = np.flatnonzero(np.abs(P.knots) <= 50)
    left = P.slopes[k] * P.knots[k] + P.intercepts[k]
    right = P.slopes[k + 1] * P.knots[k] + P.intercepts[k + 1]
    assert np.max(np.abs(left - right)) <= tol(f_net)


def test_t2_tolerance_merge_is_approximate_but_close():
    w, b, v, c = fixture_net(seed=3)
    sp = spline_from_network(w, b, v, c)
    P = spline_pieces(sp, merge_tol=1e-3)
    assert P.knots.size <= np.unique(sp.breakpoint).size
    assert np.all(np.diff(P.knots) > 1e-3)
    assert np.sum(P.jumps) == pytest.approx(np.sum(sp.delta_slope), abs=1e-12)


def fd_jump(w, b, v, c, kappa, h=1e-6):
    """One-sided FD slope jump of the *network* at kappa. The network is evaluated in extended
    precision (np.longdouble) so that the FD rounding error, ~eps·|f|/h, stays far below 1e-6·|J|
    even where |f| ≫ |J| (knots at |x| ~ 40); the parameters are the same float64 values."""
    ld = np.longdouble
    w, b, v = (np.asarray(a, dtype=ld) for a in (w, b, v))

    def f(t):
        return (np.maximum(np.multiply.outer(t, w) + b, 0) * v).sum(axis=-1) + ld(c)

    k, h = np.asarray(kappa, dtype=ld), ld(h)
    return np.asarray(((f(k + h) - f(k)) - (f(k) - f(k - h))) / h, dtype=np.float64)


def test_t3_jump_is_mu():
    w, b, v, c = fixture_net(seed=4)
    sp = spline_from_network(w, b, v, c)
    P = spline_pieces(sp)
    inner = np.abs(P.knots) <= 50
    kap, J = P.knots[inner], P.jumps[inner]
    assert np.min(np.diff(kap)) > 2e-6  # h = 1e-6 is below half the minimum knot spacing
    fd = fd_jump(w, b, v, c, kap)
    vis = J != 0
    assert np.all(np.abs(fd[vis] - J[vis]) <= 1e-6 * np.abs(J[vis]))
    assert np.all(np.abs(fd[~vis]) <= 1e-6 * np.max(np.abs(J)))


def test_t3_sign_trap_left_facing_unit():
    w, b, v = np.array([-2.0]), np.array([1.0]), np.array([0.75])
    sp = spline_from_network(w, b, v, 0.0)
    assert sp.orientation[0] == -1 and sp.breakpoint[0] == 0.5
    assert sp.delta_slope[0] == v[0] * abs(w[0]) == -w[0] * v[0] == 1.5
    jump = fd_jump(w, b, v, 0.0, np.array([0.5]))[0]
    assert abs(jump - 1.5) <= 1e-6 * 1.5
    assert abs(jump - w[0] * v[0]) > 1  # w·v has the wrong sign for s = −1
    assert tail_slopes(sp) == (-1.5, 0.0)


def test_t4_rescaling_invariance():
    w, b, v, c = fixture_net(seed=5)
    a = np.random.default_rng(6).uniform(0.1, 10, w.size)
    sp, sp_a = spline_from_network(w, b, v, c), spline_from_network(a * w, a * b, v / a, c)
    np.testing.assert_array_equal(sp.orientation, sp_a.orientation)
    np.testing.assert_array_equal(sp.unit, sp_a.unit)
    for f in ("breakpoint", "delta_slope", "gamma"):
        x, y = getattr(sp, f), getattr(sp_a, f)
        assert np.all(np.abs(x - y) <= 1e-12 * np.abs(x)), f
    assert abs(sp.offset - sp_a.offset) <= 1e-12 * abs(sp.offset)


@pytest.mark.parametrize("scales", ["random", "balanced", None])
def test_t4_inverse_map(scales):
    w, b, v, c = fixture_net(seed=7)
    sp = spline_from_network(w, b, v, c)
    a = np.random.default_rng(8).uniform(0.1, 10, len(sp)) if scales == "random" else scales
    w2, b2, v2, c2 = network_from_spline(sp, a)
    x = eval_grid(sp)
    f = network_forward(w, b, v, c, x)
    assert np.max(np.abs(network_forward(w2, b2, v2, c2, x) - f)) <= tol(f)
    sp2 = spline_from_network(w2, b2, v2, c2)
    np.testing.assert_array_equal(sp2.orientation, sp.orientation)
    assert np.all(np.abs(sp2.breakpoint - sp.breakpoint) <= 1e-12 * np.abs(sp.breakpoint))
    if scales == "balanced":
        mu0 = sp.delta_slope == 0
        delta = v2**2 - w2**2 - b2**2
        assert np.all(np.abs(delta[~mu0]) <= 1e-12 * (1 + v2[~mu0] ** 2))
        assert np.all(np.abs(w2[mu0]) == 1.0)  # μ = 0: no balanced representative, a_i = 1


def test_inverse_rejects_bad_scales():
    sp = spline_from_network([1.0, -1.0], [0.0, 1.0], [1.0, 1.0], 0.0)
    with pytest.raises(ValueError):
        network_from_spline(sp, "unbalanced")
    with pytest.raises(ValueError):
        network_from_spline(sp, [1.0, -2.0])


def test_empty_and_all_zero_w():
    sp = spline_from_network([0.0, 0.0], [1.0, -1.0], [2.0, 3.0], 0.5)
    assert len(sp) == 0 and sp.offset == 2.5
    P = spline_pieces(sp)
    assert P.n_pieces == 1
    np.testing.assert_array_equal(evaluate_pieces(P, [-1.0, 3.0]), [2.5, 2.5])


def test_t1_lightning_module_forward_matches_spline():
    """T1's model check: the training module's parameters and forward (gd.forward) equal the spline."""
    module = pytest.importorskip("learndyn.splines.module", reason="Lightning module not importable")
    gd = pytest.importorskip("learndyn.splines.gd")
    w, b, v, c = fixture_net(seed=9)
    params = dict(w=w[None], b=b[None], v=v[None], c=np.array([c]))
    x = np.linspace(-50, 50, 20001)
    model = module.SplineGD(params, x=[-1.0, 1.0], y=[0.0, 0.0], schedule=[1], max_steps=1)
    with torch.no_grad():
        f_model = gd.forward(model.w, model.b, model.v, model.c, torch.tensor(x))[0].numpy()
    assert model.w.requires_grad  # φ must accept live parameters (detached internally)
    sp = spline_from_network(model.w[0], model.b[0], model.v[0], model.c[0])
    assert np.max(np.abs(evaluate_pieces(spline_pieces(sp), x) - f_model)) <= tol(f_model)
