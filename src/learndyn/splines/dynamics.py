"""Gradient-flow dynamics of the spline parameters induced by NN training (splines.md, 'Gradient-flow dynamics').

NN gradient flow theta' = -grad_theta L moves (beta_i, mu_i) by -P_i grad_(beta_i, mu_i) L with the per-unit
preconditioner P_i = J_phi,i J_phi,i^T, and conserves delta_i = v_i^2 - w_i^2 - b_i^2. Plain float64 numpy;
needs w_i != 0 and knots off data points. Orderings as in landscape.py.
"""

from __future__ import annotations

import numpy as np

from learndyn.splines.landscape import (
    _vec,
    nn_gradients,
    nn_residuals,
    phi_jacobian_units,
    spline_active,
    spline_gradients,
    spline_params_from_nn,
    spline_residuals,
)


def induced_velocities(x, y, w, b, v, c):
    """(beta', mu', c') under NN gradient flow, closed form (splines.md, 'Gradient-flow dynamics'):
    beta_i' = (s_i mu_i/(N w_i^2)) sum_A r (1 + beta_i x),  mu_i' = -(s_i/N) sum_A r [w_i^2 (x - beta_i) + v_i^2 x].
    """
    x, w, v = _vec(x), _vec(w), _vec(v)
    N = x.size
    beta, mu, s, c = spline_params_from_nn(w, b, v, c)
    r = nn_residuals(x, y, w, b, v, c)
    A = spline_active(x, beta, s).astype(np.float64)
    X = x[:, None]
    beta_dot = (s * mu / (N * w**2)) * (r @ (A * (1.0 + beta * X)))
    mu_dot = -(s / N) * (r @ (A * (w**2 * (X - beta) + v**2 * X)))
    return beta_dot, mu_dot, -float(np.mean(r))


def preconditioner(w, b, v) -> np.ndarray:
    """P_i = [[(1+beta^2)/w^2, -beta v/|w|], [-beta v/|w|, w^2 + v^2]] as (H, 2, 2), from the closed form."""
    w, b, v = _vec(w), _vec(b), _vec(v)
    beta = -b / w
    P = np.empty((w.size, 2, 2))
    P[:, 0, 0] = (1.0 + beta**2) / w**2
    P[:, 0, 1] = P[:, 1, 0] = -beta * v / np.abs(w)
    P[:, 1, 1] = w**2 + v**2
    return P


def preconditioner_from_jacobian(w, b, v) -> np.ndarray:
    """P_i = J_phi,i J_phi,i^T (the definition)."""
    J = phi_jacobian_units(w, b, v)
    return J @ np.transpose(J, (0, 2, 1))


def preconditioner_det(w, b, v) -> np.ndarray:
    """det P_i = 1 + beta_i^2 + v_i^2/w_i^2 > 0: NN training is never degenerate in (beta, mu) while w != 0."""
    w, b, v = _vec(w), _vec(b), _vec(v)
    return 1.0 + (b / w) ** 2 + (v / w) ** 2


def metric_velocities(x, y, w, b, v, c):
    """(beta', mu', c') in metric form: -P_i (dL/dbeta_i, dL/dmu_i), c' = -dL/dc."""
    beta, mu, s, c = spline_params_from_nn(w, b, v, c)
    g_beta, g_mu, g_c = spline_gradients(x, y, beta, mu, s, c)
    vel = -np.einsum("hij,hj->hi", preconditioner(w, b, v), np.stack([g_beta, g_mu], axis=1))
    return vel[:, 0], vel[:, 1], -g_c


def balance_invariant(w, b, v) -> np.ndarray:
    """delta_i = v_i^2 - w_i^2 - b_i^2 = v_i^2 - w_i^2 (1 + beta_i^2), conserved by gradient flow."""
    w, b, v = _vec(w), _vec(b), _vec(v)
    return v**2 - w**2 - b**2


def gd_step(x, y, w, b, v, c, eta: float):
    """One full-batch GD step; returns (w+, b+, v+, c+) and the gradients (gw, gb, gv, gc) it used."""
    gw, gb, gv, gc = nn_gradients(x, y, w, b, v, c)
    new = (_vec(w) - eta * gw, _vec(b) - eta * gb, _vec(v) - eta * gv, float(c) - eta * gc)
    return new, (gw, gb, gv, gc)


def delta_step_increment(gw, gb, gv, eta: float) -> np.ndarray:
    """Exact per-step change delta+ - delta = eta^2 (g_v^2 - g_w^2 - g_b^2): the first-order term
    -2 eta (v g_v - w g_w - b g_b) vanishes identically, so drift at fixed T = eta*steps is O(eta)."""
    return eta**2 * (_vec(gv) ** 2 - _vec(gw) ** 2 - _vec(gb) ** 2)


def gd_run(x, y, w, b, v, c, eta: float, n_steps: int):
    """n_steps plain GD steps (no refresh); returns the final (w, b, v, c)."""
    x, y = _vec(x), _vec(y)
    w, b, v, c = _vec(w).copy(), _vec(b).copy(), _vec(v).copy(), float(c)
    for _ in range(int(n_steps)):
        (w, b, v, c), _ = gd_step(x, y, w, b, v, c, eta)
    return w, b, v, c


def closure_from_spline(beta, mu, delta):
    """(w^2, v^2) from (beta, mu, delta): the positive root of (1+beta^2) W^2 + delta W - mu^2 = 0, W = w^2,
    written without cancellation for delta > 0; v^2 = delta + w^2 (1 + beta^2)."""
    beta, mu, delta = _vec(beta), _vec(mu), _vec(delta)
    k = 1.0 + beta**2
    root = np.sqrt(delta**2 + 4.0 * k * mu**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        w2 = np.where(delta > 0, 2.0 * mu**2 / (delta + root), (root - delta) / (2.0 * k))
    return w2, delta + w2 * k


def balanced_velocities(x, y, beta, mu, s, c):
    """(beta', mu') for balanced units (delta = 0): knot speed independent of |mu|, mu' proportional to |mu|.
    beta' = s sgn(mu) sqrt(1+beta^2) (1/N) sum_A r (1 + beta x)
    mu'   = -(s |mu| / (N sqrt(1+beta^2))) sum_A r [(x - beta) + (1 + beta^2) x]
    """
    x, beta, mu, s = _vec(x), _vec(beta), _vec(mu), _vec(s)
    N = x.size
    r = spline_residuals(x, y, beta, mu, s, c)
    A = spline_active(x, beta, s).astype(np.float64)
    X = x[:, None]
    k = np.sqrt(1.0 + beta**2)
    beta_dot = s * np.sign(mu) * k * (r @ (A * (1.0 + beta * X))) / N
    mu_dot = -(s * np.abs(mu) / (N * k)) * (r @ (A * ((X - beta) + k**2 * X)))
    return beta_dot, mu_dot
