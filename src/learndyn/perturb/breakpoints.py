"""Breakpoints of a ReLU network along the attack segment (adversarial.md, 'Breakpoint analysis (C1)') — a
reconstruction.

The v1 paper's breakpoint method is not available; both readings here are reconstructions and
every output says so (``READING_A`` / ``READING_B`` labels).

Reading A restricts the network to x(t) = x₀ + t·δ, t ∈ [0,1].  The function is piecewise affine
in t; its breakpoints are the t where a ReLU pre-activation changes sign or a max-pool window's
argmax switches.  ``exact``: the line restriction of Sotoudeh & Thakur (ExactLine), layer by
layer — on each current segment everything before layer l is affine, so layer l's inputs are
affine there and their sign changes / max switches are found from the two endpoints alone.
``sampled``: count activation-pattern changes between n dense samples (a lower bound).

Nonlinearities are found through forward pre-hooks on ``nn.ReLU`` and ``nn.MaxPool2d`` modules
(the models guarantee both are modules); everything else (linear, conv, eval-mode BatchNorm,
flatten, padding, residual sums) is affine and adds no cuts.  Computation is in float64.

Reading B (:func:`hinge_changepoint`) fits s = α + β·u + γ·(u − τ)₊ with u = log(1 + step).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

READING_A = "reconstruction: Reading A (ReLU breakpoints along the attack segment)"
READING_B = "reconstruction: Reading B (hinge change point of the dynamics series)"
_TOL = 1e-10  # two cuts closer than this in t are one breakpoint


class _Stop(Exception):
    """Raised by a hook once the layer asked for has been recorded (skips the rest of the net)."""


def _windows(module: nn.MaxPool2d, x: torch.Tensor) -> torch.Tensor:
    """(P, W, k·k) values of every max-pool window (W = channels × output positions)."""
    if module.dilation not in (1, (1, 1)) or module.ceil_mode:
        raise NotImplementedError("exact max-pool switches need dilation 1 and ceil_mode False; use method='sampled'")
    pad = module.padding if isinstance(module.padding, tuple) else (module.padding,) * 2
    if any(pad):
        x = F.pad(x, (pad[1], pad[1], pad[0], pad[0]), value=float("-inf"))
    p, c = x.shape[:2]
    u = F.unfold(x, module.kernel_size, stride=module.stride)  # (P, C·k·k, L)
    return u.reshape(p, c, -1, u.shape[-1]).permute(0, 1, 3, 2).reshape(p, -1, u.shape[1] // c)


class _Recorder:
    """Context manager recording (kind, values) for each ReLU / max-pool call, in forward order."""

    def __init__(self, model: nn.Module, stop_after: int | None = None):
        self.model, self.stop_after, self.events, self.handles = model, stop_after, [], []

    def _hook(self, module, args):
        x = args[0]
        if isinstance(module, nn.ReLU):
            self.events.append(("relu", x.detach().flatten(1).clone()))  # clone: ReLU may be inplace
        else:
            self.events.append(("maxpool", _windows(module, x.detach())))
        if self.stop_after is not None and len(self.events) > self.stop_after:
            raise _Stop

    def __enter__(self):
        for m in self.model.modules():
            if isinstance(m, (nn.ReLU, nn.MaxPool2d)):
                self.handles.append(m.register_forward_pre_hook(self._hook))
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        return False

    def run(self, x: torch.Tensor):
        try:
            with torch.no_grad():
                return self.model(x)
        except _Stop:
            return None


def _float64(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).double().eval()


def _points(x0: torch.Tensor, d: torch.Tensor, ts: list[np.ndarray]) -> torch.Tensor:
    """All points x0_i + t·d_i for t in ts[i], images concatenated in order."""
    shape = (-1,) + (1,) * (x0.ndim - 1)
    chunks = [x0[i] + torch.as_tensor(t, dtype=x0.dtype).reshape(shape) * d[i] for i, t in enumerate(ts)]
    return torch.cat(chunks)


def _forward_chunks(model, x: torch.Tensor, layer: int | None, chunk: int):
    """Logits (layer None) or the values of event ``layer`` for every row of x, chunked."""
    out = []
    for i in range(0, len(x), chunk):
        with _Recorder(model, stop_after=layer) as rec:
            logits = rec.run(x[i : i + chunk])
        if layer is None:
            out.append(logits)
        else:
            if len(rec.events) <= layer:
                raise RuntimeError(f"layer {layer} not reached: the model has {len(rec.events)} ReLU/max-pool calls")
            out.append(rec.events[layer])
    if layer is None:
        return torch.cat(out)
    return out[0][0], torch.cat([v for _, v in out])


def _relu_cuts(za: np.ndarray, zb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pair index, s ∈ (0,1)) where a pre-activation, affine between two endpoints, changes sign."""
    pair, unit = np.nonzero(za * zb < 0)
    a, b = za[pair, unit], zb[pair, unit]
    return pair, a / (a - b)


def _maxpool_cuts(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pair index, s) where a window's argmax switches, walking the upper envelope of k affine
    functions v_j(s) = A_j + s·(B_j − A_j) on s ∈ [0,1]; A, B: (pairs, windows, k)."""
    finite = np.isfinite(A)
    slope = np.where(finite, B - A, 0.0)
    A = np.where(finite, A, -np.inf)
    top = A == A.max(-1, keepdims=True)
    cur = np.argmax(np.where(top, slope, -np.inf), -1)  # tie at s=0: the steeper one wins after 0
    s_cur = np.zeros(cur.shape)
    alive = np.ones(cur.shape, bool)
    pairs, cuts = [], []
    for _ in range(A.shape[-1] - 1):
        a_c = np.take_along_axis(A, cur[..., None], -1)
        sl_c = np.take_along_axis(slope, cur[..., None], -1)
        d = slope - sl_c
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(d > 0, (a_c - A) / d, np.inf)
        s = np.where((s > s_cur[..., None] + _TOL) & (s < 1.0) & np.isfinite(A), s, np.inf)
        s_next = s.min(-1)
        alive &= np.isfinite(s_next)
        if not alive.any():
            break
        tied = s <= s_next[..., None] + _TOL  # several cross at once: the steepest takes over
        nxt = np.argmax(np.where(tied, slope, -np.inf), -1)
        p, w = np.nonzero(alive)
        pairs.append(p)
        cuts.append(s_next[p, w])
        cur = np.where(alive, nxt, cur)
        s_cur = np.where(alive, s_next, s_cur)
    if not pairs:
        return np.zeros(0, int), np.zeros(0)
    return np.concatenate(pairs), np.concatenate(cuts)


def _merge(t: np.ndarray) -> np.ndarray:
    t = np.sort(t)
    return t[np.concatenate([[True], np.diff(t) > _TOL])]


def _count_layers(model, x: torch.Tensor) -> int:
    with _Recorder(model) as rec:
        rec.run(x[:1])
    return len(rec.events)


def _t_cross(logits: np.ndarray, t: np.ndarray, label: int) -> float:
    """First t where a wrong logit reaches the true one; logits are affine between the t's."""
    m = np.delete(logits, label, axis=1) - logits[:, [label]]  # (points, classes − 1)
    if (m[0] >= 0).any():
        return float(t[0])
    ma, mb = m[:-1], m[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(mb >= 0, ma / (ma - mb), np.inf).min(1)
    hit = np.nonzero(np.isfinite(s))[0]
    if not len(hit):
        return float("nan")
    j = hit[0]
    return float(t[j] + s[j] * (t[j + 1] - t[j]))


def _exact(model, x0, d, labels, chunk):
    ts = [np.array([0.0, 1.0]) for _ in range(len(x0))]
    for layer in range(_count_layers(model, x0)):
        x = _points(x0, d, ts)
        kind, vals = _forward_chunks(model, x, layer, chunk)
        vals = vals.numpy()
        start = 0
        for i, t in enumerate(ts):
            v = vals[start : start + len(t)]
            start += len(t)
            pair, s = _relu_cuts(v[:-1], v[1:]) if kind == "relu" else _maxpool_cuts(v[:-1], v[1:])
            if len(s):
                ts[i] = _merge(np.concatenate([t, t[pair] + s * (t[pair + 1] - t[pair])]))
    bps = [t[1:-1] for t in ts]
    if labels is None:
        return bps, None
    logits = _forward_chunks(model, _points(x0, d, ts), None, chunk).numpy()
    start, cross = 0, []
    for i, t in enumerate(ts):
        cross.append(_t_cross(logits[start : start + len(t)], t, int(labels[i])))
        start += len(t)
    return bps, np.array(cross)


def _pattern(events) -> torch.Tensor:
    """Activation pattern per point: ReLU signs and max-pool argmaxes, concatenated."""
    parts = [(v > 0).to(torch.int64) if k == "relu" else v.argmax(-1) for k, v in events]
    return torch.cat(parts, 1)


def _sampled(model, x0, d, labels, n_samples, chunk):
    grid = np.linspace(0.0, 1.0, int(n_samples))
    bps, cross = [], []
    for i in range(len(x0)):
        changed, logits, prev = [], [], None
        for j in range(0, len(grid), chunk):
            x = _points(x0[i : i + 1], d[i : i + 1], [grid[j : j + chunk]])
            with _Recorder(model) as rec:
                logits.append(rec.run(x))
            pat = _pattern(rec.events)
            full = pat if prev is None else torch.cat([prev, pat])
            changed.append((full[1:] != full[:-1]).any(1).numpy())
            prev = pat[-1:]
        flips = np.nonzero(np.concatenate(changed))[0]
        bps.append((grid[flips] + grid[flips + 1]) / 2)  # midpoint of the interval that changed
        if labels is not None:
            cross.append(_t_cross(torch.cat(logits).numpy(), grid, int(labels[i])))
    return bps, (np.array(cross) if labels is not None else None)


def _restrict(model, x0, delta, labels=None, *, method="exact", n_samples=4096, chunk=512):
    if method not in ("exact", "sampled"):
        raise ValueError(f"breakpoint method must be 'exact' or 'sampled', got {method!r}")
    x0 = torch.as_tensor(np.asarray(x0), dtype=torch.float64)
    d = torch.as_tensor(np.asarray(delta), dtype=torch.float64)
    if x0.shape != d.shape:
        raise ValueError(f"breakpoints: x0 {tuple(x0.shape)} and delta {tuple(d.shape)} differ in shape")
    if len(x0) == 0:
        return [], np.zeros(0)
    m64 = _float64(model)
    run = _exact if method == "exact" else _sampled
    return run(m64, x0, d, labels, chunk) if method == "exact" else run(m64, x0, d, labels, n_samples, chunk)


def segment_breakpoints(model, x0, delta, *, method="exact", n_samples=4096) -> list[np.ndarray]:
    """Breakpoints t ∈ (0,1) of the network along x0 + t·delta, one sorted array per image."""
    return _restrict(model, x0, delta, method=method, n_samples=n_samples)[0]


def first_layer_breakpoints(model, x0, delta) -> list[np.ndarray]:
    """Closed form for the first ReLU layer: t_j = −a_j/s_j with a = pre(x0), s = pre(x0+δ) − pre(x0)
    (the map up to the first ReLU is affine, so two evaluations give a and s exactly)."""
    m64 = _float64(model)
    x0 = torch.as_tensor(np.asarray(x0), dtype=torch.float64)
    d = torch.as_tensor(np.asarray(delta), dtype=torch.float64)
    _, za = _forward_chunks(m64, x0, 0, 4096)
    _, zb = _forward_chunks(m64, x0 + d, 0, 4096)
    a, s = za.numpy(), (zb - za).numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -a / s
    return [_merge(row[(row > 0) & (row < 1)]) for row in t]


def line_summary(
    model, x0, delta, labels, *, method="exact", n_samples=4096, fixed=None, n_random=1, seed=0
) -> pd.DataFrame:
    """Per image: n_bp, t1, t1_l2 = t1·‖δ‖₂, t_cross, same_region = (t_cross < t1), and breakpoint
    densities per unit L2 along δ, along ``fixed`` (e.g. the last checkpoint's δ, rescaled) and
    along ``n_random`` random directions of norm ‖δ‖₂.  Rows with δ = 0 get NaN along δ."""
    x0, delta = np.asarray(x0, np.float64), np.asarray(delta, np.float64)
    labels = np.asarray(labels)
    b = len(x0)
    norm = np.sqrt((delta.reshape(b, -1) ** 2).sum(1))
    has = norm > 0
    out = pd.DataFrame(
        {
            "image": np.arange(b),
            "delta_l2": norm,
            "n_bp": np.nan,
            "t1": np.nan,
            "t1_l2": np.nan,
            "t_cross": np.nan,
            "same_region": False,
            "density": np.nan,
            "density_fixed": np.nan,
            "density_random": np.nan,
        }
    )
    bps, cross = _restrict(model, x0[has], delta[has], labels[has], method=method, n_samples=n_samples)
    idx = np.nonzero(has)[0]
    n_bp = np.array([len(t) for t in bps], float)
    t1 = np.array([t[0] if len(t) else np.nan for t in bps])
    out.loc[idx, "n_bp"] = n_bp
    out.loc[idx, "t1"] = t1
    out.loc[idx, "t1_l2"] = t1 * norm[has]
    out.loc[idx, "t_cross"] = cross
    out.loc[idx, "same_region"] = np.isfinite(cross) & ~(cross >= np.nan_to_num(t1, nan=np.inf))
    out.loc[idx, "density"] = n_bp / norm[has]
    if fixed is not None:
        fixed = np.asarray(fixed, np.float64)
        fn = np.sqrt((fixed.reshape(b, -1) ** 2).sum(1))
        ok = fn > 0
        fb = segment_breakpoints(model, x0[ok], fixed[ok], method=method, n_samples=n_samples)
        out.loc[np.nonzero(ok)[0], "density_fixed"] = np.array([len(t) for t in fb]) / fn[ok]
    if n_random > 0 and has.any():
        rng = np.random.default_rng(seed)
        dens = np.zeros(int(has.sum()))
        for _ in range(n_random):
            r = rng.standard_normal(delta[has].shape)
            r *= (norm[has] / np.sqrt((r.reshape(len(r), -1) ** 2).sum(1))).reshape(-1, *[1] * (r.ndim - 1))
            rb = segment_breakpoints(model, x0[has], r, method=method, n_samples=n_samples)
            dens += np.array([len(t) for t in rb]) / norm[has]
        out.loc[idx, "density_random"] = dens / n_random
    out["same_region"] = out["same_region"].astype(bool)
    return out


def _hinge_fit(u: np.ndarray, y: np.ndarray, grid: np.ndarray):
    """Least-squares hinge over τ in grid: (τ, rss, coef); and the single line's rss."""
    line = np.column_stack([np.ones_like(u), u])
    rss_line = float(np.sum((y - line @ np.linalg.lstsq(line, y, rcond=None)[0]) ** 2))
    best = (np.nan, np.inf, np.full(3, np.nan))
    for tau in grid:
        X = np.column_stack([line, np.maximum(u - tau, 0.0)])
        coef = np.linalg.lstsq(X, y, rcond=None)[0]
        rss = float(np.sum((y - X @ coef) ** 2))
        if rss < best[1] - 1e-15 * max(1.0, rss_line):
            best = (float(tau), rss, coef)
    return best, rss_line


def hinge_changepoint(u, s, *, groups=None, n_boot=200, seed=0, level=0.95) -> dict:
    """Reading B: change point τ of s = α + β·u + γ·(u − τ)₊ (u = log(1 + step)).

    Observations (u, s) with optional ``groups`` (image ids): the fit is on the mean series per
    u-level (NaNs ignored); τ is searched on the interior u-levels (checkpoint positions); the
    hinge is accepted over a single line when its BIC (4 parameters) is lower than the line's (2);
    the CI resamples groups (images) with replacement and refits τ.
    """
    u, s = np.asarray(u, float), np.asarray(s, float)
    if u.shape != s.shape:
        raise ValueError(f"hinge_changepoint: u {u.shape} and s {s.shape} differ in shape")
    g = np.arange(len(u)) if groups is None else np.asarray(groups)
    levels, li = np.unique(u, return_inverse=True)
    groups_u, gi = np.unique(g, return_inverse=True)
    S = np.full((len(groups_u), len(levels)), np.nan)
    S[gi, li] = s  # one observation per (group, level); duplicates: the last wins
    res = {
        "tau": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "bic_gain": np.nan,
        "accepted": False,
        "alpha": np.nan,
        "beta": np.nan,
        "gamma": np.nan,
        "n_levels": 0,
        "n_groups": len(groups_u),
        "label": READING_B,
    }

    def mean_series(w):
        ok = ~np.isnan(S)
        num = (np.nan_to_num(S) * w[:, None]).sum(0)
        den = (ok * w[:, None]).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = num / den
        keep = den > 0
        return levels[keep], m[keep]

    x, y = mean_series(np.ones(len(groups_u)))
    res["n_levels"] = len(x)
    if len(x) < 5:  # 4 parameters + at least one degree of freedom
        return res
    (tau, rss, coef), rss_line = _hinge_fit(x, y, x[1:-2])  # >= 2 levels on each side of τ
    n = len(x)
    floor = 1e-12 * (np.var(y) + 1e-300) * n  # a perfect fit must not give log(0)
    bic_line = n * np.log(max(rss_line, floor) / n) + 2 * np.log(n)
    bic_hinge = n * np.log(max(rss, floor) / n) + 4 * np.log(n)
    res.update(
        tau=tau,
        alpha=coef[0],
        beta=coef[1],
        gamma=coef[2],
        bic_gain=bic_line - bic_hinge,
        accepted=bool(bic_line - bic_hinge > 0),
    )
    rng = np.random.default_rng(seed)
    taus = []
    for _ in range(int(n_boot)):
        w = rng.multinomial(len(groups_u), np.full(len(groups_u), 1 / len(groups_u))).astype(float)
        bx, by = mean_series(w)
        if len(bx) >= 5:
            taus.append(_hinge_fit(bx, by, bx[1:-2])[0][0])
    if taus:
        q = (1 - level) / 2
        res["ci_low"], res["ci_high"] = np.nanquantile(taus, [q, 1 - q])
    return res
