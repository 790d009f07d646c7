"""Spline reparametrisation of a shallow univariate ReLU network (splines.md, 'Spline reparametrization').

f(x) = c + Σ_i v_i [w_i x + b_i]_+  is rewritten with the map φ as

    f(x) = c~ + Σ_{w_i≠0} μ_i [s_i (x − β_i)]_+ ,   c~ = c + Σ_{w_i=0} v_i [b_i]_+

breakpoint β_i = −b_i/w_i, delta-slope μ_i = v_i|w_i| (the left-to-right slope jump for both
orientations), orientation s_i = sign(w_i). Everything is numpy float64 and never calls torch.

Exactness: the intercept term of an active unit is −s_i μ_i β_i. We store γ_i = μ_i β_i computed as
−s_i v_i b_i, which never forms the (possibly huge) β_i of a "far" unit, so an active unit contributes
s_i μ_i x − s_i γ_i = v_i w_i x + v_i b_i, the network's own term up to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Spline",
    "Pieces",
    "spline_from_network",
    "network_forward",
    "spline_pieces",
    "merge_knots",
    "evaluate_pieces",
    "evaluate_spline",
    "network_from_spline",
    "tail_slopes",
    "knot_mask",
    "to_numpy",
]

_CHUNK_ELEMENTS = 1 << 22  # bound on (points × units) temporaries: 32 MiB of float64


def to_numpy(a) -> np.ndarray:
    """float64 array from an array-like or a torch tensor (detached, even if it requires grad)."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _vec(a) -> np.ndarray:
    return np.atleast_1d(to_numpy(a)).ravel()


@dataclass(frozen=True, eq=False)
class Spline:
    """Multiset of (β, μ, s) plus the offset c~; one entry per network unit with w_i ≠ 0.

    breakpoint   β_i = −b_i/w_i
    delta_slope  μ_i = v_i|w_i|
    orientation  s_i = sign(w_i) as int8 ±1 (+1: active for x > β_i)
    offset       c~ = c + Σ_{w_i=0} v_i [b_i]_+
    far          |w_i| < far_tol·max|w|: kept for evaluation, excluded from knot statistics
    unit         index of the network unit the entry came from (for matching across time)
    gamma        γ_i = μ_i β_i, computed stably as −s_i v_i b_i (used for exact evaluation)
    width        H of the source network (units with w_i = 0 have no entry)
    """

    breakpoint: np.ndarray
    delta_slope: np.ndarray
    orientation: np.ndarray
    offset: float
    far: np.ndarray
    unit: np.ndarray
    gamma: np.ndarray
    width: int

    def __len__(self) -> int:
        return int(self.breakpoint.size)


@dataclass(frozen=True, eq=False)
class Pieces:
    """Piecewise-linear form: piece k = 0..K covers (κ_k, κ_{k+1}) with κ_0 = −∞, κ_{K+1} = +∞.

    knots (K,) sorted unique κ; jumps (K,) merged J_k = Σ_{β_i=κ_k} μ_i; invisible (K,) J_k == 0;
    slopes, intercepts (K+1,): f(x) = slopes[k]·x + intercepts[k] with k = #{κ_j ≤ x};
    multiplicity (K,) number of units merged into each knot.
    """

    knots: np.ndarray
    jumps: np.ndarray
    invisible: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray
    multiplicity: np.ndarray

    @property
    def n_pieces(self) -> int:
        return int(self.slopes.size)


def spline_from_network(w, b, v, c=0.0, far_tol: float = 1e-12) -> Spline:
    """The map φ: network parameters (w, b, v, c) of one width-H network -> Spline.

    w = 0 units fold their constant v[b]_+ into the offset; v = 0 units keep an (invisible) knot;
    tiny-|w| units are flagged far. Accepts array-likes and torch tensors (via to_numpy).
    """
    w, b, v = _vec(w), _vec(b), _vec(v)
    if not (w.size == b.size == v.size):
        raise ValueError(f"w, b, v must have equal length, got {w.size}, {b.size}, {v.size}")
    c = float(to_numpy(c).reshape(()))
    zero = w == 0.0
    # Fold w = 0 units: each is the constant v[b]_+ (no knot).
    offset = c if not zero.any() else float(np.sum(np.concatenate(([c], v[zero] * np.maximum(b[zero], 0.0)))))
    keep = ~zero
    unit = np.flatnonzero(keep)
    wk, bk, vk = w[keep], b[keep], v[keep]
    s = np.where(wk > 0, 1, -1).astype(np.int8)
    with np.errstate(over="ignore"):  # |b/w| may overflow to ±inf for subnormal w; still evaluates
        beta = -bk / wk
    mu = vk * np.abs(wk)
    gamma = -s * vk * bk
    wmax = np.max(np.abs(w)) if w.size else 0.0
    far = np.abs(wk) < far_tol * wmax
    return Spline(beta, mu, s, offset, far, unit, gamma, int(w.size))


def tail_slopes(spline: Spline) -> tuple[float, float]:
    """(m_left, m_right) = (−Σ_{s=−1} μ_i, Σ_{s=+1} μ_i): slopes of f as x -> ∓∞."""
    pos = spline.orientation > 0
    return float(-np.sum(spline.delta_slope[~pos])), float(np.sum(spline.delta_slope[pos]))


def knot_mask(spline: Spline, lo: float = -np.inf, hi: float = np.inf) -> np.ndarray:
    """Entries that count as knots for statistics: not far, breakpoint in the closed [lo, hi]."""
    return (~spline.far) & (spline.breakpoint >= lo) & (spline.breakpoint <= hi)


def network_forward(w, b, v, c, x, chunk_size: int | None = None) -> np.ndarray:
    """Plain network evaluation f(x) = c + Σ_i v_i relu(w_i x + b_i), chunked over x.

    chunk_size = number of points per chunk; by default chosen so a chunk holds ~4M floats.
    """
    w, b, v = _vec(w), _vec(b), _vec(v)
    c = float(to_numpy(c).reshape(()))
    x = to_numpy(x)
    xf = x.ravel()
    if chunk_size is None:
        chunk_size = max(1, _CHUNK_ELEMENTS // max(1, w.size))
    out = np.empty_like(xf)
    for lo in range(0, xf.size, chunk_size):
        xs = xf[lo : lo + chunk_size]
        pre = np.multiply.outer(xs, w)
        pre += b
        np.maximum(pre, 0.0, out=pre)
        out[lo : lo + chunk_size] = pre @ v + c
    return out.reshape(x.shape)


def merge_knots(breakpoint, delta_slope, tol: float = 0.0):
    """Group sorted breakpoints whose consecutive gaps are ≤ tol (tol = 0: exact equality).

    Returns (knots, jumps, multiplicity, group, order): merged knot positions (exact value for tol = 0,
    |μ|-weighted mean otherwise), summed μ, counts, the group id of each sorted entry and the sort order.
    """
    beta, mu = _vec(breakpoint), _vec(delta_slope)
    order = np.argsort(beta, kind="stable")
    bs, ms = beta[order], mu[order]
    if bs.size == 0:
        e = np.empty(0)
        return e, e.copy(), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), order
    new = np.empty(bs.size, dtype=bool)
    new[0] = True
    new[1:] = (np.diff(bs) > tol) if tol > 0 else (bs[1:] != bs[:-1])
    group = np.cumsum(new) - 1
    k = int(group[-1]) + 1
    jumps = np.bincount(group, weights=ms, minlength=k)
    mult = np.bincount(group, minlength=k)
    if tol > 0:
        am = np.abs(ms)
        wsum = np.bincount(group, weights=am, minlength=k)
        wpos = np.bincount(group, weights=am * bs, minlength=k)
        plain = np.bincount(group, weights=bs, minlength=k) / mult
        with np.errstate(invalid="ignore", divide="ignore"):
            knots = np.where(wsum > 0, wpos / np.where(wsum > 0, wsum, 1.0), plain)
    else:
        knots = bs[new]
    return knots, jumps, mult, group, order


def spline_pieces(spline: Spline, merge_tol: float = 0.0) -> Pieces:
    """Piecewise-linear form from sorted cumsums, O(H log H), never calling the network.

    merge_tol = 0 (default) merges exactly equal breakpoints only and computes each piece's slope and
    intercept as a sum over its *active* units (forward cumsum of s = +1, reverse cumsum of s = −1),
    so inactive units never enter by cancellation. merge_tol > 0 merges chains of knots closer than
    merge_tol (at the |μ|-weighted position) and uses the continuity recursion
    m_k = m_left + Σ_{j≤k} J_j, a_k = a_0 − Σ_{j≤k} J_j κ_j; it is approximate and meant for metrics.
    """
    knots, jumps, mult, group, order = merge_knots(spline.breakpoint, spline.delta_slope, merge_tol)
    K = knots.size
    s = spline.orientation[order]
    mu = spline.delta_slope[order]
    gam = spline.gamma[order]
    pos = s > 0
    neg_mu = np.bincount(group, weights=np.where(pos, 0.0, mu), minlength=K)
    neg_gam = np.bincount(group, weights=np.where(pos, 0.0, gam), minlength=K)
    if merge_tol > 0:
        m_left = -float(np.sum(neg_mu))
        a0 = spline.offset + float(np.sum(neg_gam))
        slopes = m_left + np.concatenate(([0.0], np.cumsum(jumps)))
        intercepts = a0 - np.concatenate(([0.0], np.cumsum(jumps * knots)))
    else:
        pos_mu = np.bincount(group, weights=np.where(pos, mu, 0.0), minlength=K)
        pos_gam = np.bincount(group, weights=np.where(pos, gam, 0.0), minlength=K)
        zero = np.zeros(1)
        # piece k: s=+1 units with knot index ≤ k (1-based) are active, s=−1 units with index ≥ k+1.
        fwd_mu = np.concatenate((zero, np.cumsum(pos_mu)))
        fwd_gam = np.concatenate((zero, np.cumsum(pos_gam)))
        rev_mu = np.concatenate((np.cumsum(neg_mu[::-1])[::-1], zero))
        rev_gam = np.concatenate((np.cumsum(neg_gam[::-1])[::-1], zero))
        slopes = fwd_mu - rev_mu
        intercepts = spline.offset - fwd_gam + rev_gam
    return Pieces(knots, jumps, jumps == 0.0, slopes, intercepts, mult)


def evaluate_pieces(pieces: Pieces, x) -> np.ndarray:
    """f(x) = m_k x + a_k with k = #{κ_j ≤ x} (searchsorted, right side)."""
    x = to_numpy(x)
    k = np.searchsorted(pieces.knots, x, side="right")
    return pieces.slopes[k] * x + pieces.intercepts[k]


def evaluate_spline(spline: Spline, x, chunk_size: int | None = None) -> np.ndarray:
    """Active-sum form c~ + Σ_{active} (s_i μ_i x − s_i γ_i), chunked; for cross-checks."""
    x = to_numpy(x)
    xf = x.ravel()
    n = max(1, len(spline))
    if chunk_size is None:
        chunk_size = max(1, _CHUNK_ELEMENTS // n)
    s = spline.orientation.astype(np.float64)
    sm, sg = s * spline.delta_slope, s * spline.gamma
    out = np.empty_like(xf)
    for lo in range(0, xf.size, chunk_size):
        xs = xf[lo : lo + chunk_size, None]
        active = s * (xs - spline.breakpoint) > 0  # strict, as relu'(0) = 0
        out[lo : lo + chunk_size] = spline.offset + np.where(active, sm * xs - sg, 0.0).sum(axis=1)
    return out.reshape(x.shape)


def network_from_spline(spline: Spline, scales=None):
    """Inverse map: w_i = s_i a_i, b_i = −w_i β_i, v_i = μ_i / a_i, c = c~ (one unit per entry).

    scales: None -> a_i = 1; "balanced" -> a_i = (|μ_i|/sqrt(1+β_i²))^{1/2}, which gives
    v_i² = w_i² + b_i² (δ_i = 0); μ_i = 0 has no balanced representative and uses a_i = 1 (as does a
    non-finite β_i); an array -> those a_i > 0. Units with w = 0 were folded into c and are not restored.
    """
    beta, mu = spline.breakpoint, spline.delta_slope
    if scales is None:
        a = np.ones_like(mu)
    elif isinstance(scales, str):
        if scales != "balanced":
            raise ValueError(f"unknown scales {scales!r}; use None, 'balanced' or an array")
        ok = (mu != 0) & np.isfinite(beta)
        with np.errstate(over="ignore", invalid="ignore"):
            # |μ|/sqrt(1+β²) written via hypot so that far units (β ~ 1e13) do not overflow
            a = np.where(ok, np.sqrt(np.abs(mu) / np.hypot(1.0, np.where(ok, beta, 0.0))), 1.0)
        a = np.where(a > 0, a, 1.0)  # underflow guard
    else:
        a = _vec(scales)
        if a.size != mu.size or np.any(~(a > 0)):
            raise ValueError("scales must be a positive array with one entry per spline unit")
    w = spline.orientation * a
    b = -w * beta
    v = mu / a
    return w, b, v, float(spline.offset)


def gap_index(x, beta) -> np.ndarray:
    """Gap g_i in {0..N}: #{x_n < beta_i} (g = 0 left of the hull, g = N right of it)."""
    x, beta = (np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in (x, beta))
    return np.searchsorted(np.sort(x), beta, side="left")
