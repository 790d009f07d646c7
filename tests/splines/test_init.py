"""Spec splines.md, 'Automated tests' T5–T7 (breakpoint laws, moments, ζ) plus draw_init and flatness-statistics
checks."""

import numpy as np
import pytest
import torch
from scipy import stats

from learndyn.splines.init import (
    INIT_FAMILIES,
    breakpoint_cdf,
    breakpoint_pdf,
    draw_init,
    flatness_stats,
    init_moments,
    sample_init,
    zeta,
    zeta_integral,
)
from learndyn.splines.spline import network_forward, spline_from_network, spline_pieces

D1_X = np.array([-1, -0.6, -0.1, 0.2, 0.7, 1.0])
D1_Y = np.array([0, 0.8, -0.5, 0.6, 1, 0.2])


# ---------------------------------------------------------------- draw_init
@pytest.mark.parametrize("family", INIT_FAMILIES)
def test_draw_init_shapes_and_seed_independence(family):
    knobs = {"rho": 0.1} if family == "rho" else {}
    d3 = draw_init(family, 12, [5, 6, 7], **knobs)
    assert {k: a.shape for k, a in d3.items()} == {"w": (3, 12), "b": (3, 12), "v": (3, 12), "c": (3,)}
    assert all(a.dtype == np.float64 for a in d3.values())
    d2 = draw_init(family, 12, [5, 6], **knobs)
    d1 = draw_init(family, 12, [6], **knobs)
    for k in d3:
        np.testing.assert_array_equal(d3[k][:2], d2[k])
        np.testing.assert_array_equal(d3[k][1], d1[k][0])
    assert not np.array_equal(d3["w"][0], d3["w"][1])


def test_draw_init_family_definitions():
    H = 400
    t = draw_init("torch", H, [0])
    assert np.abs(t["w"]).max() <= 1 and np.abs(t["b"]).max() <= 1
    assert np.abs(t["v"]).max() <= 1 / np.sqrt(H) and abs(t["c"][0]) <= 1 / np.sqrt(H)
    for fam in ("he", "glorot", "lecun"):
        d = draw_init(fam, H, [0, 1])
        assert np.all(d["b"] == 0) and np.all(d["c"] == 0)
    lazy, rich = draw_init("lazy", H, [0]), draw_init("rich", H, [0])
    assert 9 < np.abs(lazy["w"]).max() <= 10 and np.abs(rich["b"]).max() <= 1e-3
    assert np.all(lazy["c"] == 0) and np.all(rich["c"] == 0)
    g = sample_init("gaussian", 50, 4000, rng=0, sigma_w=2.0, sigma_b=0.5)
    assert g["w"].std() == pytest.approx(2.0, rel=0.02) and g["b"].std() == pytest.approx(0.5, rel=0.02)
    assert g["v"].var() == pytest.approx(1 / 50, rel=0.02)
    glo = sample_init("glorot", 99, 4000, rng=1)
    assert glo["w"].var() == pytest.approx(0.02, rel=0.02) and glo["v"].var() == pytest.approx(0.02, rel=0.02)


def test_alpha_and_rho_knobs():
    H, x = 50, np.linspace(-2, 2, 101)
    base = draw_init("torch_like", H, [3])
    a = draw_init("torch_like", H, [3], alpha=0.1)
    r = draw_init("torch_like", H, [3], rho=10.0)
    p = draw_init("rho", H, [3], rho=10.0)
    for k in ("w", "b", "v"):
        np.testing.assert_array_equal(r[k], p[k])  # the ρ preset = torch-like with the ρ knob
    sp0, spa, spr = (spline_from_network(d["w"][0], d["b"][0], d["v"][0], d["c"][0]) for d in (base, a, r))
    np.testing.assert_allclose(spa.breakpoint, sp0.breakpoint, rtol=1e-14)
    np.testing.assert_allclose(spa.delta_slope, 0.01 * sp0.delta_slope, rtol=1e-14)
    np.testing.assert_allclose(spr.delta_slope, sp0.delta_slope, rtol=1e-14)
    f0 = network_forward(base["w"][0], base["b"][0], base["v"][0], 0.0, x)
    fr = network_forward(r["w"][0], r["b"][0], r["v"][0], 0.0, x)
    np.testing.assert_allclose(fr, f0, rtol=0, atol=1e-14)


def test_antisymmetric_init():
    d = draw_init("antisymmetric", 40, [0, 1], alpha=0.3)
    h = 20
    np.testing.assert_array_equal(d["w"][:, :h], d["w"][:, h:])
    np.testing.assert_array_equal(d["v"][:, :h], -d["v"][:, h:])
    x = np.linspace(-3, 3, 1001)
    for i in range(2):
        assert np.max(np.abs(network_forward(d["w"][i], d["b"][i], d["v"][i], d["c"][i], x))) < 1e-15
        P = spline_pieces(spline_from_network(d["w"][i], d["b"][i], d["v"][i], d["c"][i]))
        assert np.all(P.invisible) and np.all(P.slopes == 0) and np.all(P.intercepts == 0)
    with pytest.raises(ValueError, match="even"):
        draw_init("antisymmetric", 41, [0])


def test_bad_family_and_knobs():
    with pytest.raises(ValueError, match="xavier"):
        draw_init("xavier", 10, [0])
    with pytest.raises(ValueError, match="sigma_w"):
        draw_init("torch", 10, [0], sigma_w=2.0)
    with pytest.raises(ValueError, match="alpha"):
        draw_init("gaussian", 10, [0], alpha=-1.0)
    with pytest.raises(ValueError, match="zero-bias"):
        zeta("he", 0.5)


# ---------------------------------------------------------------- T5 breakpoint laws
@pytest.mark.parametrize(
    "family,knobs",
    [
        ("gaussian", dict(sigma_w=2.0, sigma_b=1.0)),
        ("gaussian", dict(sigma_w=1.0, sigma_b=1.0)),
        ("gaussian", dict(sigma_w=1.0, sigma_b=2.0)),
        ("uniform", dict(A=1.0, B=1.0)),
        ("uniform", dict(A=2.0, B=0.5)),
    ],
)
def test_t5_breakpoint_law_ks(family, knobs):
    d = sample_init(family, 400_000, 1, rng=11, **knobs)
    beta = -d["b"][0] / d["w"][0]
    ks = stats.kstest(beta, lambda t: breakpoint_cdf(family, t, **knobs)).statistic
    assert ks < 0.005


def test_t5_torch_nn_linear_breakpoints():
    torch.manual_seed(0)
    lin = torch.nn.Linear(1, 400_000, dtype=torch.float64)
    with torch.no_grad():
        beta = (-lin.bias / lin.weight[:, 0]).numpy()
    assert stats.kstest(beta, lambda t: breakpoint_cdf("torch", t)).statistic < 0.005
    assert abs(np.mean(np.abs(beta) <= 1) - 0.5) < 0.01
    assert abs(np.mean(np.abs(beta) > 2) - 0.25) < 0.01
    assert breakpoint_cdf("torch", 2.0) - breakpoint_cdf("torch", -2.0) == pytest.approx(0.75)


@pytest.mark.parametrize("family", ["he", "glorot", "lecun"])
def test_t5_zero_bias_point_mass(family):
    d = draw_init(family, 1000, [0, 1])
    for i in range(2):
        assert np.all(spline_from_network(d["w"][i], d["b"][i], d["v"][i], 0.0).breakpoint == 0)
    np.testing.assert_array_equal(breakpoint_cdf(family, [-1e-300, 0.0, 1.0], width=10), [0, 1, 1])
    assert breakpoint_pdf(family, 0.0, width=10) == np.inf and breakpoint_pdf(family, 0.1, width=10) == 0


# ---------------------------------------------------------------- T6 moments
def mc_moments(family, H, xs, n_draws=20_000, seed=0):
    """Vectorised Monte Carlo of the splines.md, 'Delta-slope and function moments' moments, in chunks of ≤ 2e6 unit
    draws."""
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // H)
    acc = dict(mu2=0.0, mu2_in=0.0, fp2=np.zeros(len(xs)), f2=np.zeros(len(xs)))
    done = 0
    while done < n_draws:
        r = min(chunk, n_draws - done)
        d = sample_init(family, H, r, rng=rng)
        w, b, v, c = d["w"], d["b"], d["v"], d["c"]
        mu2 = (v * w) ** 2
        acc["mu2"] += mu2.sum()
        acc["mu2_in"] += np.where(np.abs(b) <= np.abs(w), mu2, 0.0).sum()  # |β| ≤ 1
        vw = v * w
        for j, x in enumerate(xs):
            pre = w * x + b
            acc["fp2"][j] += (np.where(pre > 0, vw, 0.0).sum(1) ** 2).sum()
            acc["f2"][j] += ((np.maximum(pre, 0.0) * v).sum(1) + c).__pow__(2).sum()
        done += r
    return {k: a / n_draws for k, a in acc.items()}


@pytest.mark.parametrize("H", [10, 100, 1000])
@pytest.mark.parametrize("family", ["torch", "gaussian", "he", "glorot"])
def test_t6_moments(family, H):
    xs = (0.1, 0.37, 0.9)
    th = init_moments(family, H, x=xs)
    mc = mc_moments(family, H, xs, seed=H)
    assert mc["mu2"] == pytest.approx(th["E_sum_mu2"], rel=0.05)
    assert mc["mu2_in"] == pytest.approx(th["E_sum_mu2_interval"], rel=0.05)
    np.testing.assert_allclose(mc["fp2"], th["E_fprime2"], rtol=0.05)
    np.testing.assert_allclose(mc["f2"], th["E_f2"], rtol=0.05)


def test_t6_moment_table():
    """The splines.md, 'Delta-slope and function moments' table, for H = 100."""
    H = 100
    rows = {
        "torch": (1 / 9, 1 / 18, 1 / 12),
        "gaussian": (1, 1 / 2, 1 / 2 + 1 / np.pi),
        "he": (4, 2, 4),
        "glorot": (4 * H / (1 + H) ** 2, 2 * H / (1 + H) ** 2, 4 * H / (1 + H) ** 2),
    }
    for fam, (s, fp, s_in) in rows.items():
        m = init_moments(fam, H)
        np.testing.assert_allclose([m["E_sum_mu2"], m["E_fprime2"], m["E_sum_mu2_interval"]], [s, fp, s_in], rtol=1e-12)


# ---------------------------------------------------------------- T7 ζ
@pytest.mark.parametrize(
    "family,knobs",
    [
        ("uniform", dict(A=1.0, B=1.0)),
        ("uniform", dict(A=2.0, B=1.0)),
        ("gaussian", dict(sigma_w=1.0, sigma_b=1.0)),
        ("gaussian", dict(sigma_w=2.0, sigma_b=1.0)),
    ],
)
def test_t7_zeta_weighted_histogram(family, knobs):
    n, chunk, nbins, lo, hi = 10_000_000, 1_000_000, 24, -3.0, 3.0
    width = (hi - lo) / nbins
    rng = np.random.default_rng(7)
    hist = np.zeros(nbins)
    for _ in range(n // chunk):
        d = sample_init(family, chunk, 1, rng=rng, **knobs)
        w, b = d["w"][0], d["b"][0]
        idx = np.floor((-b / w - lo) / width)
        ok = (idx >= 0) & (idx < nbins)
        hist += np.bincount(idx[ok].astype(np.int64), weights=w[ok] ** 2, minlength=nbins)
    density = hist / (n * width)
    edges = np.linspace(lo, hi, nbins + 1)
    expected = zeta_integral(family, edges[:-1], edges[1:], **knobs) / width
    np.testing.assert_allclose(density, expected, rtol=0.03)


def test_t7_zeta_closed_forms():
    np.testing.assert_allclose(zeta("torch", [-1, 0, 0.5, 1]), 1 / 8)
    np.testing.assert_allclose(zeta("torch", 2.0), 1 / (8 * 16))
    np.testing.assert_allclose(zeta("gaussian", [0, 1]), [2 / np.pi, 2 / (4 * np.pi)])
    # total mass ∫ζ = E w²
    assert zeta_integral("uniform", -np.inf, np.inf, A=2.0, B=0.5) == pytest.approx(4 / 3)
    assert zeta_integral("gaussian", -np.inf, np.inf, sigma_w=1.5) == pytest.approx(2.25)


# ---------------------------------------------------------------- flatness statistics
@pytest.mark.parametrize("family", ["he", "glorot", "lecun"])
def test_flatness_zero_bias_has_one_kink(family):
    df = flatness_stats(sample_init(family, 200, 30, rng=2))
    assert np.all(df["n_knots"] == 1) and np.all(df["n_units_in_hull"] == 200)


def test_flatness_scalings():
    """Glorot zero bias: R2_0 = O(1/H), TV_0 = O(1); fan-in scaled torch: R2_0 = O(1), TV ∝ sqrt(H)."""
    glo = {H: flatness_stats(sample_init("glorot", H, 400, rng=H)) for H in (100, 1000)}
    for H, df in glo.items():
        assert df["r2_0"].mean() == pytest.approx(4 * H / (1 + H) ** 2, rel=0.15)
    assert glo[1000]["r2_0"].mean() < 0.2 * glo[100]["r2_0"].mean()
    tor = {H: flatness_stats(sample_init("torch", H, 40, rng=H), n_grid=101) for H in (100, 10_000)}
    for df in tor.values():
        assert df["r2_0"].mean() == pytest.approx(1 / 12, rel=0.15)
    slope = np.log(tor[10_000]["tv_0"].mean() / tor[100]["tv_0"].mean()) / np.log(100)
    assert abs(slope - 0.5) < 0.05


def test_flatness_per_draw_values_against_brute_force():
    d = sample_init("torch", 30, 5, rng=4)
    df = flatness_stats(d, hull=(-1, 1), data_x=D1_X, data_y=D1_Y, n_grid=401)
    xg = np.linspace(-1, 1, 401)
    jl = np.diff(np.diff(D1_Y) / np.diff(D1_X))
    for i in range(5):
        sp = spline_from_network(d["w"][i], d["b"][i], d["v"][i], d["c"][i])
        P = spline_pieces(sp)
        inside = (P.knots >= -1) & (P.knots <= 1)
        assert df["n_knots"][i] == np.sum(inside & ~P.invisible)
        k = np.searchsorted(P.knots, [-1.0], side="right")[0]
        pieces_in = np.arange(k, np.searchsorted(P.knots, 1.0, side="left") + 1)
        assert df["max_abs_slope"][i] == pytest.approx(np.abs(P.slopes[pieces_in]).max(), rel=1e-12)
        mu = sp.delta_slope[(sp.breakpoint >= -1) & (sp.breakpoint <= 1)]
        assert df["r2_0"][i] == pytest.approx(np.sum(mu**2), rel=1e-12)
        assert df["tv_0"][i] == pytest.approx(np.sum(np.abs(mu)), rel=1e-12)
        f = network_forward(d["w"][i], d["b"][i], d["v"][i], d["c"][i], xg)
        assert df["var_f0"][i] == pytest.approx(f.var(), rel=1e-10)
    assert df["r2_li"][0] == pytest.approx(np.sum(jl**2)) and df["tv_li"][0] == pytest.approx(np.sum(np.abs(jl)))
    np.testing.assert_allclose(df["r2_ratio"], df["r2_0"] / np.sum(jl**2))
