"""Implicit-regularisation metrics M1–M6 (splines.md, 'Implicit regularization: metrics, sweeps, expected outcomes') on
hand-built networks with known answers."""

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from learndyn.splines.init import draw_init
from learndyn.splines.metrics import (
    N_GRID,
    effective_kinks,
    hull_grid,
    implicit_regularisation_metrics,
    interpolant_distances,
    knot_displacement,
    lazy_prediction,
    lazy_rms,
    li_roughness,
    ncs_curvature,
    pinning_chance,
    pinning_fraction,
    rms,
)
from learndyn.splines.spline import (
    evaluate_pieces,
    network_forward,
    network_from_spline,
    spline_from_network,
    spline_pieces,
)

D1_X = np.array([-1, -0.6, -0.1, 0.2, 0.7, 1.0])
D1_Y = np.array([0, 0.8, -0.5, 0.6, 1, 0.2])
SPEC_KEYS = (
    "d_cs",
    "d_li",
    "rms_cs",
    "rms_li",
    "displacement_median",
    "displacement_weighted",
    "n_far",
    "n_flipped",
    "pinning_fraction",
    "pinning_chance",
    "effective_kinks",
    "r2",
    "tv",
    "r2_li",
    "tv_li",
    "ncs_curvature",
    "lazy_rms",
)


def li_network(x, y):
    """The linear interpolant as a ReLU net: one out-of-hull right-facing unit carries the first
    slope, one unit per interior data point carries the LI slope jump (mixing both orientations)."""
    m = np.diff(y) / np.diff(x)
    jumps = np.diff(m)
    beta0 = x[0] - 5.0
    w = [1.0]
    b = [-beta0]
    v = [m[0]]
    c = y[0] - m[0] * 5.0
    for i, (xn, J) in enumerate(zip(x[1:-1], jumps)):
        if i % 2:  # left-facing: J[x − xn]_+ = J[xn − x]_+ + J(x − xn); the affine part goes to unit 0
            w.append(-2.0), b.append(2.0 * xn), v.append(J / 2.0)
            v[0] += J  # unit 0 (w = 1, active on the hull) gains J(x − β0) = J(x − xn) + J(xn − β0)
            c -= J * (xn - beta0)
        else:
            w.append(0.5), b.append(-0.5 * xn), v.append(J / 0.5)
    return dict(w=np.array(w), b=np.array(b), v=np.array(v), c=c)


def test_li_network_metrics():
    p = li_network(D1_X, D1_Y)
    grid = hull_grid(D1_X)
    f = network_forward(p["w"], p["b"], p["v"], p["c"], grid)
    assert np.max(np.abs(f - np.interp(grid, D1_X, D1_Y))) < 1e-13
    m = implicit_regularisation_metrics(p, p, D1_X, D1_Y)
    assert set(SPEC_KEYS) <= set(m)
    assert m["d_li"] < 1e-12 and m["rms_li"] < 1e-12
    assert m["d_cs"] == pytest.approx(1.0, rel=1e-12)
    assert m["pinning_fraction"] == 1.0 and m["effective_kinks"] == D1_X.size - 2
    assert m["r2"] == pytest.approx(m["r2_li"], rel=1e-12) and m["tv"] == pytest.approx(m["tv_li"], rel=1e-12)
    assert m["displacement_median"] == 0 and m["displacement_weighted"] == 0
    assert m["n_far"] == 0 and m["n_flipped"] == 0
    assert m["final_loss"] < 1e-28


def test_interpolant_distances_formula():
    grid = hull_grid(D1_X)
    assert grid.size == N_GRID == 4001 and grid[0] == -1 and grid[-1] == 1
    ncs = CubicSpline(D1_X, D1_Y, bc_type="natural")(grid)
    li = np.interp(grid, D1_X, D1_Y)
    scale = np.sqrt(np.mean((ncs - li) ** 2))
    for f, (dcs, dli) in ((ncs, (0, 1)), (li, (1, 0)), (0.5 * (ncs + li), (0.5, 0.5))):
        m = interpolant_distances(f, D1_X[::-1], D1_Y[::-1])  # order of the data must not matter
        assert m["d_cs"] == pytest.approx(dcs, abs=1e-12) and m["d_li"] == pytest.approx(dli, abs=1e-12)
        assert m["rms_ncs_li"] == pytest.approx(scale, rel=1e-12)
    f = np.sin(grid)
    m = interpolant_distances(f, D1_X, D1_Y)
    assert m["rms_cs"] == pytest.approx(rms(f - ncs), rel=1e-12) and m["rms_li"] == pytest.approx(rms(f - li))
    assert m["d_cs"] == pytest.approx(m["rms_cs"] / scale, rel=1e-12)


def test_ncs_curvature_and_li_roughness():
    cs = CubicSpline(D1_X, D1_Y, bc_type="natural")
    t = np.linspace(-1, 1, 200_001)
    d2 = cs.derivative(2)(t) ** 2
    quad = np.sum((d2[1:] + d2[:-1]) / 2 * np.diff(t))
    assert ncs_curvature(D1_X, D1_Y) == pytest.approx(quad, rel=1e-8)
    j = np.diff(np.diff(D1_Y) / np.diff(D1_X))
    r = li_roughness(D1_X, D1_Y)
    assert r["r2_li"] == pytest.approx(np.sum(j**2)) and r["tv_li"] == pytest.approx(np.sum(np.abs(j)))


def test_pinning_chance():
    assert pinning_chance(D1_X, 0.01) == pytest.approx((2 * 0.01 + 4 * 0.02) / 2, rel=1e-12)
    # overlapping balls are counted once: [0, 0.025] ∪ [0.99, 1]
    assert pinning_chance([0.0, 0.015, 1.0], 0.01) == pytest.approx(0.035, rel=1e-12)


def spline_of(beta, mu, s=None, c=0.0):
    """Network with given knots β, delta-slopes μ and orientations (w = s, b = −sβ, v = μ)."""
    beta, mu = np.asarray(beta, float), np.asarray(mu, float)
    s = np.ones_like(beta) if s is None else np.asarray(s, float)
    return dict(w=s, b=-s * beta, v=mu, c=c)


def test_pinning_fraction():
    p = spline_of(
        [-0.6 + 0.005, 0.2 - 0.009, 0.45, 0.7 + 0.02, 3.0, -1.0],
        [1.0, -2.0, 3.0, 0.5, 7.0, 0.5],
        s=[1, -1, 1, -1, 1, 1],
    )
    sp = spline_from_network(**p)
    # in hull: 1, 2 (pinned), 3, 0.5 (not), 0.5 at the hull endpoint x_1 (pinned); 7 is out of hull
    assert pinning_fraction(sp, D1_X, 0.01) == pytest.approx(3.5 / 7.0, rel=1e-12)
    far = dict(w=np.append(p["w"], 1e-14), b=np.append(p["b"], 0.0), v=np.append(p["v"], 9.0), c=0.0)
    assert pinning_fraction(spline_from_network(**far), D1_X, 0.01) == pytest.approx(0.5, rel=1e-12)


def test_effective_kinks_merge_and_threshold():
    beta = [0.3, 0.3005, 0.5, 0.8, 0.1, 0.1008, 0.1016, 5.0, -0.4, -0.4004]
    mu = [1.0, 1.0, -1.0, 0.02, 0.5, 0.5, 0.5, 9.0, 1.0, -1.0]
    sp = spline_from_network(**spline_of(beta, mu))
    # merged: 0.1 chain (1.5), 0.3 pair (2), 0.5 (−1), 0.8 (0.02 < 1% of 4.52), −0.4 pair (0): 3 kinks
    assert effective_kinks(sp, D1_X) == 3
    assert effective_kinks(spline_from_network(**spline_of([0.3], [0.0])), D1_X) == 0


def test_knot_displacement_matching_and_exclusions():
    p0 = spline_of([-0.5, 0.0, 0.5, 0.9, 0.2, 0.3, -0.3], [1.0, -2.0, 0.5, 1.0, 1.0, 1.0, 1.0])
    pT = {k: np.array(a, dtype=float) if k != "c" else a for k, a in p0.items()}
    dbeta = np.array([0.1, -0.2, 0.4, 0.0, 0, 0, 0])
    pT["b"] = -(np.array([-0.5, 0.0, 0.5, 0.9, 0.2, 0.3, -0.3]) + dbeta)
    pT["v"] = np.array([2.0, -1.0, 1.0, 4.0, 1.0, 1.0, 1.0])
    pT["w"][4], pT["b"][4] = -1.0, 0.2  # unit 4 flips orientation
    pT["w"][5] = 0.0  # unit 5 loses its knot
    pT["w"][6] = 1e-13  # unit 6 becomes far
    m = knot_displacement(spline_from_network(**p0), spline_from_network(**pT))
    d = np.abs(dbeta[:4])
    assert m["n_flipped"] == 1 and m["n_far"] == 2
    assert m["displacement_median"] == pytest.approx(np.median(d), rel=1e-12)
    wt = np.array([2.0, 1.0, 1.0, 4.0])
    assert m["displacement_weighted"] == pytest.approx(np.sum(wt * d) / wt.sum(), rel=1e-12)


def test_lazy_prediction_interpolates_and_matches_formula():
    p = {k: a[0] for k, a in draw_init("torch_like", 50, [3]).items()}
    x, y = D1_X, D1_Y
    for frozen_c in (False, True):
        sp_lazy, pl = lazy_prediction(p, x, y, frozen_c=frozen_c)
        assert np.max(np.abs(evaluate_pieces(spline_pieces(sp_lazy), x) - y)) < 1e-10
        np.testing.assert_array_equal(sp_lazy.breakpoint, spline_from_network(p["w"], p["b"], p["v"]).breakpoint)
        phi = np.maximum(np.outer(x, p["w"]) + p["b"], 0.0)
        if not frozen_c:
            phi = np.hstack([phi, np.ones((x.size, 1))])
        r = y - network_forward(p["w"], p["b"], p["v"], p["c"], x)
        delta = phi.T @ np.linalg.solve(phi @ phi.T, r)
        np.testing.assert_allclose(pl["v"] - p["v"], delta[:50], rtol=0, atol=1e-10)
        assert pl["c"] - p["c"] == pytest.approx(0.0 if frozen_c else delta[-1], abs=1e-10)
        assert lazy_rms(sp_lazy, p, x, y, frozen_c=frozen_c) < 1e-14
    # M6 of the untrained net is the RMS distance between f_0 and f_lazy
    grid = hull_grid(x)
    sp0 = spline_from_network(p["w"], p["b"], p["v"], p["c"])
    expected = rms(evaluate_pieces(spline_pieces(sp0), grid) - evaluate_pieces(spline_pieces(sp_lazy), grid))
    assert lazy_rms(sp0, p, x, y, frozen_c=True) == pytest.approx(expected, rel=1e-12)


def test_metrics_ignore_hidden_scales():
    """Metrics depend on the function and the knots only: re-balancing a_i of the final net changes none of them."""
    p0 = {k: a[0] for k, a in draw_init("torch_like", 30, [9]).items()}
    pT = {k: a[0] for k, a in draw_init("rich", 30, [9]).items()}
    w, b, v, c = network_from_spline(spline_from_network(**pT), "balanced")
    m1 = implicit_regularisation_metrics(p0, pT, D1_X, D1_Y)
    m2 = implicit_regularisation_metrics(p0, dict(w=w, b=b, v=v, c=c), D1_X, D1_Y)
    for k in SPEC_KEYS:
        assert m1[k] == pytest.approx(m2[k], rel=1e-9, abs=1e-14), k
