"""Across-run statistics (pseudo_kernel.md, 't = 0 structure vs final performance'): Pearson r between t = 0 silhouette
and final losses, pooled, per schedule and as paired Std − Large deltas, with p-values and bootstrap CIs; paired sign
counts.

A pooled r can be driven entirely by the two-cluster Std/Large split, so the per-schedule and
paired-delta values are always reported next to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from learndyn.kernel.tables import CORRELATIONS, SWEEP_STATS  # noqa: F401 (schemas: tables.py)

LOSSES = {"single": "final_single_test", "multi": "final_multi_test"}


def pearson(x, y, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float, float]:
    """(r, p, ci_lo, ci_hi); NaN where undefined (n < 3 or a constant variable)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return (np.nan,) * 4
    r, p = stats.pearsonr(x, y)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(x), len(x))
        if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0:
            boots.append(np.corrcoef(x[i], y[i])[0, 1])
    lo, hi = np.percentile(boots, [2.5, 97.5]) if boots else (np.nan, np.nan)
    return float(r), float(p), float(lo), float(hi)


def paired(runs: pd.DataFrame, column: str) -> pd.DataFrame:
    """Std and Large values of `column` side by side, one row per (schedule, replicate)."""
    wide = runs.pivot_table(index=["schedule", "replicate"], columns="init", values=column)
    return wide.dropna().reset_index()


def correlation_table(runs: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    rows = []
    pools = [("pooled", "all", runs)] + [("per_schedule", s, g) for s, g in runs.groupby("schedule", sort=False)]
    for loss, col in LOSSES.items():
        for pool, schedule, df in pools:
            rows.append((pool, schedule, loss, len(df), *pearson(df["silhouette"], df[col], n_boot, seed)))
        sil, los = paired(runs, "silhouette"), paired(runs, col)
        delta = sil.merge(los, on=["schedule", "replicate"], suffixes=("_s", "_l"))
        delta = delta.assign(ds=delta["std_s"] - delta["large_s"], dl=delta["std_l"] - delta["large_l"])
        for schedule, d in [("all", delta)] + list(delta.groupby("schedule", sort=False)):
            rows.append(("paired_delta", schedule, loss, len(d), *pearson(d["ds"], d["dl"], n_boot, seed)))
    return pd.DataFrame(rows, columns=[c for c, _ in CORRELATIONS.columns])


def sign_count(runs: pd.DataFrame, column: str, schedule: str | None = None, better: str = "std"):
    """(wins, n, sign-test p, mean Large − Std): pairs where `better` has the lower `column`."""
    wide = paired(runs if schedule is None else runs[runs.schedule == schedule], column)
    if wide.empty:
        return 0, 0, np.nan, np.nan
    other = "large" if better == "std" else "std"
    wins = int((wide[better] < wide[other]).sum())
    n = len(wide)
    p = float(stats.binomtest(wins, n, 0.5, alternative="greater").pvalue)
    return wins, n, p, float((wide["large"] - wide["std"]).mean())


# -- init-scale sweep (beyond the paper, pseudo_kernel.md, 'Extensions')
# --------------------------------------------------
SWEEP_PAIRS = (
    ("w", "silhouette"),
    ("silhouette", "final_single_test"),
    ("silhouette", "final_multi_test"),
    ("w", "final_single_test"),
    ("w", "final_multi_test"),
)


def spearman(x, y) -> tuple[float, float]:
    """(rho, p); NaN where undefined (n < 3 or a constant variable)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return np.nan, np.nan
    res = stats.spearmanr(x[ok], y[ok])
    return float(res.statistic), float(res.pvalue)


def sweep_table(sweep: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Spearman rho across init scales, per replicate and summarised over replicates.

    level "replicate": rho over the scales of one replicate (one draw, one data set: the scale is
    the only thing that varies).  level "mean": the across-replicate effect size, mean rho with a
    bootstrap CI over replicates and a two-sided sign-test p on the per-replicate signs.  level
    "pooled": rho over every (scale, replicate) net, CI from a bootstrap over replicates
    (replicates, not nets, are the independent units).
    """
    rng = np.random.default_rng(seed)
    reps = sorted(sweep.replicate.unique())
    by_rep = {r: sweep[sweep.replicate == r] for r in reps}
    draws = [rng.choice(reps, len(reps)) for _ in range(n_boot)]
    rows = []
    for x, y in SWEEP_PAIRS:
        per = {r: spearman(g[x], g[y])[0] for r, g in by_rep.items()}
        rows += [(x, y, "replicate", r, len(by_rep[r]), rho, np.nan, np.nan, np.nan) for r, rho in per.items()]
        vals = np.array([v for v in per.values() if np.isfinite(v)])
        if len(vals):
            boot = [np.nanmean([per[r] for r in d]) for d in draws]
            lo, hi = np.nanpercentile(boot, [2.5, 97.5])
            neg = int((vals < 0).sum())
            p = float(stats.binomtest(neg, len(vals), 0.5).pvalue)
            rows.append((x, y, "mean", -1, len(vals), float(vals.mean()), p, float(lo), float(hi)))
        rho, p = spearman(sweep[x], sweep[y])
        cols = {r: (g[x].to_numpy(float), g[y].to_numpy(float)) for r, g in by_rep.items()}
        boot = [
            spearman(np.concatenate([cols[r][0] for r in d]), np.concatenate([cols[r][1] for r in d]))[0] for d in draws
        ]
        lo, hi = np.nanpercentile(boot, [2.5, 97.5]) if np.isfinite(boot).any() else (np.nan, np.nan)
        rows.append((x, y, "pooled", -1, len(sweep), rho, p, float(lo), float(hi)))
    return pd.DataFrame(rows, columns=[c for c, _ in SWEEP_STATS.columns])
