"""Data sets, loss-surface constructions and figure tables for splines.md, 'Loss surface, critical points, Hessian'
(also 'Training protocol and implementation', 'Figures F1–F8' F4/F5, 'Automated tests' T12-T15).

Every construction returns a plain dict of float64 arrays: data (x, y), spline parameters (beta, mu, s, c)
and an NN representative (w, b, v, c) with per-unit scales a (w = s a, b = -w beta, v = mu / a).
All choices here (seeds, margins, ranges) are reconstructions, not the paper's; callers record them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.splines import landscape as ls

D4_SEED = 4  # fixed seed of the D4 abscissae (reconstruction)


# ---------------------------------------------------------------------------------------------- data


def dataset_d3():
    """D3: 6 equispaced points on [-1, 1], y = sin(pi x) (Hessian constructions)."""
    x = np.linspace(-1.0, 1.0, 6)
    return x, np.sin(np.pi * x)


def dataset_d4(seed: int = D4_SEED, n: int = 40):
    """D4: n = 40 sorted U(-1, 1) draws with a fixed seed, y = sin(3 pi x) (strict saddle)."""
    x = np.sort(np.random.default_rng(seed).uniform(-1.0, 1.0, n))
    return x, np.sin(3 * np.pi * x)


def dataset_d5(n: int = 100):
    """D5: n (50-200) grid points on [-1, 1], y = sin(pi x) (F8)."""
    x = np.linspace(-1.0, 1.0, n)
    return x, np.sin(np.pi * x)


def _with_nn(x, y, beta, mu, s, c, a, **extra) -> dict:
    w, b, v, c = ls.nn_params_from_spline(beta, mu, s, c, a)
    return dict(x=x, y=y, beta=beta, mu=mu, s=s, c=float(c), a=a, w=w, b=b, v=v, **extra)


def rebalance(point: dict) -> dict:
    """Same spline (same f), balanced per-unit scales a_i (delta_i = 0; a_i = 1 where mu_i = 0)."""
    keep = {k: val for k, val in point.items() if k not in ("a", "w", "b", "v")}
    a = ls.balanced_scales(point["beta"], point["mu"])
    return _with_nn(a=a, **keep)


def _knots_off_data(rng, x, lo, hi, size, margin):
    """Uniform knots in (lo, hi), redrawn until each is >= margin from every data point."""
    out = rng.uniform(lo, hi, size)
    while True:
        bad = ls.distance_to_data(x, out) < margin
        if not bad.any():
            return out
        out[bad] = rng.uniform(lo, hi, int(bad.sum()))


def generic_point(x, y, H: int = 5, seed: int = 0, margin: float = 1e-3) -> dict:
    """A generic (non-critical) point: knots in the padded hull, >= margin from data, random s, mu, c, a."""
    rng = np.random.default_rng(seed)
    x, y = np.asarray(x, float), np.asarray(y, float)
    span = x[-1] - x[0]
    beta = _knots_off_data(rng, x, x[0] - 0.3 * span, x[-1] + 0.3 * span, H, margin)
    s = rng.choice([-1.0, 1.0], H)
    mu = rng.normal(0.0, 0.8, H)
    return _with_nn(x, y, beta, mu, s, rng.normal(0.0, 0.3), rng.uniform(0.5, 2.0, H))


# ------------------------------------------------------------------------------- T12: interpolating min


def interpolating_minimum_d3(seed: int = 0, a_range=(0.5, 2.0)) -> dict:
    """T12 construction on D3, H = 8: knots at the 5 gap midpoints, one unit outside the hull on each side,
    one more unit sharing a gap; random s; (mu, c) by min-norm least squares (interpolates: rank = N);
    dead units (outside, facing away) get a random nonzero mu, which leaves f on the data unchanged;
    random non-balanced a_i in a_range."""
    rng = np.random.default_rng(seed)
    x, y = dataset_d3()
    N = x.size
    mids = 0.5 * (x[:-1] + x[1:])
    k = int(rng.integers(0, N - 1))  # gap shared by the extra interior unit
    width = x[k + 1] - x[k]
    shared = mids[k] + rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 0.35) * width  # off midpoint and data
    beta = np.concatenate([mids, [x[0] - rng.uniform(0.2, 0.6), x[-1] + rng.uniform(0.2, 0.6), shared]])
    roles = ["midpoint"] * (N - 1) + ["outside_left", "outside_right", "shared_gap"]
    H = beta.size
    while True:  # redraw orientations until the features span R^N (exact interpolation possible)
        s = rng.choice([-1.0, 1.0], H)
        Phi = np.hstack([ls.spline_features(x, beta, s), np.ones((N, 1))])
        if np.linalg.matrix_rank(Phi) == N:
            break
    sol = np.linalg.lstsq(Phi, y, rcond=None)[0]
    mu, c = sol[:H].copy(), float(sol[H])
    dead = ~ls.spline_active(x, beta, s).any(axis=0)
    mu[dead] = rng.choice([-1.0, 1.0], int(dead.sum())) * rng.uniform(0.5, 1.5, int(dead.sum()))
    a = rng.uniform(*a_range, H)
    return _with_nn(x, y, beta, mu, s, c, a, roles=roles, dead=dead)


# ---------------------------------------------------------------------------------- T13: strict saddle


def _mu_roots(x, r, s_j: float, margin: float):
    """Roots in beta of dL/dmu_j|_{mu_j=0} = (1/N) sum_{A_j} r s_j (x - beta): linear in each gap."""
    N = x.size
    roots = []
    for k in range(1, N):  # gap (x[k-1], x[k])
        idx = slice(k, N) if s_j > 0 else slice(0, k)
        S0, S1 = r[idx].sum(), (r[idx] * x[idx]).sum()
        if S0 == 0:
            continue
        beta = S1 / S0
        if x[k - 1] + margin <= beta <= x[k] - margin:
            roots.append((beta, -(s_j / N) * S0))
    return roots


def strict_saddle_d4(seed: int = D4_SEED, s_j: float = 1.0, a=(1.0, 1.0), margin: float = 1e-3) -> dict:
    """T13 construction on D4: c plus one right-facing unit left of the data fit the least-squares line;
    unit j = 1 has mu_j = 0 at the root of dL/dmu_j with the largest |q_j| (a strict saddle)."""
    x, y = dataset_d4(seed)
    beta0 = x[0] - 0.5
    Phi = np.stack([x - beta0, np.ones_like(x)], axis=1)
    mu0, c = np.linalg.lstsq(Phi, y, rcond=None)[0]
    r = Phi @ np.array([mu0, c]) - y
    roots = _mu_roots(x, r, s_j, margin)
    if not roots:
        raise RuntimeError("no interior root of dL/dmu_j off the data")
    beta_j, q_j = max(roots, key=lambda t: abs(t[1]))
    beta = np.array([beta0, beta_j])
    mu = np.array([mu0, 0.0])
    s = np.array([1.0, s_j])
    return _with_nn(x, y, beta, mu, s, float(c), np.asarray(a, float), saddle_unit=1, q=float(q_j))


# ------------------------------------------------------------------------------ T15: cell critical point


def cell_active_masks(N: int, gaps, s) -> np.ndarray:
    """(N, H) masks of a cell: s = +1 in gap g is active on x_{g+1..N}; s = -1 on x_{1..g} (1-based)."""
    n = np.arange(N)[:, None]
    gaps, s = np.asarray(gaps), np.asarray(s)
    return np.where(s > 0, n >= gaps, n < gaps)


def cell_projection(x, y, gaps, s) -> np.ndarray:
    """Orthogonal projection of y onto V_cell = span{1, 1_{A_i}, x * 1_{A_i}} (via an SVD basis)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    A = cell_active_masks(x.size, gaps, s).astype(float)
    V = np.hstack([np.ones((x.size, 1)), A, A * x[:, None]])
    U, sv, _ = np.linalg.svd(V, full_matrices=False)
    U = U[:, sv > sv[0] * 1e-12]
    return U @ (U.T @ y)


def random_cell_critical_point(
    x, y, H: int, seed: int = 0, max_tries: int = 20000, margin: float = 1e-3, a_range=(0.5, 2.0)
):
    """T15: draw cells with one unit per (gap, s) class (dead classes excluded), solve least squares in
    (mu, gamma, c), and return the first draw whose beta_i = gamma_i/mu_i all lie in their gaps (>= margin
    from data), else None. Within a cell f(x_n) = c + sum_{A_i} s_i (mu_i x_n - gamma_i) is linear."""
    rng = np.random.default_rng(seed)
    x, y = np.asarray(x, float), np.asarray(y, float)
    N = x.size
    classes = [
        (g, sg) for g in range(N + 1) for sg in (-1.0, 1.0) if not (g == 0 and sg < 0) and not (g == N and sg > 0)
    ]
    lo = np.concatenate([[-np.inf], x])
    hi = np.concatenate([x, [np.inf]])
    for t in range(max_tries):
        pick = rng.choice(len(classes), H, replace=False)
        gaps = np.array([classes[p][0] for p in pick])
        s = np.array([classes[p][1] for p in pick])
        A = cell_active_masks(N, gaps, s).astype(float)
        # a unit active on all data is affine there, so its beta is not identified: pin it outside the
        # hull (gamma = mu beta_out) instead of letting the min-norm solution place it arbitrarily
        outer = A.all(axis=0)
        beta_out = np.where(s > 0, x[0] - 0.25 * (x[-1] - x[0]), x[-1] + 0.25 * (x[-1] - x[0]))
        mu_col = s * A * np.where(outer, x[:, None] - beta_out, x[:, None])
        Phi = np.hstack([mu_col, -(s * A)[:, ~outer], np.ones((N, 1))])
        sol = np.linalg.lstsq(Phi, y, rcond=None)[0]
        mu, c = sol[:H], float(sol[-1])
        gamma = mu * beta_out
        gamma[~outer] = sol[H:-1]
        if np.any(np.abs(mu) < 1e-8):
            continue
        beta = gamma / mu
        if np.all((beta >= lo[gaps] + margin) & (beta <= hi[gaps] - margin)):
            return _with_nn(x, y, beta, mu, s, c, rng.uniform(*a_range, H), gaps=gaps, gamma=gamma, tries=t + 1)
    return None


# --------------------------------------------------------------------------------------- F4: loss slices


def _unit_losses(x, y, f_rest, beta, mu, s):
    """L for many (beta, mu) values of one unit with everything else fixed; vectorized over the grid."""
    r = f_rest[None, :] + mu[:, None] * np.maximum(s * (x[None, :] - beta[:, None]), 0.0) - y[None, :]
    return 0.5 * np.mean(r * r, axis=1)


def loss_slices_table(
    x, y, beta, mu, s, c, units=None, n_beta: int = 2001, n_grid: int = 60, pad: float = 0.25, h: float = 1e-6
):
    """F4 long table (kind, unit, orientation, beta, mu, gamma, gap, loss) with kinds
    'beta_slice' (L vs beta_i, others fixed), 'beta_mu_grid' and 'mu_gamma_grid' (beta_i = gamma_i/mu_i;
    the mu grid has an even count, so mu = 0 is skipped). Second table, the checks: per data point the
    predicted slope jump mu_i r_m/N of L(beta_i) vs the one-sided 3-point FD jump (exact on quadratics),
    and per interior gap the predicted curvature mu_i^2 |A_i|/N vs a second difference (columns check,
    unit, location, data_index | gap, predicted, measured, abs_error, rel_error)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    beta, mu, s = (np.asarray(a, float) for a in (beta, mu, s))
    N, H = x.size, beta.size
    units = range(H) if units is None else units
    span = x[-1] - x[0]
    bgrid = np.linspace(x[0] - pad * span, x[-1] + pad * span, n_beta)
    rows, checks = [], []
    for i in units:
        mu_rest = mu.copy()
        mu_rest[i] = 0.0
        f_rest = ls.spline_output(x, beta, mu_rest, s, c)
        si, mi = s[i], mu[i]

        def loss_at(bs, ms):
            return _unit_losses(x, y, f_rest, np.atleast_1d(bs), np.atleast_1d(ms), si)

        L = loss_at(bgrid, np.full_like(bgrid, mi))
        rows.append(
            pd.DataFrame(dict(kind="beta_slice", unit=i, orientation=si, beta=bgrid, mu=mi, gamma=mi * bgrid, loss=L))
        )
        mspan = 2.0 * max(abs(mi), 0.5)
        B, M = np.meshgrid(np.linspace(bgrid[0], bgrid[-1], n_grid), np.linspace(mi - mspan, mi + mspan, n_grid))
        rows.append(
            pd.DataFrame(
                dict(
                    kind="beta_mu_grid",
                    unit=i,
                    orientation=si,
                    beta=B.ravel(),
                    mu=M.ravel(),
                    gamma=(B * M).ravel(),
                    loss=loss_at(B.ravel(), M.ravel()),
                )
            )
        )
        mmax = abs(mi) + mspan
        gmax = mmax * max(abs(bgrid[0]), abs(bgrid[-1]))
        M, G = np.meshgrid(np.linspace(-mmax, mmax, 2 * (n_grid // 2)), np.linspace(-gmax, gmax, n_grid))
        Bg = G / M
        rows.append(
            pd.DataFrame(
                dict(
                    kind="mu_gamma_grid",
                    unit=i,
                    orientation=si,
                    beta=Bg.ravel(),
                    mu=M.ravel(),
                    gamma=G.ravel(),
                    loss=loss_at(Bg.ravel(), M.ravel()),
                )
            )
        )
        for m in range(N):  # slope jump of L(beta_i) at each data point (unit contributes 0 at x_m there)
            xm = x[m]
            Lp = loss_at(xm + np.array([0.0, h, 2 * h]), np.full(3, mi))
            Lm = loss_at(xm - np.array([0.0, h, 2 * h]), np.full(3, mi))
            right = (-3 * Lp[0] + 4 * Lp[1] - Lp[2]) / (2 * h)
            left = (3 * Lm[0] - 4 * Lm[1] + Lm[2]) / (2 * h)
            checks.append(
                dict(
                    check="jump",
                    unit=i,
                    location=xm,
                    data_index=m,
                    predicted=mi * (f_rest[m] - y[m]) / N,
                    measured=right - left,
                )
            )
        for g in range(1, N):  # curvature of L(beta_i) inside each interior gap
            mid, hc = 0.5 * (x[g - 1] + x[g]), 0.25 * (x[g] - x[g - 1])
            L3 = loss_at(mid + np.array([-hc, 0.0, hc]), np.full(3, mi))
            n_active = int(ls.spline_active(x, [mid], [si]).sum())
            checks.append(
                dict(
                    check="curvature",
                    unit=i,
                    location=mid,
                    gap=g,
                    predicted=mi**2 * n_active / N,
                    measured=(L3[0] - 2 * L3[1] + L3[2]) / hc**2,
                )
            )
    table = pd.concat(rows, ignore_index=True)
    table["gap"] = ls.gap_index(x, table["beta"].to_numpy())
    checks = pd.DataFrame(checks)
    checks["abs_error"] = (checks["measured"] - checks["predicted"]).abs()
    checks["rel_error"] = checks["abs_error"] / checks["predicted"].abs().where(checks["predicted"] != 0)
    return table, checks


# ------------------------------------------------------------------------------------- F5: Hessian spectra


def _hessians(p: dict):
    spline_h = ls.spline_hessian(p["x"], p["y"], p["beta"], p["mu"], p["s"], p["c"])
    nn_h = ls.nn_hessian_autograd(p["x"], p["y"], p["w"], p["b"], p["v"], p["c"])
    return {"spline": spline_h, "nn": nn_h}


def hessian_spectra_table(minimum: dict | None = None, saddle: dict | None = None, rel_tol: float = 1e-6):
    """F5 long table (case, coordinates, index, eigenvalue, abs_eigenvalue, is_zero), eigenvalues sorted by
    |lambda| descending with their sign kept, for cases 'minimum' (T12), 'saddle' (T13) and
    'minimum_rebalanced' (same f, balanced a_i). Second table, the checks per (case, coordinates): dim,
    n_zero (|lambda| < rel_tol max|lambda|), min_zero_theory (3H+1-N / 2H+1-N at the minima), rank,
    n_negative, lambda_min/max, the strict-saddle bounds (spline), max ||H t_i|| (NN) and the largest
    sorted-eigenvalue change vs 'minimum' (zero in spline coordinates, nonzero in NN coordinates)."""
    minimum = interpolating_minimum_d3() if minimum is None else minimum
    saddle = strict_saddle_d4() if saddle is None else saddle
    cases = {"minimum": minimum, "saddle": saddle, "minimum_rebalanced": rebalance(minimum)}
    rows, checks, spectra = [], [], {}
    for case, p in cases.items():
        H, N = p["beta"].size, p["x"].size
        theory = ls.min_zero_eigenvalues(H, N)
        for coords, Hm in _hessians(p).items():
            lam = ls.hessian_eigenvalues(Hm)
            spectra[case, coords] = lam
            order = np.argsort(-np.abs(lam), kind="stable")
            lam_sorted = lam[order]
            tol = rel_tol * np.abs(lam).max()
            rows.append(
                pd.DataFrame(
                    dict(
                        case=case,
                        coordinates=coords,
                        index=np.arange(lam.size),
                        eigenvalue=lam_sorted,
                        abs_eigenvalue=np.abs(lam_sorted),
                        is_zero=np.abs(lam_sorted) < tol,
                    )
                )
            )
            row = dict(
                case=case,
                coordinates=coords,
                H=H,
                N=N,
                dim=lam.size,
                n_zero=ls.count_zero_eigenvalues(lam, rel_tol),
                min_zero_theory=theory[coords] if case != "saddle" else np.nan,
                n_negative=int(np.sum(lam < -tol)),
                lambda_min=lam[0],
                lambda_max=lam[-1],
                saddle_lower=np.nan,
                saddle_upper=np.nan,
                max_tangent_residual=np.nan,
                max_abs_diff_vs_minimum=np.nan,
            )
            row["rank"] = row["dim"] - row["n_zero"]
            if case == "saddle" and coords == "spline":
                bnd = ls.strict_saddle_bounds(p["x"], p["y"], p["beta"], p["mu"], p["s"], p["c"], p["saddle_unit"])
                row.update(saddle_lower=bnd["lower"], saddle_upper=bnd["upper"])
            if coords == "nn":
                T = ls.rescaling_tangents(p["w"], p["b"], p["v"])
                row["max_tangent_residual"] = float(np.linalg.norm(T @ Hm.T, axis=1).max())
            if case == "minimum_rebalanced":
                row["max_abs_diff_vs_minimum"] = float(np.abs(lam - spectra["minimum", coords]).max())
            checks.append(row)
    return pd.concat(rows, ignore_index=True), pd.DataFrame(checks)
