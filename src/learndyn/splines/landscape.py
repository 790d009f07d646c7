"""Loss surface of a shallow univariate ReLU net in NN and spline coordinates (splines.md, 'Loss surface, critical
points, Hessian').

Model f(x) = c + sum_i v_i [w_i x + b_i]_+ = c + sum_i mu_i [s_i (x - beta_i)]_+, L = (1/2N) sum_n r_n^2.

Parameter orderings (every flat vector, gradient, Jacobian and Hessian in this module):
    NN      theta   = [w_1..w_H, b_1..b_H, v_1..v_H, c]        length 3H+1
    spline  theta_s = [beta_1..beta_H, mu_1..mu_H, c]           length 2H+1
The orientations s_i = sign(w_i) are discrete, held fixed, and not part of theta_s.

Scope: plain float64 numpy arrays in, numpy out (torch only for the autograd references). The spline
formulas need w_i != 0 and hold off data points (no beta_i == x_n), where L is smooth. The full map phi with
its edge cases (w = 0 folding into c~, far units, merging) lives in spline.py; the two small helpers
below are the w != 0 fast path the Hessian identities are stated for.
"""

from __future__ import annotations

import numpy as np
import torch

from learndyn.splines.gd import loss_and_grads
from learndyn.splines.spline import gap_index, spline_from_network  # noqa: F401 (gap_index: spline.py)

# ----------------------------------------------------------------------------------------------- arrays


def _vec(a) -> np.ndarray:
    return np.atleast_1d(np.asarray(a, dtype=np.float64))


def pack_nn(w, b, v, c) -> np.ndarray:
    """[w, b, v, c] as one flat vector (length 3H+1)."""
    return np.concatenate([_vec(w), _vec(b), _vec(v), [float(c)]])


def unpack_nn(theta):
    theta = _vec(theta)
    H = (theta.size - 1) // 3
    return theta[:H].copy(), theta[H : 2 * H].copy(), theta[2 * H : 3 * H].copy(), float(theta[3 * H])


def pack_spline(beta, mu, c) -> np.ndarray:
    """[beta, mu, c] as one flat vector (length 2H+1)."""
    return np.concatenate([_vec(beta), _vec(mu), [float(c)]])


def unpack_spline(theta_s):
    theta_s = _vec(theta_s)
    H = (theta_s.size - 1) // 2
    return theta_s[:H].copy(), theta_s[H : 2 * H].copy(), float(theta_s[2 * H])


def spline_params_from_nn(w, b, v, c):
    """phi as plain arrays (beta, mu, s, c) for Hessian coordinates, which need every w_i != 0."""
    w = _vec(w)
    if np.any(w == 0):
        raise ValueError("spline coordinates need w_i != 0; use spline.spline_from_network for w = 0 units")
    sp = spline_from_network(w, b, v, c)
    return sp.breakpoint, sp.delta_slope, sp.orientation.astype(np.float64), float(sp.offset)


def balanced_scales(beta, mu) -> np.ndarray:
    """a_i = (|mu_i| / sqrt(1 + beta_i^2))^(1/2), giving delta_i = 0; a_i = 1 where mu_i = 0 (no balanced rep)."""
    beta, mu = _vec(beta), _vec(mu)
    a = np.sqrt(np.abs(mu) / np.sqrt(1.0 + beta**2))
    return np.where(mu == 0, 1.0, a)


def nn_params_from_spline(beta, mu, s, c, a=None):
    """Inverse map w = s a, b = -w beta, v = mu / a for per-unit scales a > 0 (balanced if a is None)."""
    beta, mu, s = _vec(beta), _vec(mu), _vec(s)
    a = balanced_scales(beta, mu) if a is None else _vec(a)
    w = s * a
    return w, -w * beta, mu / a, float(c)


# ------------------------------------------------------------------------------ forward, residuals, loss


def nn_preactivations(x, w, b) -> np.ndarray:
    return np.outer(_vec(x), _vec(w)) + _vec(b)  # (N, H)


def nn_active(x, w, b) -> np.ndarray:
    """A_i as an (N, H) bool mask; strict (relu'(0) = 0, as torch autograd)."""
    return nn_preactivations(x, w, b) > 0


def nn_output(x, w, b, v, c) -> np.ndarray:
    return float(c) + np.maximum(nn_preactivations(x, w, b), 0.0) @ _vec(v)


def spline_features(x, beta, s) -> np.ndarray:
    """[s_i (x_n - beta_i)]_+ as (N, H): df/dmu_i, and the NN features divided by |w_i|."""
    return np.maximum(_vec(s) * (_vec(x)[:, None] - _vec(beta)), 0.0)


def spline_active(x, beta, s) -> np.ndarray:
    return _vec(s) * (_vec(x)[:, None] - _vec(beta)) > 0


def spline_output(x, beta, mu, s, c) -> np.ndarray:
    return float(c) + spline_features(x, beta, s) @ _vec(mu)


def nn_residuals(x, y, w, b, v, c) -> np.ndarray:
    return nn_output(x, w, b, v, c) - _vec(y)


def spline_residuals(x, y, beta, mu, s, c) -> np.ndarray:
    return spline_output(x, beta, mu, s, c) - _vec(y)


def nn_loss(x, y, w, b, v, c) -> float:
    r = nn_residuals(x, y, w, b, v, c)
    return 0.5 * float(np.mean(r * r))


def spline_loss(x, y, beta, mu, s, c) -> float:
    r = spline_residuals(x, y, beta, mu, s, c)
    return 0.5 * float(np.mean(r * r))


# ------------------------------------------------------------------------------------------- gradients


def nn_gradients(x, y, w, b, v, c):
    """Closed form (dL/dw, dL/db, dL/dv, dL/dc): the training loop's own (gd.loss_and_grads), one run.

    Sums run over A_i only, so a dead unit gets exact 0.0."""
    t = lambda a: torch.as_tensor(np.array(_vec(a)))[None]  # noqa: E731  (one run on the run axis)
    _, (gw, gb, gv, gc) = loss_and_grads(
        t(w),
        t(b),
        t(v),
        torch.tensor([float(c)], dtype=torch.float64),
        torch.as_tensor(np.array(_vec(x))),
        torch.as_tensor(np.array(_vec(y))),
    )
    return gw[0].numpy(), gb[0].numpy(), gv[0].numpy(), float(gc[0])


def nn_gradient(x, y, w, b, v, c) -> np.ndarray:
    """Flat NN gradient in the [w, b, v, c] ordering."""
    return pack_nn(*nn_gradients(x, y, w, b, v, c))


def spline_gradients(x, y, beta, mu, s, c):
    """(dL/dbeta, dL/dmu, dL/dc): -(mu s/N) sum_A r, (1/N) sum_A r s (x - beta), mean r (splines.md, 'Loss surface,
    critical points, Hessian')."""
    x, mu, s = _vec(x), _vec(mu), _vec(s)
    N = x.size
    feat = spline_features(x, beta, s)
    A = spline_active(x, beta, s).astype(np.float64)
    r = float(c) + feat @ mu - _vec(y)
    return -(mu * s / N) * (r @ A), (r @ feat) / N, float(np.mean(r))


def spline_gradient(x, y, beta, mu, s, c) -> np.ndarray:
    """Flat spline gradient in the [beta, mu, c] ordering."""
    return pack_spline(*spline_gradients(x, y, beta, mu, s, c))


# ------------------------------------------------------------------------------- spline-coordinate Hessian


def spline_jacobian(x, beta, mu, s) -> np.ndarray:
    """J = df(x_n)/dtheta_s, (N, 2H+1): columns -mu_i s_i 1_A, [s_i(x_n - beta_i)]_+, 1."""
    x, mu, s = _vec(x), _vec(mu), _vec(s)
    A = spline_active(x, beta, s).astype(np.float64)
    return np.hstack([-(mu * s) * A, spline_features(x, beta, s), np.ones((x.size, 1))])


def spline_q(x, y, beta, mu, s, c) -> np.ndarray:
    """q_i = -(s_i/N) sum_{A_i} r_n, the only second-order (residual) term: R[beta_i, mu_i] (splines.md, 'Loss surface,
    critical points, Hessian')."""
    x, s = _vec(x), _vec(s)
    A = spline_active(x, beta, s).astype(np.float64)
    return -(s / x.size) * (spline_residuals(x, y, beta, mu, s, c) @ A)


def spline_hessian(x, y, beta, mu, s, c, residual_term: bool = True) -> np.ndarray:
    """Analytic (1/N) J^T J + R in the [beta, mu, c] ordering; R only couples beta_i with mu_i."""
    x = _vec(x)
    J = spline_jacobian(x, beta, mu, s)
    Hs = J.T @ J / x.size
    if residual_term:
        H = _vec(beta).size
        q = spline_q(x, y, beta, mu, s, c)
        idx = np.arange(H)
        Hs[idx, H + idx] += q
        Hs[H + idx, idx] += q
    return Hs


# ------------------------------------------------------------------------------- autograd references


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)


def _nn_loss_torch(theta, xt, yt):
    H = (theta.shape[0] - 1) // 3
    w, b, v, c = theta[:H], theta[H : 2 * H], theta[2 * H : 3 * H], theta[3 * H]
    r = c + torch.relu(xt[:, None] * w + b) @ v - yt
    return 0.5 * torch.mean(r * r)


def _spline_loss_torch(theta_s, xt, yt, st):
    H = (theta_s.shape[0] - 1) // 2
    beta, mu, c = theta_s[:H], theta_s[H : 2 * H], theta_s[2 * H]
    r = c + torch.relu(st * (xt[:, None] - beta)) @ mu - yt
    return 0.5 * torch.mean(r * r)


def nn_gradient_autograd(x, y, w, b, v, c) -> np.ndarray:
    theta = _t(pack_nn(w, b, v, c)).requires_grad_(True)
    (g,) = torch.autograd.grad(_nn_loss_torch(theta, _t(x), _t(y)), theta)
    return g.numpy()


def nn_hessian_autograd(x, y, w, b, v, c) -> np.ndarray:
    """Exact NN Hessian by autograd (relu'' = 0 off the kinks), [w, b, v, c] ordering."""
    xt, yt = _t(x), _t(y)
    Hm = torch.autograd.functional.hessian(lambda th: _nn_loss_torch(th, xt, yt), _t(pack_nn(w, b, v, c)))
    return Hm.numpy()


def spline_gradient_autograd(x, y, beta, mu, s, c) -> np.ndarray:
    theta_s = _t(pack_spline(beta, mu, c)).requires_grad_(True)
    (g,) = torch.autograd.grad(_spline_loss_torch(theta_s, _t(x), _t(y), _t(s)), theta_s)
    return g.numpy()


def spline_hessian_autograd(x, y, beta, mu, s, c) -> np.ndarray:
    xt, yt, st = _t(x), _t(y), _t(s)
    Hm = torch.autograd.functional.hessian(lambda th: _spline_loss_torch(th, xt, yt, st), _t(pack_spline(beta, mu, c)))
    return Hm.numpy()


# ----------------------------------------------------------------------------- the map phi, derivatives


def phi_jacobian_units(w, b, v) -> np.ndarray:
    """Per-unit J_phi,i as (H, 2, 3): rows (beta, mu), columns (w, b, v)."""
    w, b, v = _vec(w), _vec(b), _vec(v)
    s = np.sign(w)
    J = np.zeros((w.size, 2, 3))
    J[:, 0, 0] = b / w**2  # dbeta/dw
    J[:, 0, 1] = -1.0 / w  # dbeta/db
    J[:, 1, 0] = s * v  # dmu/dw
    J[:, 1, 2] = np.abs(w)  # dmu/dv
    return J


def phi_jacobian(w, b, v) -> np.ndarray:
    """Full J_phi, (2H+1, 3H+1): rows [beta, mu, c], columns [w, b, v, c]."""
    Ju = phi_jacobian_units(w, b, v)
    H = Ju.shape[0]
    J = np.zeros((2 * H + 1, 3 * H + 1))
    idx = np.arange(H)
    for row in range(2):
        for col in range(3):
            J[row * H + idx, col * H + idx] = Ju[:, row, col]
    J[2 * H, 3 * H] = 1.0
    return J


def phi_curvature_term(w, b, v, g_beta, g_mu) -> np.ndarray:
    """sum_k (dL/dphi_k) Hess(phi_k) in NN ordering: d2beta/dw2 = -2b/w^3, d2beta/dwdb = 1/w^2, d2mu/dwdv = s."""
    w, b = _vec(w), _vec(b)
    g_beta, g_mu = _vec(g_beta), _vec(g_mu)
    H = w.size
    M = np.zeros((3 * H + 1, 3 * H + 1))
    i = np.arange(H)
    M[i, i] = g_beta * (-2.0 * b / w**3)
    M[i, H + i] = M[H + i, i] = g_beta / w**2
    M[i, 2 * H + i] = M[2 * H + i, i] = g_mu * np.sign(w)
    return M


def nn_hessian_two_ways(x, y, w, b, v, c, curvature_term: bool = True) -> np.ndarray:
    """H_NN = J_phi^T H_s J_phi (+ sum_k dL/dphi_k Hess phi_k, which vanishes at critical points)."""
    beta, mu, s, c = spline_params_from_nn(w, b, v, c)
    J = phi_jacobian(w, b, v)
    Hnn = J.T @ spline_hessian(x, y, beta, mu, s, c) @ J
    if curvature_term:
        g_beta, g_mu, _ = spline_gradients(x, y, beta, mu, s, c)
        Hnn = Hnn + phi_curvature_term(w, b, v, g_beta, g_mu)
    return Hnn


# ------------------------------------------------------------------------------------ spectra, saddles


def rescaling_tangents(w, b, v) -> np.ndarray:
    """t_i = d/da (a w_i, a b_i, v_i/a) at a = 1 = (w_i, b_i, -v_i), embedded in R^{3H+1}; rows i = 1..H."""
    w, b, v = _vec(w), _vec(b), _vec(v)
    H = w.size
    T = np.zeros((H, 3 * H + 1))
    i = np.arange(H)
    T[i, i], T[i, H + i], T[i, 2 * H + i] = w, b, -v
    return T


def hessian_eigenvalues(Hm) -> np.ndarray:
    """Eigenvalues of the symmetrized matrix, ascending."""
    Hm = np.asarray(Hm, dtype=np.float64)
    return np.linalg.eigvalsh(0.5 * (Hm + Hm.T))


def count_zero_eigenvalues(eigvals, rel_tol: float = 1e-6) -> int:
    """#{|lambda| < rel_tol * max|lambda|} (the T12 convention)."""
    lam = np.abs(_vec(eigvals))
    return int(np.sum(lam < rel_tol * lam.max())) if lam.max() > 0 else int(lam.size)


def numerical_rank(Hm, rel_tol: float = 1e-6) -> int:
    lam = hessian_eigenvalues(Hm)
    return int(lam.size - count_zero_eigenvalues(lam, rel_tol))


def min_zero_eigenvalues(H: int, N: int) -> dict:
    """Lower bounds on zero eigenvalues at an interpolating minimum: rank(J^T J) <= N."""
    return {"nn": max(0, 3 * H + 1 - N), "spline": max(0, 2 * H + 1 - N)}


def strict_saddle_bounds(x, y, beta, mu, s, c, j: int) -> dict:
    """For a mu_j = 0 unit: q_j, G_jj and the bounds -|q_j| <= lambda_min <= (G - sqrt(G^2 + 4q^2))/2."""
    x, beta, s = _vec(x), _vec(beta), _vec(s)
    q = spline_q(x, y, beta, mu, s, c)[j]
    G = float(np.sum(spline_features(x, beta, s)[:, j] ** 2) / x.size)
    return {"q": float(q), "G": G, "lower": -abs(float(q)), "upper": 0.5 * (G - np.sqrt(G * G + 4 * q * q))}


def distance_to_data(x, beta) -> np.ndarray:
    return np.min(np.abs(_vec(beta)[:, None] - _vec(x)[None, :]), axis=1)


# -------------------------------------------------------------------------------- finite differences


def central_difference_gradient(fun, theta, h: float = 1e-6) -> np.ndarray:
    """(fun(theta + h e_k) - fun(theta - h e_k)) / 2h for a scalar fun."""
    theta = _vec(theta)
    g = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        g[k] = (fun(theta + e) - fun(theta - e)) / (2 * h)
    return g


def central_difference_jacobian(fun, theta, h: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of a vector fun; columns = coordinates (a Hessian when fun is a gradient)."""
    theta = _vec(theta)
    cols = []
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        cols.append((_vec(fun(theta + e)) - _vec(fun(theta - e))) / (2 * h))
    return np.stack(cols, axis=1)
