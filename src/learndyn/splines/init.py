"""Initialisations of the width-H univariate ReLU net and their laws in spline coordinates (splines.md,
'Initialization').

Every family is reduced to a `law`: (w, b) independent, either uniform U(±A)×U(±B), Gaussian
N(0,σ_w²)×N(0,σ_b²) or zero bias (w Gaussian, b = 0); v and c independent, Normal or uniform. The
breakpoint law, the curvature density ζ and the moments of splines.md, 'Delta-slope and function moments' are closed
forms of that law. Knobs for every family: alpha (all of w, b, v, c scaled by α, so μ -> α²μ) and rho ((w, b) × ρ,
v × 1/ρ, so β, μ and f_0 are unchanged).
Family knobs (defaults are reconstruction choices, record them with runs): gaussian sigma_w = 1,
sigma_b = 1, sigma_v = 1/sqrt(H), sigma_c = 0 (sigma_b = 0 gives the zero-bias law); uniform A = 1,
B = 1, sigma_v = 1/sqrt(H) (v Normal), sigma_c = 0. The "rho" family is torch_like with the rho knob.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.splines.spline import to_numpy

__all__ = [
    "INIT_FAMILIES",
    "draw_init",
    "sample_init",
    "init_law",
    "breakpoint_cdf",
    "breakpoint_pdf",
    "zeta",
    "zeta_integral",
    "init_moments",
    "flatness_stats",
]

INIT_FAMILIES = (
    "torch",
    "gaussian",
    "uniform",
    "he",
    "glorot",
    "lecun",
    "lazy",
    "torch_like",
    "rich",
    "rho",
    "antisymmetric",
)
_FAMILY_KNOBS = {
    "gaussian": ("sigma_w", "sigma_b", "sigma_v", "sigma_c"),
    "uniform": ("A", "B", "sigma_v", "sigma_c"),
}
_COMMON_KNOBS = ("alpha", "rho")


def init_law(family: str, width: int, **knobs) -> dict:
    """Resolve a family + knobs into its law: wb in {uniform, gaussian, zero_bias}, scales sw, sb
    (A, B for uniform; σ_w, σ_b for Gaussian), v/c kind and standard deviations sv, sc."""
    if family not in INIT_FAMILIES:
        raise ValueError(f"unknown init family {family!r}; known: {', '.join(INIT_FAMILIES)}")
    H = int(width)
    if H < 1:
        raise ValueError(f"width must be ≥ 1, got {width}")
    allowed = _FAMILY_KNOBS.get(family, ()) + _COMMON_KNOBS
    for k, val in knobs.items():
        if k not in allowed:
            raise ValueError(f"unknown knob {k!r} for init family {family!r}; allowed: {allowed}")
        if not np.isfinite(val) or val < 0 or (val == 0 and k not in ("sigma_b", "sigma_c")):
            raise ValueError(f"knob {k!r} must be positive and finite, got {val!r}")
    g = knobs.get
    inv = 1.0 / np.sqrt(H)
    if family == "torch":  # nn.Linear(1,H): bound 1/sqrt(1); nn.Linear(H,1): bound 1/sqrt(H)
        law = dict(wb="uniform", sw=1.0, sb=1.0, v="uniform", sv=inv / np.sqrt(3), sc=inv / np.sqrt(3))
    elif family == "gaussian":
        law = dict(
            wb="gaussian",
            sw=g("sigma_w", 1.0),
            sb=g("sigma_b", 1.0),
            v="normal",
            sv=g("sigma_v", inv),
            sc=g("sigma_c", 0.0),
        )
        if law["sb"] == 0:
            law["wb"] = "zero_bias"
    elif family == "uniform":
        law = dict(wb="uniform", sw=g("A", 1.0), sb=g("B", 1.0), v="normal", sv=g("sigma_v", inv), sc=g("sigma_c", 0.0))
    elif family in ("he", "glorot", "lecun"):
        var_w, var_v = {"he": (2.0, 2.0 / H), "glorot": (2.0 / (1 + H), 2.0 / (1 + H)), "lecun": (1.0, 1.0 / H)}[family]
        law = dict(wb="zero_bias", sw=np.sqrt(var_w), sb=0.0, v="normal", sv=np.sqrt(var_v), sc=0.0)
    else:  # training presets (splines.md, 'Training protocol and implementation'): w, b ~ scale·U(±1), v Normal, c = 0
        scale, var_v = {"lazy": (10.0, 1e-4 / H), "rich": (1e-3, 1.0)}.get(family, (1.0, 1 / (3 * H)))
        law = dict(wb="uniform", sw=scale, sb=scale, v="normal", sv=np.sqrt(var_v), sc=0.0)
    alpha, rho = g("alpha", 1.0), g("rho", 1.0)
    law["sw"] *= alpha * rho
    law["sb"] *= alpha * rho
    law["sv"] *= alpha / rho
    law["sc"] *= alpha
    law.update(
        c="uniform" if family == "torch" else "normal", family=family, width=H, antisymmetric=family == "antisymmetric"
    )
    if law["antisymmetric"] and H % 2:
        raise ValueError(f"antisymmetric init needs an even width, got {H}")
    return law


def _draw(law: dict, rng: np.random.Generator, shape: tuple) -> dict:
    """Draw w, b, v (shape) and c (shape[:-1]) from law with one generator (order w, b, v, c)."""
    H = shape[-1]
    half = shape[:-1] + (H // 2,) if law["antisymmetric"] else shape
    if law["wb"] == "uniform":
        w = rng.uniform(-law["sw"], law["sw"], half)
        b = rng.uniform(-law["sb"], law["sb"], half)
    else:
        w = rng.normal(0.0, law["sw"], half)
        b = rng.normal(0.0, law["sb"], half) if law["wb"] == "gaussian" else np.zeros(half)
    if law["v"] == "uniform":
        r = law["sv"] * np.sqrt(3.0)
        v = rng.uniform(-r, r, half)
    else:
        v = rng.normal(0.0, law["sv"], half)
    if law["c"] == "uniform":
        r = law["sc"] * np.sqrt(3.0)
        c = rng.uniform(-r, r, shape[:-1])
    else:
        c = rng.normal(0.0, law["sc"], shape[:-1]) if law["sc"] > 0 else np.zeros(shape[:-1])
    if law["antisymmetric"]:  # paired units with opposite v: f_0 ≡ c = 0
        w, b, v = (np.concatenate(p, axis=-1) for p in ((w, w), (b, b), (v, -v)))
    return dict(w=w, b=b, v=v, c=c)


def draw_init(family: str, width: int, seeds, **knobs) -> dict:
    """Arrays w, b, v of shape (len(seeds), width) and c of shape (len(seeds),), float64.

    Each seed uses its own np.random.default_rng(seed), so adding a seed never changes the others.
    """
    law = init_law(family, width, **knobs)
    seeds = [seeds] if np.isscalar(seeds) else list(seeds)
    draws = [_draw(law, np.random.default_rng(s), (law["width"],)) for s in seeds]
    return {
        k: np.stack([d[k] for d in draws]) if draws else np.empty((0, law["width"]) if k != "c" else 0)
        for k in ("w", "b", "v", "c")
    }


def sample_init(family: str, width: int, n_draws: int, rng=None, **knobs) -> dict:
    """Fast Monte Carlo variant of draw_init: n_draws networks from one generator (shape (n, H))."""
    law = init_law(family, width, **knobs)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return _draw(law, rng, (int(n_draws), law["width"]))


def breakpoint_cdf(family: str, beta, width: int = 1, **knobs) -> np.ndarray:
    """P(β ≤ beta) at init: Cauchy(σ_b/σ_w), the uniform (A, B) ratio law, or a step at 0 (zero bias)."""
    law = init_law(family, width, **knobs)
    beta = np.asarray(beta, dtype=np.float64)
    if law["wb"] == "zero_bias":
        return (beta >= 0).astype(np.float64)
    if law["wb"] == "gaussian":
        return 0.5 + np.arctan(beta * law["sw"] / law["sb"]) / np.pi
    A, B = law["sw"], law["sb"]
    t = B / A
    with np.errstate(divide="ignore"):
        return np.where(beta > t, 1 - t / (4 * beta), np.where(beta < -t, -t / (4 * beta), 0.5 + beta / (4 * t)))


def breakpoint_pdf(family: str, beta, width: int = 1, **knobs) -> np.ndarray:
    """Density of β at init (zero bias: a point mass, returned as inf at 0 and 0 elsewhere)."""
    law = init_law(family, width, **knobs)
    beta = np.asarray(beta, dtype=np.float64)
    if law["wb"] == "zero_bias":
        return np.where(beta == 0, np.inf, 0.0)
    if law["wb"] == "gaussian":
        g = law["sb"] / law["sw"]
        return g / (np.pi * (g * g + beta * beta))
    t = law["sb"] / law["sw"]
    with np.errstate(divide="ignore"):
        return np.where(np.abs(beta) <= t, 1 / (4 * t), t / (4 * beta * beta))


def zeta(family: str, x, width: int = 1, **knobs) -> np.ndarray:
    """Curvature density ζ(x) = ∫|w|³ p(w, −wx) dw = p_β(x) E[w² | β = x] (splines.md, 'Kernel-regime curvature penalty
    ζ')."""
    law = init_law(family, width, **knobs)
    x = np.asarray(x, dtype=np.float64)
    if law["wb"] == "zero_bias":
        raise ValueError(f"zeta is a point mass at 0 for the zero-bias family {family!r}")
    sw, sb = law["sw"], law["sb"]
    if law["wb"] == "gaussian":
        return 2 * sw**3 * sb**3 / (np.pi * (sb**2 + sw**2 * x * x) ** 2)
    with np.errstate(divide="ignore"):
        return np.where(np.abs(x) <= sb / sw, sw**3 / (8 * sb), sb**3 / (8 * sw * x**4))


def _zeta_primitive(law: dict, x):
    """An antiderivative Z of ζ (Z(±∞) = ±E w²/2), vectorised."""
    x = np.asarray(x, dtype=np.float64)
    sw, sb = law["sw"], law["sb"]
    if law["wb"] == "zero_bias":
        return np.where(x >= 0, 0.5, -0.5) * sw**2
    if law["wb"] == "gaussian":  # x = (σ_b/σ_w) t:  (2σ_w²/π)[t/(2(1+t²)) + arctan(t)/2]
        t = x * sw / sb
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            rational = np.where(np.abs(t) > 1e150, 0.5 / t, t / (2 * (1 + t * t)))  # finite at ±inf
        return (2 * sw**2 / np.pi) * (rational + np.arctan(t) / 2)
    t = sb / sw
    inner = sw**3 / (8 * sb) * x
    with np.errstate(divide="ignore", invalid="ignore"):  # x = 0 lies in the inner branch
        outer = np.sign(x) * (sw**3 / (8 * sb) * t + sb**3 / (24 * sw) * (t**-3 - np.abs(x) ** -3.0))
    return np.where(np.abs(x) <= t, inner, outer)


def zeta_integral(family: str, p, q, width: int = 1, **knobs):
    """∫_p^q ζ (closed interval; for zero bias, E w² if 0 ∈ [p, q])."""
    law = init_law(family, width, **knobs)
    if law["wb"] == "zero_bias":
        p, q = np.asarray(p, float), np.asarray(q, float)
        return np.where((p <= 0) & (q >= 0), law["sw"] ** 2, 0.0)
    return _zeta_primitive(law, q) - _zeta_primitive(law, p)


def init_moments(family: str, width: int, x=(0.1, 0.37, 0.9), interval=(-1.0, 1.0), **knobs) -> dict:
    """Closed forms of splines.md, 'Delta-slope and function moments': E Σμ², E f_0'(x)², E f_0(x)² (at each x) and E
    Σ_{β∈interval} μ².

    E f_0'(x)² holds off the knots (x ≠ 0 for zero bias). Antisymmetric inits have f_0 ≡ 0.
    """
    law = init_law(family, width, **knobs)
    H, sv2, sc2 = law["width"], law["sv"] ** 2, law["sc"] ** 2
    ew2 = law["sw"] ** 2 / (3.0 if law["wb"] == "uniform" else 1.0)
    eb2 = 0.0 if law["wb"] == "zero_bias" else law["sb"] ** 2 / (3.0 if law["wb"] == "uniform" else 1.0)
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    f_on = 0.0 if law["antisymmetric"] else 1.0
    return {
        "E_sum_mu2": H * sv2 * ew2,
        "E_fprime2": f_on * H * sv2 * ew2 / 2,
        "E_f2": f_on * (H * sv2 * (ew2 * x * x + eb2) / 2 + sc2),
        "E_sum_mu2_interval": float(H * sv2 * zeta_integral(family, *interval, width=H, **knobs)),
        "x": x,
        "E_w2": ew2,
        "E_b2": eb2,
        "sigma_v2": sv2,
        "sigma_c2": sc2,
    }


def _relu_eval(w, b, v, c, xg, budget=1 << 22):
    """f_0 on grid xg for R draws at once: (R, G); chunked over draws."""
    R, H = w.shape
    out = np.empty((R, xg.size))
    step = max(1, budget // max(1, H * xg.size))
    for lo in range(0, R, step):
        sl = slice(lo, lo + step)
        pre = w[sl, None, :] * xg[None, :, None] + b[sl, None, :]
        out[sl] = np.einsum("rgh,rh->rg", np.maximum(pre, 0.0), v[sl]) + c[sl, None]
    return out


def flatness_stats(
    params: dict, hull=(-1.0, 1.0), data_x=None, data_y=None, n_grid: int = 401, far_tol: float = 1e-12
) -> pd.DataFrame:
    """Per-draw flatness of f_0 on the hull (splines.md, 'Flatness statistics', a reconstruction), vectorised over
    draws.

    Columns: r2_0 = Σ_{β∈hull} μ², tv_0 = Σ_{β∈hull}|μ|, max_abs_slope = max_hull|f_0'|, n_knots =
    distinct in-hull knot locations with nonzero merged jump (kinks visible in f_0), n_units_in_hull,
    var_f0 = Var_x f_0 over an n_grid grid; with data also r2_li, tv_li, r2_ratio, tv_ratio.
    Units with w = 0 or far units (|w| < far_tol·max|w|) have no knot.
    """
    w, b, v = (np.atleast_2d(to_numpy(params[k])) for k in ("w", "b", "v"))
    c = np.atleast_1d(to_numpy(params.get("c", 0.0))) * np.ones(w.shape[0])
    R, H = w.shape
    lo, hi = float(hull[0]), float(hull[1])
    nz = w != 0
    has = nz & (np.abs(w) >= far_tol * np.max(np.abs(w), axis=1, keepdims=True))  # knots that count
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beta = np.where(nz, -b / np.where(nz, w, 1.0), np.inf)
    mu = v * np.abs(w)  # zero for w = 0
    inside = has & (beta >= lo) & (beta <= hi)
    mu_in = np.where(inside, mu, 0.0)
    # slope just right of lo (every w ≠ 0 unit, far ones included), then the in-hull jumps in order
    m_lo = np.where((w > 0) & (beta <= lo), mu, 0.0).sum(1) - np.where((w < 0) & (beta > lo), mu, 0.0).sum(1)
    key = np.where(inside, beta, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    bsort = np.take_along_axis(key, order, 1)
    msort = np.take_along_axis(mu_in, order, 1)
    strict = (bsort > lo) & (bsort < hi)
    path = m_lo[:, None] + np.cumsum(np.where(strict, msort, 0.0), axis=1)
    max_slope = np.maximum(np.abs(m_lo), np.abs(path).max(axis=1)) if H else np.abs(m_lo)
    # distinct visible knots: group equal in-hull breakpoints per draw, count nonzero merged jumps
    new = np.ones_like(bsort, dtype=bool)
    new[:, 1:] = bsort[:, 1:] != bsort[:, :-1]
    gid = np.cumsum(new.ravel()) - 1
    jumps = np.bincount(gid, weights=msort.ravel())
    finite = np.isfinite(bsort.ravel()[new.ravel()])
    row = np.repeat(np.arange(R), H)[new.ravel()]
    n_knots = np.bincount(row[finite & (jumps != 0)], minlength=R)
    xg = np.linspace(lo, hi, n_grid)
    f0 = _relu_eval(w, b, v, c, xg)
    out = pd.DataFrame(
        {
            "draw": np.arange(R),
            "width": H,
            "r2_0": (mu_in**2).sum(1),
            "tv_0": np.abs(mu_in).sum(1),
            "max_abs_slope": max_slope,
            "n_knots": n_knots,
            "n_units_in_hull": inside.sum(1),
            "var_f0": f0.var(axis=1),
        }
    )
    if data_x is not None:
        dx, dy = np.asarray(data_x, float), np.asarray(data_y, float)
        o = np.argsort(dx)
        jl = np.diff(np.diff(dy[o]) / np.diff(dx[o]))  # LI slope jumps at interior data points
        out["r2_li"], out["tv_li"] = float(np.sum(jl**2)), float(np.sum(np.abs(jl)))
        out["r2_ratio"], out["tv_ratio"] = out["r2_0"] / out["r2_li"], out["tv_0"] / out["tv_li"]
    return out
