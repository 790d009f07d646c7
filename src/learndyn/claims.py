"""The claims table: one row per paper claim, evaluated by one rule for all four studies.

A study's claims module computes per-unit values (one per seed, run, image or pair) and declares
each claim with :func:`claim`; this module aggregates them, puts a 95% interval on the aggregate
and decides the verdict, the same way everywhere:

- **reproduced**: the interval lies on the claimed side of the threshold;
- **not reproduced**: it lies on the other side;
- **inconclusive**: it straddles the threshold, n is below the claim's minimum, or runs the
  claim needs did not converge (the row says which and how many);
- **not run**: the claim needs runs this config does not have.

Comparisons use a relative tolerance (:data:`REL_TOL`), so a value within rounding of the
threshold is *at* it: at the threshold counts as the claimed side for ``<=``/``>=`` and as the
other side for ``<``/``>``, whichever side of it the rounding fell.

The aggregate follows the paper's wording (``reading`` says which wording was read how):
"typically / on average" -> ``median`` or ``mean`` with its interval; "every seed / all" ->
``all`` (every unit on the claimed side, the count that fails reported); "some" -> ``any``;
a share of successes as an effect -> ``fraction`` (exact Clopper-Pearson interval); "on nearly /
essentially all seeds" (a statement about the units run) -> ``share`` (the exact share of units, no
sampling); a statistic the study
computes itself (a correlation, a KS statistic, an exact identity error) -> ``value``, with the
study's own interval or none (exact).
"""

from __future__ import annotations

import math
import zlib
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from learndyn.io import Table

REL_TOL = 1e-9  # |x - threshold| <= REL_TOL * max(|threshold|, 1) counts as "at" the threshold
CONFIDENCE = 0.95
N_BOOT = 4000
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "not run")
AGGREGATES = ("median", "mean", "fraction", "share", "all", "any", "value")
DIRECTIONS = ("<", "<=", ">", ">=")
DEFAULT_N_MIN = {"median": 3, "mean": 3, "fraction": 3, "share": 1, "all": 1, "any": 1, "value": 1}

CLAIMS = Table(
    "claims",
    (
        ("study", pa.string()),
        ("claim_id", pa.string()),
        ("statement", pa.string()),
        ("reading", pa.string()),
        ("metric", pa.string()),
        ("aggregate", pa.string()),
        ("unit", pa.string()),
        ("n", pa.int64()),
        ("n_min", pa.int64()),
        ("value", pa.float64()),
        ("ci_lo", pa.float64()),
        ("ci_hi", pa.float64()),
        ("interval", pa.string()),
        ("threshold", pa.float64()),
        ("direction", pa.string()),
        ("n_failed", pa.int64()),
        ("n_unconverged", pa.int64()),
        ("verdict", pa.string()),
        ("why", pa.string()),
        ("detail", pa.string()),
        ("figure", pa.string()),
        ("values", pa.list_(pa.float64())),
    ),
)


def tolerance(threshold: float) -> float:
    return REL_TOL * max(abs(threshold), 1.0)


def side(x: float, threshold: float, direction: str) -> int:
    """+1 if ``x`` is on the claimed side of ``threshold``, -1 if on the other, 0 if undefined (NaN)."""
    if math.isnan(x):
        return 0
    tol = tolerance(threshold)
    if abs(x - threshold) <= tol:  # at the threshold: only the non-strict comparisons hold
        return 1 if direction in ("<=", ">=") else -1
    above = x > threshold
    return 1 if above == direction.startswith(">") else -1


def _seed(claim_id: str) -> int:
    return zlib.crc32(claim_id.encode())


def claim_rng(claim_id: str) -> np.random.Generator:
    """The seeded generator of one claim's resampling (the same in every run), for studies that
    bootstrap a statistic themselves (e.g. over whole seeds) and pass it as ``value`` + ``interval``."""
    return np.random.default_rng(_seed(claim_id))


def median_interval(x: np.ndarray) -> tuple[float, float, str]:
    """Distribution-free interval for the median from order statistics (exact coverage >= 95%
    where n allows it, n >= 6; below that the widest one, [min, max], with its coverage named)."""
    from scipy import stats  # here: the ladder rule's module imports this one when the rules are parsed

    x = np.sort(x)
    n = len(x)
    alpha = 1 - CONFIDENCE
    # largest k with P(Binom(n, 1/2) < k) <= alpha/2: [x_(k), x_(n-k+1)] (1-based) covers the median
    k = int(stats.binom.ppf(alpha / 2, n, 0.5))
    if k >= 1 and stats.binom.cdf(k - 1, n, 0.5) > alpha / 2:
        k -= 1
    if k < 1:
        cover = 1 - 2 * 0.5**n
        return float(x[0]), float(x[-1]), f"[min, max] (order statistics, coverage {cover:.0%} at n = {n})"
    cover = 1 - 2 * stats.binom.cdf(k - 1, n, 0.5)
    return float(x[k - 1]), float(x[n - k]), f"order statistics (exact, coverage {cover:.1%})"


def bootstrap_interval(x: np.ndarray, stat, claim_id: str) -> tuple[float, float, str]:
    """Percentile bootstrap over the units, seeded by the claim id (reproducible per row)."""
    rng = claim_rng(claim_id)
    idx = rng.integers(0, len(x), size=(N_BOOT, len(x)))
    boot = stat(x[idx], axis=1)
    a = (1 - CONFIDENCE) / 2
    lo, hi = np.quantile(boot, [a, 1 - a])
    return float(lo), float(hi), f"bootstrap percentile {CONFIDENCE:.0%} ({N_BOOT} resamples, seeded)"


def fraction_interval(k: int, n: int) -> tuple[float, float, str]:
    """Clopper-Pearson exact interval of a binomial proportion."""
    from scipy import stats

    a = 1 - CONFIDENCE
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi, f"Clopper-Pearson exact {CONFIDENCE:.0%}"


def fmt_number(v) -> str:
    """A number for a detail string: plain Python formatting, never a numpy repr."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


def fmt(values: Iterable) -> str:
    """A list of numbers for a detail string, e.g. ``[10, 20, 40]`` (never ``np.int64(10)``)."""
    return "[" + ", ".join(fmt_number(v) for v in values) + "]"


def claim(
    study: str,
    claim_id: str,
    statement: str,
    metric: str,
    *,
    threshold: float,
    direction: str,
    aggregate: str,
    reading: str,
    values: Sequence[float] | np.ndarray | None = None,
    value: float | None = None,
    interval: tuple[float, float] | None = None,
    interval_method: str = "",
    unit: str = "seed",
    n: int | None = None,
    n_min: int | None = None,
    unconverged: Sequence | int = (),
    not_run: str = "",
    precondition: str = "",
    detail: str = "",
    figure: str = "",
) -> dict:
    """One claims row, aggregated and judged by the common rule (module docstring).

    ``values``: the per-unit values (for ``fraction``: 1 = success, 0 = failure).  ``value`` and
    ``interval`` are only for ``aggregate="value"`` (a statistic the study computed itself; no
    interval means exact).  ``unconverged``: labels (or a count) of needed runs that did not converge.
    ``not_run``: why the claim has no data in this config (verdict "not run").  ``precondition``:
    why the claim is vacuous at this scale (e.g. the healthy model it compares against fails):
    inconclusive, with that reason.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"claim {claim_id}: direction must be one of {DIRECTIONS}, got {direction!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"claim {claim_id}: aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    if aggregate != "value" and (value is not None or interval is not None):
        raise ValueError(f"claim {claim_id}: value/interval are computed here for aggregate {aggregate!r}")
    threshold = float(threshold)
    x = np.asarray([] if values is None else values, dtype=float).ravel()
    x = x[~np.isnan(x)] if aggregate != "value" else x
    n_units = int(n if n is not None else (max(len(x), 1) if aggregate == "value" else len(x)))
    n_min = int(n_min if n_min is not None else DEFAULT_N_MIN[aggregate])
    unconv = list(unconverged) if not isinstance(unconverged, (int, np.integer)) else [None] * int(unconverged)
    lo = hi = val = math.nan
    method, n_failed = "", 0
    sides = np.array([side(v, threshold, direction) for v in x], dtype=int)

    if aggregate == "value":
        val = math.nan if value is None else float(value)
        if interval is not None:
            lo, hi = (float(interval[0]), float(interval[1]))
            method = interval_method or "given by the study"
        else:
            lo = hi = val
            method = interval_method or "exact (no sampling)"
    elif len(x):
        if aggregate == "median":
            val = float(np.median(x))
            lo, hi, method = median_interval(x)
        elif aggregate == "mean":
            val = float(np.mean(x))
            lo, hi, method = bootstrap_interval(x, np.mean, claim_id) if len(x) > 1 else (val, val, "n = 1")
        elif aggregate in ("fraction", "share"):
            if not np.all((x == 0) | (x == 1)):
                raise ValueError(f"claim {claim_id}: {aggregate} needs 0/1 values per unit")
            k = int(x.sum())
            val = k / len(x)
            if aggregate == "fraction":
                lo, hi, method = fraction_interval(k, len(x))
            else:
                lo = hi = val
                method = f"exact: {k} of {len(x)} {unit}s (a statement about the units run)"
        else:  # all / any: the per-unit comparison, exact; value = the unit that decides
            n_failed = int((sides <= 0).sum())
            # the deciding unit: the worst for "all", the best for "any"
            val = float(x.max() if direction.startswith("<") == (aggregate == "all") else x.min())
            lo, hi = float(x.min()), float(x.max())
            method = f"range of the {len(x)} units (the verdict counts units, exact)"
    if aggregate in ("median", "mean", "fraction", "share", "value") and len(x):
        n_failed = int((sides < 0).sum()) if aggregate not in ("fraction", "share") else 0

    why = ""
    if not_run:
        verdict, why = "not run", not_run
    elif n_units == 0 or math.isnan(val):
        verdict, why = "inconclusive", "no value could be computed"
    elif precondition:
        verdict, why = "inconclusive", f"precondition not met: {precondition}"
    elif unconv:
        names = ", ".join(str(u) for u in unconv if u is not None)
        verdict = "inconclusive"
        why = f"{len(unconv)}/{max(n_units, len(unconv))} runs did not converge" + (f" ({names})" if names else "")
    elif n_units < n_min:
        verdict, why = "inconclusive", f"n = {n_units} below the claim's minimum {n_min}"
    elif aggregate == "all":
        verdict = "reproduced" if n_failed == 0 else "not reproduced"
        why = f"{n_failed}/{n_units} {unit}s on the other side of the threshold"
    elif aggregate == "any":
        verdict = "reproduced" if n_failed < n_units else "not reproduced"
        why = f"{n_units - n_failed}/{n_units} {unit}s on the claimed side"
    else:
        s_lo, s_hi = side(lo, threshold, direction), side(hi, threshold, direction)
        if s_lo > 0 and s_hi > 0:
            verdict = "reproduced"
        elif s_lo < 0 and s_hi < 0:
            verdict = "not reproduced"
        else:
            verdict = "inconclusive"
            why = "the interval straddles the threshold"
    return {
        "study": study,
        "claim_id": claim_id,
        "statement": statement,
        "reading": reading,
        "metric": metric,
        "aggregate": aggregate,
        "unit": unit,
        "n": n_units,
        "n_min": n_min,
        "value": val,
        "ci_lo": lo,
        "ci_hi": hi,
        "interval": method,
        "threshold": threshold,
        "direction": direction,
        "n_failed": int(n_failed),
        "n_unconverged": len(unconv),
        "verdict": verdict,
        "why": why,
        "detail": detail,
        "figure": figure,
        "values": [float(v) for v in x],
    }


def claims_frame(rows: list[dict]) -> pd.DataFrame:
    ids = [r["claim_id"] for r in rows]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"duplicate claim ids: {dup}")
    return pd.DataFrame(rows, columns=[c for c, _ in CLAIMS.columns])


def verdict_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Per study: how many claims have each verdict (all four columns, zeros kept)."""
    counts = df.groupby(["study", "verdict"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=list(dict.fromkeys(df["study"])), columns=list(VERDICTS), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    return counts
