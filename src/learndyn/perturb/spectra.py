"""Frequency analysis of perturbations, saliency, linear predictors and filters (adversarial.md, 'Frequency analysis').

Every metric is computed for a whole batch at once: one FFT over (B, N, N), then reductions over
precomputed index masks, so 10^4 images of 28x28 take well under a second.  The linear predictors and
filters, the targets taken from a model, are in :mod:`learndyn.perturb.spectra_targets`.

Conventions (adversarial.md, 'Quantitative metrics'; the quantitative metrics are a reconstruction, the paper body is
unavailable):
- unnormalised forward DFT (numpy default), fftshifted so DC sits at index (N//2, N//2);
  k in {-N/2, ..., N/2-1}^2, r(k) = |k|; K0 = {k : r(k) > 0}, n = |K0| = N^2 - 1;
- channel_mode "gray": P = |DFT(luminance)|^2 with luminance 0.2989 R + 0.5870 G + 0.1140 B
  (1-channel data as is); "sum": P = sum_c |DFT(x_c)|^2;
- sparsity measures act on v = sqrt(P) over K0; HFF and energy fractions on P over K0.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from learndyn.perturb.tables import METRIC_COLUMNS  # the schemas' columns: one list

LUMA = np.array([0.2989, 0.5870, 0.1140])
CHANNEL_MODES = ("gray", "sum")
LOG_FLOOR = 1e-12  # added before every log so an all-zero map (failed attack, delta = 0) stays finite


def _as_batch(x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:  # (C, N, N): one image
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"expected images of shape (B, C, N, N) with square N x N, got {x.shape}")
    return x


def luminance(x) -> np.ndarray:
    """(B, C, N, N) -> (B, N, N) gray images (ITU-R 601 weights for 3 channels, as the authors')."""
    x = _as_batch(x)
    if x.shape[1] == 1:
        return x[:, 0].astype(np.float64)
    if x.shape[1] == 3:
        return np.einsum("c,bcij->bij", LUMA, x, dtype=np.float64)
    raise ValueError(f"luminance needs 1 or 3 channels, got {x.shape[1]} (use channel_mode='sum')")


def _half_power(x, channel_mode: str) -> np.ndarray:
    """Power on the rfft half-plane (B, N, N//2+1); float32 input stays float32 (2x faster FFT)."""
    import scipy.fft

    x = _as_batch(x)
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    if channel_mode == "gray":
        g = x[:, 0].astype(dtype) if x.shape[1] == 1 else luminance(x).astype(dtype)
        spec = scipy.fft.rfft2(g, workers=1)
        return spec.real**2 + spec.imag**2
    if channel_mode == "sum":
        spec = scipy.fft.rfft2(x.astype(dtype), workers=1)
        return (spec.real**2 + spec.imag**2).sum(axis=1)
    raise ValueError(f"channel_mode must be one of {CHANNEL_MODES}, got {channel_mode!r}")


@lru_cache(maxsize=16)
def _unfold_index(n: int) -> np.ndarray:
    """Flat index into the (n, n//2+1) half-plane giving the fftshifted n x n map (P(k) = P(-k) for real x)."""
    k = centred_frequencies(n)
    ka, kb = np.meshgrid(k, k, indexing="ij")
    flip = (kb % n) > n // 2  # columns missing from rfft: read the conjugate-symmetric partner
    a = np.where(flip, -ka, ka) % n
    b = np.where(flip, -kb, kb) % n
    idx = (a * (n // 2 + 1) + b).ravel()
    idx.setflags(write=False)
    return idx


def power_spectrum(x, channel_mode: str = "gray") -> np.ndarray:
    """fftshifted power P(k) of each image, shape (B, N, N), float64, unnormalised DFT."""
    half = _half_power(x, channel_mode)
    b, n = half.shape[0], half.shape[1]
    return half.reshape(b, -1)[:, _unfold_index(n)].astype(np.float64).reshape(b, n, n)


def log_magnitude(x, channel_mode: str = "gray") -> np.ndarray:
    """The authors' map M = log|fftshift(DFT2 gray)| per image (B, N, N) (adversarial.md, 'Paper-faithful views')."""
    return 0.5 * np.log(power_spectrum(x, channel_mode) + LOG_FLOOR)


def mean_log_power(power: np.ndarray) -> np.ndarray:
    """Mean spectrum S(k) = log(mean_i P_i(k) + 1e-12): average the power first, then take the log."""
    return np.log(np.asarray(power, dtype=np.float64).mean(axis=0) + LOG_FLOOR)


def mean_log_magnitude(power: np.ndarray) -> np.ndarray:
    """Secondary view: the mean of the authors' log-magnitude maps."""
    return (0.5 * np.log(np.asarray(power, dtype=np.float64) + LOG_FLOOR)).mean(axis=0)


def centred_frequencies(n: int) -> np.ndarray:
    """Integer frequencies -n//2 .. (n-1)//2 in fftshift order (exact integers: r0 = 7 must not read 7 + 1e-15)."""
    return np.arange(n) - n // 2


@lru_cache(maxsize=16)
def frequency_radius(n: int) -> np.ndarray:
    """r(k) on the fftshifted N x N grid (read-only; DC at index (n//2, n//2))."""
    k = centred_frequencies(n).astype(np.float64)
    r = np.hypot(k[:, None], k[None, :])
    r.setflags(write=False)
    return r


@lru_cache(maxsize=16)
def _grid(n: int, r0: float):
    """Index sets and weight matrices shared by every image of side n (cached per (n, r0))."""
    r = frequency_radius(n).ravel()
    nonzero = np.flatnonzero(r > 0)
    r_nz = r[nonzero]
    rho = np.arange(int(np.ceil(n / np.sqrt(2))) + 1)
    # ring membership (round(r) = rho) for the radial mean, disc membership (0 < r <= rho) for the
    # cumulative fraction and f_half: dense 0/1 matrices, so one matmul serves all images.
    ring_onehot = (np.rint(r).astype(int)[:, None] == rho[None, :]).astype(np.float64)
    disc = (r_nz[:, None] <= rho[None, :]).astype(np.float64)
    high = (r_nz > r0).astype(np.float64)
    return nonzero, r_nz, rho, ring_onehot, disc, high


def radial_profile(power: np.ndarray):
    """(rho, E(rho) per image, cumulative energy fraction per image) for power (B, N, N).

    E(rho) = mean{P(k) : round(r(k)) = rho}; cumulative(rho) = sum_{0<r<=rho} P / sum_{K0} P.
    """
    power = np.asarray(power, dtype=np.float64)
    n = power.shape[-1]
    flat = power.reshape(power.shape[0], -1)
    nonzero, _, rho, ring, disc, _ = _grid(n, n / 4)
    profile = flat @ ring / ring.sum(axis=0)
    p = flat[:, nonzero]
    with np.errstate(invalid="ignore", divide="ignore"):
        cumulative = (p @ disc) / p.sum(axis=1, keepdims=True)
    return rho, profile, cumulative


def metrics_from_power(power: np.ndarray, r0: float | None = None, *, sort_dtype=np.float64) -> dict[str, np.ndarray]:
    """Spectral metrics of adversarial.md, 'Quantitative metrics' for a batch of fftshifted power maps (B, N, N); NaN
    where P = 0 on K0.

    ``sort_dtype`` float32 sorts float32 copies of |DFT| for Gini and top-k (3.5x faster; the sort is
    most of the cost): used for float32 inputs, whose FFT already carries float32 rounding.
    """
    power = np.asarray(power, dtype=np.float64)
    b, n = power.shape[0], power.shape[-1]
    r0 = n / 4 if r0 is None else float(r0)
    flat = power.reshape(b, -1)
    nonzero, r_nz, rho, _, disc, high = _grid(n, r0)
    p = flat[:, nonzero]
    m = p.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        total = p.sum(axis=1)
        hff = (p @ high) / total
        centroid = (p @ r_nz) / total / (n / 2)
        # smallest rho whose disc holds half the energy (tolerance absorbs the round-off of sums)
        reached = (p @ disc) >= (0.5 - 1e-12) * total[:, None]
        f_half = np.where(reached.any(axis=1), rho[np.argmax(reached, axis=1)], np.nan).astype(float)
        v = np.sqrt(p)
        l1 = v.sum(axis=1)
        l2 = np.sqrt(total)
        rho12 = l1 / (np.sqrt(m) * l2)
        hoyer = (np.sqrt(m) - l1 / l2) / (np.sqrt(m) - 1)
        # one sort serves Gini (v ascending) and the top-k energy fractions (P = v^2, same order)
        vs = np.sort(v.astype(sort_dtype, copy=False), axis=1)
        i = np.arange(1, m + 1)
        gini = 1 - 2 * (vs @ ((m - i + 0.5) / m)) / l1
        top = {}
        for frac in (1, 5):
            k = max(1, int(np.ceil(frac / 100 * m)))  # the top ceil(frac% of n) coefficients
            top[frac] = np.square(vs[:, m - k :].astype(np.float64)).sum(axis=1) / total
        # H = -sum q log q with q = P / total  =  log(total) - sum P log P / total  (0 log 0 = 0)
        plogp = np.log(p, out=np.zeros_like(p), where=p > 0)
        plogp *= p
        entropy = (np.log(total) - plogp.sum(axis=1) / total) / np.log(m)
    dead = ~(total > 0)
    out = {
        "hff": hff,
        "f_half": f_half,
        "centroid": centroid,
        "hoyer": hoyer,
        "rho12": rho12,
        "gini": gini,
        "entropy": entropy,
        "top1": top[1],
        "top5": top[5],
    }
    for key in out:
        out[key] = np.where(dead, np.nan, out[key])
    out["maxlog"] = 0.5 * np.log(flat.max(axis=1) + LOG_FLOOR)
    return out


def spectral_metrics(x, *, r0: float | None = None, channel_mode: str = "gray", chunk: int = 4096) -> pd.DataFrame:
    """One row per image of x (B, C, N, N): l2, linf (over all pixel values) and the metrics of adversarial.md,
    'Quantitative metrics'.

    Vectorised over ``chunk`` images at a time: the temporaries of one chunk (~25 MB at 28x28) are
    reused by the allocator instead of faulting in fresh pages for 10^4 images at once (2-4x faster cold).
    """
    x = _as_batch(x)
    if len(x) == 0:
        return pd.DataFrame({c: np.zeros(0) for c in METRIC_COLUMNS})
    sort_dtype = np.float32 if x.dtype == np.float32 else np.float64
    parts = []
    for start in range(0, len(x), chunk):
        xc = x[start : start + chunk]
        flat = xc.reshape(len(xc), -1).astype(np.float64)
        cols = {"l2": np.sqrt((flat**2).sum(axis=1)), "linf": np.abs(flat).max(axis=1)}
        cols.update(metrics_from_power(power_spectrum(xc, channel_mode), r0=r0, sort_dtype=sort_dtype))
        parts.append(cols)
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in METRIC_COLUMNS})


def reference_metrics(image: np.ndarray, r0: float | None = None) -> dict[str, float]:
    """The adversarial.md, 'Quantitative metrics' definitions written out for ONE gray (N, N) image, loops and all: the
    independent reference the tests and the benchmark compare the vectorised path against."""
    img = np.asarray(image, dtype=np.float64)
    n = img.shape[0]
    r0 = n / 4 if r0 is None else r0
    P = np.fft.fftshift(np.abs(np.fft.fft2(img)) ** 2)
    ks = np.arange(n) - n // 2
    vals, radii = [], []
    for a in range(n):
        for b in range(n):
            r = float(np.hypot(ks[a], ks[b]))
            if r > 0:
                vals.append(P[a, b])
                radii.append(r)
    p, r = np.array(vals), np.array(radii)
    m, total = len(p), p.sum()
    f_half = next(rho for rho in range(n) if p[r <= rho].sum() >= 0.5 * total * (1 - 1e-12))
    v = np.sqrt(p)
    vs = np.sort(v)
    gini = 1 - 2 * sum(vs[i - 1] / v.sum() * (m - i + 0.5) / m for i in range(1, m + 1))
    q = p / total
    top = {f: np.sort(p)[::-1][: max(1, int(np.ceil(f / 100 * m)))].sum() / total for f in (1, 5)}
    return {
        "l2": float(np.sqrt((img**2).sum())),
        "linf": float(np.abs(img).max()),
        "maxlog": float(np.log(np.sqrt(P.max()) + 0.0)),
        "hff": p[r > r0].sum() / total,
        "f_half": float(f_half),
        "centroid": (r * p).sum() / total / (n / 2),
        "hoyer": (np.sqrt(m) - v.sum() / np.linalg.norm(v)) / (np.sqrt(m) - 1),
        "rho12": v.sum() / (np.sqrt(m) * np.linalg.norm(v)),
        "gini": gini,
        "entropy": -(q[q > 0] * np.log(q[q > 0])).sum() / np.log(m),
        "top1": top[1],
        "top5": top[5],
    }


# ---- T3: Slepian-type concentration of K x K kernels (adversarial.md, 'Theory checks')
# -----------------------------------


def band_mask(n: int, band) -> np.ndarray:
    """Boolean (n, n) mask on the fftshifted grid from ("le", r) | ("lt", r) | ("gt", r) | ("ge", r) or a mask."""
    if isinstance(band, np.ndarray):
        if band.shape != (n, n):
            raise ValueError(f"band mask has shape {band.shape}, expected {(n, n)}")
        return band.astype(bool)
    op, radius = band
    r = frequency_radius(n)
    ops = {"le": r <= radius, "lt": r < radius, "gt": r > radius, "ge": r >= radius}
    if op not in ops:
        raise ValueError(f"band operator must be one of {sorted(ops)}, got {op!r}")
    return ops[op]


def lambda_max(K: int, N: int = 32, band=("le", 4.0)) -> float:
    """Largest fraction of a K x K kernel's energy (zero-padded to N x N) that can lie in ``band``.

    Top eigenvalue of A = N^-2 E_B^H E_B with E_B[k, m] = exp(-2 pi i <k, m> / N), k in B (centred),
    m in {0..K-1}^2 (Parseval: sum_k |h^(k)|^2 = N^2 ||h||^2).
    """
    if not 1 <= K <= N:
        raise ValueError(f"kernel size K={K} must lie in 1..N={N}")
    mask = band_mask(N, band)
    k = centred_frequencies(N)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    kb = np.stack([kx[mask], ky[mask]], axis=1)  # (|B|, 2)
    m = np.stack(np.meshgrid(np.arange(K), np.arange(K), indexing="ij"), axis=-1).reshape(-1, 2)
    e = np.exp(-2j * np.pi * (kb @ m.T) / N)
    a = (e.conj().T @ e) / N**2
    return float(np.linalg.eigvalsh(a)[-1])
