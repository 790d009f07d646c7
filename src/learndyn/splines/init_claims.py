"""C3: standard initialisations give very flat initial functions (splines.md, 'Initialization'; spec T5, T6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.claims import N_BOOT, claim, claim_rng, fmt
from learndyn.splines.claims_common import BOOT_DRAWS, F2, F3, STUDY, _percentile


def loglog_slope_interval(df: pd.DataFrame, column: str, claim_id: str, transform=lambda s: s):
    """Point value and bootstrap interval of ``transform(slope)``, the log-log slope of the per-width
    mean of ``column`` (draws resampled within each width; seeded by the claim id)."""
    groups = [(float(h), g[column].to_numpy(float)) for h, g in df.groupby("width")]
    logh = np.log([h for h, _ in groups])
    point = transform(np.polyfit(logh, np.log([v.mean() for _, v in groups]), 1)[0])
    rng = claim_rng(claim_id)
    means = np.stack([v[rng.integers(0, len(v), size=(N_BOOT, len(v)))].mean(1) for _, v in groups], axis=1)
    slopes = np.polyfit(logh, np.log(means).T, 1)[0]
    return float(point), _percentile(transform(slopes))


def init_claims(laws: pd.DataFrame, flatness: pd.DataFrame) -> list[dict]:
    thresholds = laws["ks_threshold"].unique()
    if len(thresholds) != 1:  # one n for every case in the DAG; a mix would need per-case rows
        raise ValueError(f"breakpoint-law cases have different KS thresholds: {fmt(thresholds)}")
    worst = laws.loc[laws["ks"].idxmax()]
    rows = [
        claim(
            STUDY,
            "C3-breakpoint-laws",
            "Breakpoints at init follow the derived laws (Cauchy, uniform ratio, torch default)",
            "KS statistic vs the derived law, per init case",
            threshold=float(thresholds[0]),
            direction="<",
            aggregate="all",
            values=laws["ks"],
            unit="init case",
            reading="the law is derived for every init: all cases (spec T5)",
            detail=f"worst case: {worst['case']} (KS {worst['ks']:.4g}); n = {int(worst['n'])} draws per case",
            figure=F2,
        )
    ]
    fan = flatness[flatness["family"] == "torch"]
    widths = sorted(int(h) for h in fan["width"].unique())
    cid = "C3-flat-fan-in"
    val, ci = loglog_slope_interval(fan, "tv_0", cid, transform=lambda s: np.abs(s - 0.5))
    rows.append(
        claim(
            STUDY,
            cid,
            "Fan-in inits: ~H kinks of size O(1/sqrt(H)), so TV of f0' grows like sqrt(H)",
            "|log-log slope of E TV_hull vs H - 1/2| (torch default)",
            threshold=0.05,
            direction="<",
            aggregate="value",
            value=val,
            interval=ci,
            interval_method=BOOT_DRAWS,
            unit="draw",
            n=len(fan),
            reading="slope of the mean over draws per width (spec F3)",
            detail=f"widths {fmt(widths)}; draws per width {fmt(fan.groupby('width').size().to_numpy())}",
            figure=F3,
        )
    )
    big = fan[fan["width"] == fan["width"].max()]
    rows.append(
        claim(
            STUDY,
            "C3-flat-vs-data",
            "Standard init gives very flat functions relative to the data",
            "R2_0 / R2(LI of D1) per draw, torch default at the largest width",
            threshold=0.05,
            direction="<",
            aggregate="median",
            values=big["r2_ratio"],
            unit="draw",
            reading="typical initial function: median over draws",
            detail=f"width {int(big['width'].iloc[0])}, {len(big)} draws; max over draws {big['r2_ratio'].max():.3g}",
            figure=F3,
        )
    )
    glorot = flatness[flatness["family"] == "glorot"]
    if len(glorot):
        cid = "C3-flat-glorot"
        val, ci = loglog_slope_interval(glorot, "sum_mu2", cid)
        rows.append(
            claim(
                STUDY,
                cid,
                "Glorot zero-bias: sum of squared delta-slopes falls like 1/H",
                "log-log slope of E sum mu^2 vs H (Glorot normal, b=0)",
                threshold=-0.9,
                direction="<",
                aggregate="value",
                value=val,
                interval=ci,
                interval_method=BOOT_DRAWS,
                unit="draw",
                n=len(glorot),
                reading="slope of the mean over draws per width (spec F3)",
                detail=f"closed form 4H/(1+H)^2; widths {fmt(sorted(glorot['width'].unique()))}",
                figure=F3,
            )
        )
    return rows
