"""Loss surface, Hessians and critical points in spline vs NN coordinates (splines.md, 'Loss surface, critical points,
Hessian'; T8, T11-T15).

Tolerances are splines.md, 'Automated tests' values. "rel" for a vector/matrix means max-abs difference divided by the
max-abs entry of the reference; Hessian differences are max-abs entrywise.
"""

import numpy as np
import pytest
import torch

from learndyn.splines import constructions as C
from learndyn.splines import landscape as ls

D1_X = np.array([-1.0, -0.6, -0.1, 0.2, 0.7, 1.0])
D1_Y = np.array([0.0, 0.8, -0.5, 0.6, 1.0, 0.2])


def _rel(a, ref):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(ref))) / np.max(np.abs(ref)))


def _maxabs(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def _spline_args(p):
    return p["x"], p["y"], p["beta"], p["mu"], p["s"], p["c"]


def _nn_args(p):
    return p["x"], p["y"], p["w"], p["b"], p["v"], p["c"]


@pytest.fixture(scope="module", params=[(0, "D3"), (1, "D1")])
def generic(request):
    seed, name = request.param
    x, y = C.dataset_d3() if name == "D3" else (D1_X, D1_Y)
    p = C.generic_point(x, y, H=5, seed=seed)
    assert ls.distance_to_data(x, p["beta"]).min() >= 1e-3  # FD tests keep knots off data
    return p


# ------------------------------------------------------------------------------------------------ T8


def test_t8_spline_gradients_fd_and_autograd(generic):
    x, y, beta, mu, s, c = _spline_args(generic)
    g = ls.spline_gradient(x, y, beta, mu, s, c)
    assert np.max(np.abs(g)) > 1e-3  # a generic, non-critical point

    def loss(th):
        b_, m_, c_ = ls.unpack_spline(th)
        return ls.spline_loss(x, y, b_, m_, s, c_)

    fd = ls.central_difference_gradient(loss, ls.pack_spline(beta, mu, c), h=1e-6)
    assert _rel(fd, g) < 1e-7
    assert _rel(ls.spline_gradient_autograd(x, y, beta, mu, s, c), g) < 1e-7


def test_t8_closed_form_nn_gradient_matches_autograd(generic):
    g = ls.nn_gradient(*_nn_args(generic))
    assert _rel(ls.nn_gradient_autograd(*_nn_args(generic)), g) < 1e-12
    # same point, same loss in both coordinate systems
    assert ls.nn_loss(*_nn_args(generic)) == pytest.approx(ls.spline_loss(*_spline_args(generic)), rel=1e-13)


def test_t8_slope_jump_of_L_in_beta_equals_mu_r_over_N(generic):
    x, y, beta, mu, s, c = _spline_args(generic)
    N, h = x.size, 1e-6
    n_checked = 0
    for i in range(beta.size):

        def L_of(bi):
            bb = beta.copy()
            bb[i] = bi
            return ls.spline_loss(x, y, bb, mu, s, c)

        for m in range(N):
            bb = beta.copy()
            bb[i] = x[m]
            r_m = ls.spline_residuals(x, y, bb, mu, s, c)[m]
            predicted = mu[i] * r_m / N
            if abs(predicted) < 1e-4:  # relative error of a vanishing jump is meaningless
                continue
            L0, Lp1, Lp2, Lm1, Lm2 = (L_of(x[m] + d) for d in (0.0, h, 2 * h, -h, -2 * h))
            right = (-3 * L0 + 4 * Lp1 - Lp2) / (2 * h)  # one-sided, exact on the quadratic piece
            left = (3 * L0 - 4 * Lm1 + Lm2) / (2 * h)
            assert abs((right - left) - predicted) <= 1e-5 * abs(predicted)
            n_checked += 1
    assert n_checked >= 10


def test_f4_loss_slices_table_is_checkable(generic):
    x, y, beta, mu, s, c = _spline_args(generic)
    table, checks = C.loss_slices_table(x, y, beta, mu, s, c, units=[0, 2], n_beta=401, n_grid=20)
    assert set(table["kind"]) == {"beta_slice", "beta_mu_grid", "mu_gamma_grid"}
    assert {"kind", "unit", "beta", "mu", "gamma", "loss", "gap"} <= set(table.columns)
    assert not (table.loc[table["kind"] == "mu_gamma_grid", "mu"] == 0).any()
    # the table's loss values are L itself
    row = table[table["kind"] == "beta_slice"].iloc[123]
    bb = beta.copy()
    bb[int(row["unit"])] = row["beta"]
    assert row["loss"] == pytest.approx(ls.spline_loss(x, y, bb, mu, s, c), rel=1e-12)
    jumps = checks[(checks["check"] == "jump") & (checks["predicted"].abs() > 1e-4)]
    assert len(jumps) >= 6 and (jumps["rel_error"] < 1e-5).all()
    curv = checks[checks["check"] == "curvature"]  # convex quadratic between data points
    assert (curv["predicted"] >= 0).all() and (curv["abs_error"] < 1e-6 * (1 + curv["predicted"].abs())).all()


# ----------------------------------------------------------------------------------------------- T11


def test_t11_spline_hessian(generic):
    x, y, beta, mu, s, c = _spline_args(generic)
    Hs = ls.spline_hessian(x, y, beta, mu, s, c)
    assert np.max(np.abs(ls.spline_q(x, y, beta, mu, s, c))) > 1e-3  # R really contributes

    def grad(th):
        b_, m_, c_ = ls.unpack_spline(th)
        return ls.spline_gradient(x, y, b_, m_, s, c_)

    fd = ls.central_difference_jacobian(grad, ls.pack_spline(beta, mu, c), h=1e-6)
    assert _maxabs(fd, Hs) < 1e-7
    assert _maxabs(ls.spline_hessian_autograd(x, y, beta, mu, s, c), Hs) < 1e-10


# ----------------------------------------------------------------------------------------------- T12


@pytest.fixture(scope="module")
def minimum():
    return C.interpolating_minimum_d3(seed=0)


def test_t12_construction(minimum):
    p = minimum
    assert p["beta"].size == 8 and p["x"].size == 6
    assert sorted(p["roles"]) == sorted(["midpoint"] * 5 + ["outside_left", "outside_right", "shared_gap"])
    assert ls.distance_to_data(p["x"], p["beta"]).min() >= 1e-3
    assert np.all(p["mu"] != 0) and np.all((p["a"] >= 0.5) & (p["a"] <= 2.0))
    delta = p["v"] ** 2 - p["w"] ** 2 - p["b"] ** 2
    assert np.min(np.abs(delta)) > 1e-3  # genuinely non-balanced


def test_t12_interpolating_minimum_two_ways_hessian(minimum):
    p = minimum
    x, y, w, b, v, c = _nn_args(p)
    H, N = w.size, x.size
    assert ls.nn_loss(x, y, w, b, v, c) < 1e-20
    assert np.max(np.abs(ls.nn_gradient(x, y, w, b, v, c))) < 1e-12
    assert np.max(np.abs(ls.spline_gradient(*_spline_args(p)))) < 1e-12

    H_nn = ls.nn_hessian_autograd(x, y, w, b, v, c)
    H_two = ls.nn_hessian_two_ways(x, y, w, b, v, c, curvature_term=False)
    assert _maxabs(H_nn, H_two) < 1e-10

    def grad(th):
        return ls.nn_gradient(x, y, *ls.unpack_nn(th))

    fd = ls.central_difference_jacobian(grad, ls.pack_nn(w, b, v, c), h=1e-6)
    assert _maxabs(fd, H_nn) < 1e-7

    lam_nn = ls.hessian_eigenvalues(H_nn)
    lam_s = ls.hessian_eigenvalues(ls.spline_hessian(*_spline_args(p)))
    bounds = ls.min_zero_eigenvalues(H, N)
    assert ls.numerical_rank(H_nn) <= N
    assert ls.count_zero_eigenvalues(lam_nn) >= bounds["nn"] == 3 * H + 1 - N
    assert ls.count_zero_eigenvalues(lam_s) >= bounds["spline"] == 2 * H + 1 - N
    T = ls.rescaling_tangents(w, b, v)
    assert np.max(np.linalg.norm(T @ H_nn, axis=1)) < 1e-8


def test_t12_two_ways_at_noncritical_point_needs_curvature_term(generic):
    args = _nn_args(generic)
    H_nn = ls.nn_hessian_autograd(*args)
    assert _maxabs(H_nn, ls.nn_hessian_two_ways(*args, curvature_term=True)) < 1e-10
    assert _maxabs(H_nn, ls.nn_hessian_two_ways(*args, curvature_term=False)) > 1e-4


def test_f5_hessian_spectra_table(minimum):
    spectra, checks = C.hessian_spectra_table(minimum=minimum)
    assert {"case", "coordinates", "index", "eigenvalue", "abs_eigenvalue", "is_zero"} <= set(spectra.columns)
    chk = checks.set_index(["case", "coordinates"])
    for case in ("minimum", "minimum_rebalanced"):
        for coords in ("spline", "nn"):
            row = chk.loc[(case, coords)]
            assert row["n_zero"] >= row["min_zero_theory"] and row["rank"] <= row["N"]
            assert row["n_negative"] == 0
        assert chk.loc[(case, "nn"), "max_tangent_residual"] < 1e-8
    for coords in ("spline", "nn"):  # saddle: one negative eigenvalue is visible with its sign
        assert chk.loc[("saddle", coords), "n_negative"] >= 1
    sad = chk.loc[("saddle", "spline")]
    assert sad["saddle_lower"] - 1e-10 <= sad["lambda_min"] <= sad["saddle_upper"] < 0
    # re-balancing a_i keeps f: spline spectrum unchanged, NN spectrum changed
    lam_max = chk.loc[("minimum", "spline"), "lambda_max"]
    assert chk.loc[("minimum_rebalanced", "spline"), "max_abs_diff_vs_minimum"] < 1e-10 * lam_max
    assert chk.loc[("minimum_rebalanced", "nn"), "max_abs_diff_vs_minimum"] > 1e-2
    # sorted by |lambda| within each (case, coordinates)
    for _, grp in spectra.groupby(["case", "coordinates"]):
        assert np.all(np.diff(grp.sort_values("index")["abs_eigenvalue"].to_numpy()) <= 0)


# ----------------------------------------------------------------------------------------------- T13


def test_t13_strict_saddle():
    p = C.strict_saddle_d4()
    x, y, beta, mu, s, c = _spline_args(p)
    assert x.size == 40 and mu[p["saddle_unit"]] == 0
    assert ls.distance_to_data(x, beta).min() >= 1e-3
    assert np.max(np.abs(ls.spline_gradient(x, y, beta, mu, s, c))) < 1e-12
    assert np.max(np.abs(ls.nn_gradient(*_nn_args(p)))) < 1e-12
    q = ls.spline_q(x, y, beta, mu, s, c)
    assert abs(q[0]) < 1e-12 and abs(q[1]) > 1e-3  # only the saddle unit has q != 0
    bnd = ls.strict_saddle_bounds(x, y, beta, mu, s, c, p["saddle_unit"])
    lam_min = ls.hessian_eigenvalues(ls.spline_hessian(x, y, beta, mu, s, c))[0]
    assert -abs(bnd["q"]) - 1e-10 <= lam_min <= bnd["upper"] < 0
    # critical in NN coordinates too, and the negative direction survives the change of coordinates
    assert ls.hessian_eigenvalues(ls.nn_hessian_autograd(*_nn_args(p)))[0] < 0


# ----------------------------------------------------------------------------------------------- T14


def test_t14_dead_unit_never_moves():
    x, y = D1_X, D1_Y
    rng = np.random.default_rng(14)
    H = 5
    w = rng.uniform(-1, 1, H)
    b = rng.uniform(-1, 1, H)
    v = rng.normal(0, 0.5, H)
    w[0], b[0], v[0] = 1.3, -1.3 * 2.0, 0.7  # knot at beta = 2 > x_N, s = +1: facing away from the data
    c = 0.0
    assert not ls.nn_active(x, w, b)[:, 0].any()
    gw, gb, gv, _ = ls.nn_gradients(x, y, w, b, v, c)
    assert gw[0] == 0.0 and gb[0] == 0.0 and gv[0] == 0.0
    g_auto = ls.nn_gradient_autograd(x, y, w, b, v, c)
    assert g_auto[0] == 0.0 and g_auto[H] == 0.0 and g_auto[2 * H] == 0.0
    start = (w[0], b[0], v[0])
    w0, b0, v0 = w.copy(), b.copy(), v.copy()
    eta = 0.05
    for _ in range(10_000):  # plain full-batch GD
        gw, gb, gv, gc = ls.nn_gradients(x, y, w, b, v, c)
        w, b, v, c = w - eta * gw, b - eta * gb, v - eta * gv, c - eta * gc
    assert (w[0], b[0], v[0]) == start  # bitwise
    assert np.max(np.abs(np.concatenate([w - w0, b - b0, v - v0])[np.r_[1:H, H + 1 : 2 * H, 2 * H + 1 : 3 * H]])) > 1e-3
    # the torch autograd path agrees: relu'(negative) = 0 gives exact zeros
    th = torch.tensor(ls.pack_nn(w, b, v, c), requires_grad=True)
    r = th[3 * H] + torch.relu(torch.tensor(x)[:, None] * th[:H] + th[H : 2 * H]) @ th[2 * H : 3 * H] - torch.tensor(y)
    (g,) = torch.autograd.grad(0.5 * torch.mean(r * r), th)
    assert g[0].item() == 0.0 and g[H].item() == 0.0 and g[2 * H].item() == 0.0


# ----------------------------------------------------------------------------------------------- T15


@pytest.mark.parametrize("data,H,seed", [("D3", 4, 0), ("D3", 5, 0), ("D3", 6, 1), ("D4", 3, 0)])
def test_t15_cell_critical_point(data, H, seed):
    # Rough data (D1) almost never has interior cell critical points for H >= 3 (adjacent block lines
    # rarely meet inside the knot's gap), so the draws use the smooth D3 / D4 targets.
    x, y = C.dataset_d3() if data == "D3" else C.dataset_d4()
    p = C.random_cell_critical_point(x, y, H, seed=seed, max_tries=5000)
    assert p is not None, "no cell with all knots in their gaps found"
    assert np.sum((p["gaps"] > 0) & (p["gaps"] < x.size)) >= 2  # knots inside the hull, not only affine units
    beta, mu, s, c = p["beta"], p["mu"], p["s"], p["c"]
    assert np.all(ls.gap_index(x, beta) == p["gaps"])
    assert len(set(zip(p["gaps"].tolist(), s.tolist()))) == H  # one unit per (gap, s) class
    assert np.max(np.abs(ls.spline_gradient(x, y, beta, mu, s, c))) < 1e-10
    assert np.max(np.abs(ls.nn_gradient(*_nn_args(p)))) < 1e-10
    assert ls.hessian_eigenvalues(ls.spline_hessian(x, y, beta, mu, s, c))[0] >= -1e-10
    assert ls.hessian_eigenvalues(ls.nn_hessian_autograd(*_nn_args(p)))[0] >= -1e-10
    f = ls.spline_output(x, beta, mu, s, c)
    assert np.max(np.abs(f - C.cell_projection(x, y, p["gaps"], s))) < 1e-10


# ------------------------------------------------------------------------------- cross-module agreement


def test_phi_fast_path_agrees_with_spline_module(generic):
    spline = pytest.importorskip("learndyn.splines.spline")
    sp = spline.spline_from_network(generic["w"], generic["b"], generic["v"], generic["c"])
    beta, mu, s, c = ls.spline_params_from_nn(generic["w"], generic["b"], generic["v"], generic["c"])
    order = np.argsort(sp.unit)
    assert np.allclose(sp.breakpoint[order], beta, rtol=1e-14, atol=0)
    assert np.allclose(sp.delta_slope[order], mu, rtol=1e-14, atol=0)
    assert np.array_equal(sp.orientation[order], s) and sp.offset == c


def test_construction_sets_match_the_datasets_table():
    data = pytest.importorskip("learndyn.splines.data")
    table = data.make_datasets(d2_seed=0, d5_points=100)
    for name, (x, y) in {"D3": C.dataset_d3(), "D4": C.dataset_d4(), "D5": C.dataset_d5(100)}.items():
        xt, yt = data.dataset_xy(table, name)
        assert np.array_equal(xt, x) and np.array_equal(yt, y)
