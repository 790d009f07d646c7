"""Implicit-regularisation metrics M1–M6 (splines.md, 'Implicit regularization: metrics, sweeps, expected outcomes'; a
reconstruction, not the paper's statistics).

All metrics are computed from spline parameters (spline.py) at t = 0 and t = T; f is evaluated with
the piecewise form on a grid G of 4001 points on the data hull [x_1, x_N], never by calling a network.
The references are the natural cubic spline interpolant (NCS, scipy CubicSpline bc_type="natural"),
the linear interpolant (LI) and the finite-H lazy (kernel) prediction f_lazy of splines.md, 'Kernel-regime curvature
penalty ζ'.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from learndyn.splines.spline import Spline, evaluate_pieces, merge_knots, spline_from_network, spline_pieces, to_numpy

__all__ = [
    "N_GRID",
    "hull_grid",
    "as_spline",
    "rms",
    "interpolant_distances",
    "knot_displacement",
    "pinning_fraction",
    "pinning_chance",
    "effective_kinks",
    "roughness",
    "li_roughness",
    "ncs_curvature",
    "lazy_prediction",
    "lazy_rms",
    "implicit_regularisation_metrics",
]

N_GRID = 4001


def _data(x, y):
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    o = np.argsort(x, kind="stable")
    return x[o], y[o]


def hull_grid(x, n: int = N_GRID) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.linspace(x.min(), x.max(), n)


def as_spline(params, far_tol: float = 1e-12) -> Spline:
    """Accept a Spline or a dict of one network's arrays w, b, v, c."""
    if isinstance(params, Spline):
        return params
    return spline_from_network(params["w"], params["b"], params["v"], params.get("c", 0.0), far_tol)


def rms(a) -> float:
    return float(np.sqrt(np.mean(np.square(a))))


def _hull_knots(sp: Spline, lo: float, hi: float):
    """Non-far breakpoints in the closed hull and their delta-slopes."""
    m = (~sp.far) & (sp.breakpoint >= lo) & (sp.breakpoint <= hi)
    return sp.breakpoint[m], sp.delta_slope[m]


def interpolant_distances(fT_grid, x, y, grid=None) -> dict:
    """M1: d_cs = RMS_G(f_T − NCS)/RMS_G(NCS − LI), d_li = RMS_G(f_T − LI)/RMS_G(NCS − LI), raw RMS."""
    x, y = _data(x, y)
    grid = hull_grid(x) if grid is None else grid
    ncs = CubicSpline(x, y, bc_type="natural")(grid)
    li = np.interp(grid, x, y)
    scale = rms(ncs - li)
    r_cs, r_li = rms(fT_grid - ncs), rms(fT_grid - li)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "d_cs": np.float64(r_cs) / scale,
            "d_li": np.float64(r_li) / scale,
            "rms_cs": r_cs,
            "rms_li": r_li,
            "rms_ncs_li": scale,
        }


def knot_displacement(sp0: Spline, spT: Spline) -> dict:
    """M2: median |β_i(T) − β_i(0)| and its |μ_i(T)|-weighted mean, units matched by Spline.unit.

    Excluded and counted: n_far (far at either time, or w_i = 0 at either time, so that there is no
    finite knot to compare; units never seen, e.g. width padding, count here too), n_flipped
    (orientation changed, i.e. w_i crossed 0 and β_i passed through ±∞).
    """
    width = max(sp0.width, spT.width)
    idx0 = np.full(width, -1)
    idxT = np.full(width, -1)
    idx0[sp0.unit], idxT[spT.unit] = np.arange(len(sp0)), np.arange(len(spT))
    both = (idx0 >= 0) & (idxT >= 0)
    i0, iT = idx0[both], idxT[both]
    far = sp0.far[i0] | spT.far[iT]
    flipped = ~far & (sp0.orientation[i0] != spT.orientation[iT])
    ok = ~far & ~flipped
    d = np.abs(spT.breakpoint[iT[ok]] - sp0.breakpoint[i0[ok]])
    wt = np.abs(spT.delta_slope[iT[ok]])
    n_missing = int(np.sum(~both))
    return {
        "displacement_median": float(np.median(d)) if d.size else np.nan,
        "displacement_weighted": float(np.sum(wt * d) / np.sum(wt)) if np.sum(wt) > 0 else np.nan,
        "n_far": int(np.sum(far)) + n_missing,
        "n_flipped": int(np.sum(flipped)),
    }


def pinning_fraction(spT: Spline, x, eps: float = 0.01) -> float:
    """M3: Σ_{in hull, dist(β_i, data) < ε}|μ_i| / Σ_{in hull}|μ_i| (nan if no in-hull mass)."""
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    beta, mu = _hull_knots(spT, x[0], x[-1])
    total = np.sum(np.abs(mu))
    if not total > 0:
        return np.nan
    j = np.clip(np.searchsorted(x, beta), 1, x.size - 1)
    dist = np.minimum(np.abs(beta - x[j - 1]), np.abs(beta - x[j]))
    return float(np.sum(np.abs(mu[dist < eps])) / total)


def pinning_chance(x, eps: float = 0.01) -> float:
    """Chance baseline |{t ∈ hull : dist(t, data) < ε}| / |hull| (union of ε-balls, clipped)."""
    x = np.unique(np.asarray(x, dtype=np.float64))
    lo, hi = x[0], x[-1]
    if hi == lo:
        return 1.0
    left, right = np.maximum(x - eps, lo), np.minimum(x + eps, hi)
    # consecutive balls overlap when the gap is < 2ε: count each overlap once
    covered = np.sum(right - left) - np.sum(np.maximum(right[:-1] - left[1:], 0.0))
    return float(covered / (hi - lo))


def effective_kinks(spT: Spline, x, merge_tol: float = 1e-3, rel: float = 0.01) -> int:
    """M4: merge in-hull knots within merge_tol (chains, summing μ); count |J| > rel·Σ|J|."""
    x = np.asarray(x, dtype=np.float64)
    beta, mu = _hull_knots(spT, x.min(), x.max())
    _, jumps, *_ = merge_knots(beta, mu, merge_tol)
    total = np.sum(np.abs(jumps))
    return int(np.sum(np.abs(jumps) > rel * total)) if total > 0 else 0


def roughness(sp: Spline, x) -> dict:
    """M5 for f: R2 = Σ_{in hull} μ², TV = Σ_{in hull}|μ| (per unit, non-far, closed hull)."""
    x = np.asarray(x, dtype=np.float64)
    _, mu = _hull_knots(sp, x.min(), x.max())
    return {"r2": float(np.sum(mu**2)), "tv": float(np.sum(np.abs(mu)))}


def li_roughness(x, y) -> dict:
    """R2, TV of the linear interpolant: from its slope jumps at the interior data points."""
    x, y = _data(x, y)
    j = np.diff(np.diff(y) / np.diff(x))
    return {"r2_li": float(np.sum(j**2)), "tv_li": float(np.sum(np.abs(j)))}


def ncs_curvature(x, y) -> float:
    """∫_hull (NCS'')², exact: NCS'' is linear on each gap, ∫ = h(a² + ab + b²)/3."""
    x, y = _data(x, y)
    d2 = CubicSpline(x, y, bc_type="natural").derivative(2)(x)
    h = np.diff(x)
    a, b = d2[:-1], d2[1:]
    return float(np.sum(h * (a * a + a * b + b * b)) / 3.0)


def lazy_prediction(params0: dict, x, y, frozen_c: bool = False, far_tol: float = 1e-12):
    """Finite-H kernel-regime prediction (splines.md, 'Kernel-regime curvature penalty ζ') as a network with the initial
    knots.

    Φ̃ = [Φ, 1], Φ_ni = [w_i⁰x_n + b_i⁰]_+; Δ(v, c) = Φ̃ᵀ(Φ̃Φ̃ᵀ)⁻¹(y − f_0(x)), computed as the
    minimum-norm least-squares solution (identical when Φ̃ has full row rank, still defined when not);
    frozen_c drops the ones column. Returns (Spline of f_lazy, dict of its parameters). f_lazy has the
    same (w, b) as f_0, so it is a spline with the initial knots and μ_i⁰ + |w_i⁰|Δv_i.
    """
    x, y = _data(x, y)
    w, b, v = (to_numpy(params0[k]).ravel() for k in ("w", "b", "v"))
    c = float(to_numpy(params0.get("c", 0.0)).reshape(()))
    sp0 = spline_from_network(w, b, v, c, far_tol)
    resid = y - evaluate_pieces(spline_pieces(sp0), x)
    phi = np.maximum(np.multiply.outer(x, w) + b, 0.0)
    if not frozen_c:
        phi = np.hstack([phi, np.ones((x.size, 1))])
    delta = np.linalg.lstsq(phi, resid, rcond=None)[0]
    p = {"w": w, "b": b, "v": v + delta[: w.size], "c": c + (0.0 if frozen_c else float(delta[-1]))}
    return spline_from_network(p["w"], p["b"], p["v"], p["c"], far_tol), p


def lazy_rms(spT: Spline, params0: dict, x, y, grid=None, frozen_c: bool = False) -> float:
    """M6: RMS_G(f_T − f_lazy)."""
    grid = hull_grid(x) if grid is None else grid
    sp_lazy, _ = lazy_prediction(params0, x, y, frozen_c=frozen_c)
    return rms(evaluate_pieces(spline_pieces(spT), grid) - evaluate_pieces(spline_pieces(sp_lazy), grid))


def implicit_regularisation_metrics(
    params0: dict, paramsT: dict, x, y, eps: float = 0.01, frozen_c: bool = False, far_tol: float = 1e-12
) -> dict:
    """M1–M6 for ONE network from its parameters at t = 0 (params0) and t = T (paramsT).

    params are dicts with arrays w, b, v (shape (H,)) and scalar c. Also returns final_loss =
    (1/2N) Σ_n (f_T(x_n) − y_n)² from the spline form (the pipeline adds steps and a converged flag).
    """
    x, y = _data(x, y)
    sp0, spT = as_spline(params0, far_tol), as_spline(paramsT, far_tol)
    piecesT = spline_pieces(spT)
    grid = hull_grid(x)
    out = interpolant_distances(evaluate_pieces(piecesT, grid), x, y, grid)
    out.update(knot_displacement(sp0, spT))
    out["pinning_fraction"] = pinning_fraction(spT, x, eps)
    out["pinning_chance"] = pinning_chance(x, eps)
    out["effective_kinks"] = effective_kinks(spT, x)
    out.update(roughness(spT, x))
    out.update(li_roughness(x, y))
    out["ncs_curvature"] = ncs_curvature(x, y)
    out["lazy_rms"] = lazy_rms(spT, params0, x, y, grid, frozen_c)
    out["final_loss"] = float(np.mean((evaluate_pieces(piecesT, x) - y) ** 2) / 2)
    out["eps"] = eps
    return out
