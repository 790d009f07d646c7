"""C4, the sweeps: trends with the layer ratio rho, the init scale alpha and the width H (splines.md,
'Implicit regularization: metrics, sweeps, expected outcomes'; spec T18)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from learndyn.claims import N_BOOT, claim, claim_rng, fmt
from learndyn.splines.claims_common import BOOT_SEEDS, F7, STUDY, _conv, _percentile, unconverged


def seed_means(sub: pd.DataFrame, knob: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Knob values and the seed x knob matrix of ``metric`` (NaN where a seed lacks a cell)."""
    table = sub.pivot_table(index="seed", columns=knob, values=metric, aggfunc="mean")
    return table.columns.to_numpy(float), table.to_numpy(float)


def spearman_trend(knobs: np.ndarray, matrix: np.ndarray, claim_id: str) -> tuple[float, tuple[float, float]]:
    """Spearman rho of log knob vs the per-knob seed mean, and a bootstrap interval over seeds.

    Seeds are resampled as whole rows (a seed's runs across the knob stay together), the per-knob
    mean is taken over the resampled seeds, and rho is recomputed; seeded by the claim id.
    """

    def rho(means: np.ndarray) -> np.ndarray:
        means = np.atleast_2d(means)
        ranks = stats.rankdata(means, axis=1)
        kr = stats.rankdata(np.log10(knobs)) - (len(knobs) + 1) / 2
        rc = ranks - ranks.mean(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (rc @ kr) / np.sqrt((rc**2).sum(axis=1) * (kr**2).sum())

    with np.errstate(invalid="ignore"):
        point = float(rho(np.nanmean(matrix, axis=0))[0])
        idx = claim_rng(claim_id).integers(0, matrix.shape[0], size=(N_BOOT, matrix.shape[0]))
        boot = rho(np.nanmean(matrix[idx], axis=1))
    return point, _percentile(boot)


def trend_claim(
    sub: pd.DataFrame, claim_id: str, statement: str, knob: str, knob_name: str, metric: str, metric_name: str, fig: str
) -> dict:
    knobs, matrix = seed_means(sub, knob, metric)
    if len(knobs) < 3:
        return claim(
            STUDY,
            claim_id,
            statement,
            f"Spearman(log {knob_name}, seed-mean {metric_name})",
            threshold=0.0,
            direction="<",
            aggregate="value",
            reading="a monotone trend over the sweep",
            figure=fig,
            not_run=f"fewer than 3 values of {knob_name} in this config",
        )
    val, ci = spearman_trend(knobs, matrix, claim_id)
    means = np.nanmean(matrix, axis=0)
    return claim(
        STUDY,
        claim_id,
        statement,
        f"Spearman(log {knob_name}, seed-mean {metric_name})",
        threshold=0.0,
        direction="<",
        aggregate="value",
        value=val,
        interval=ci,
        interval_method=BOOT_SEEDS,
        unit="seed",
        n=matrix.shape[0],
        reading="a monotone trend over the sweep: rank correlation of the per-value mean over seeds",
        unconverged=unconverged(sub),
        detail=f"{knob_name} {fmt(knobs)}: mean {metric_name} {fmt(means)}; {_conv(sub)}",
        figure=fig,
    )


def width_pair(widths) -> tuple[int, int]:
    """The widths the width claims compare: spec T18's H = 100 vs 1000 where the sweep has them,
    else the smallest vs the largest (e.g. the smoke config)."""
    hs = sorted(int(h) for h in widths)
    wide = 1000 if 1000 in hs else hs[-1]
    narrow = 100 if 100 in hs and 100 < wide else hs[0]
    return narrow, wide


def ratio_of_means(a: np.ndarray, b: np.ndarray, claim_id: str) -> tuple[float, tuple[float, float]]:
    """mean(b) / mean(a) and a two-sample bootstrap interval (seeds resampled within each width)."""
    rng = claim_rng(claim_id)
    ra = a[rng.integers(0, len(a), size=(N_BOOT, len(a)))].mean(1)
    rb = b[rng.integers(0, len(b), size=(N_BOOT, len(b)))].mean(1)
    return float(b.mean() / a.mean()), _percentile(rb / ra)


def width_claim(width: pd.DataFrame, claim_id: str, statement: str, metric: str, name: str) -> dict:
    narrow, wide = width_pair(width["width"].unique())
    lo, hi = width[width["width"] == narrow], width[width["width"] == wide]
    val, ci = ratio_of_means(lo[metric].to_numpy(float), hi[metric].to_numpy(float), claim_id)
    means = width.groupby("width")[metric].mean()
    used = pd.concat([lo, hi])
    return claim(
        STUDY,
        claim_id,
        statement,
        f"mean {name} at H={wide} / mean at H={narrow} (torch-like, {width['dataset'].iloc[0]})",
        threshold=1.0,
        direction="<",
        aggregate="value",
        value=val,
        interval=ci,
        interval_method=BOOT_SEEDS.replace("over seeds", "over seeds within each width"),
        unit="seed",
        n=min(len(lo), len(hi)),
        reading="spec T18: the mean over seeds falls from H = 100 to H = 1000",
        unconverged=unconverged(used),
        detail=f"mean per width {fmt(means.index)}: {fmt(means.to_numpy())}; {_conv(used)}",
        figure=F7,
    )


def sweep_claims(metrics: pd.DataFrame) -> list[dict]:
    rows = []
    width = metrics[(metrics["sweep"] == "width") & (metrics["preset"] == "torch_like")]
    if width["width"].nunique() >= 2:
        rows += [
            width_claim(
                width,
                "C4-wider-lazier",
                "Wider nets (standard scaling) are lazier",
                "displacement_weighted",
                "|mu|-weighted displacement",
            ),
            width_claim(width, "C4-wider-cubic", "Wider nets are closer to the cubic spline", "d_cs", "d_CS"),
        ]
    for sweep, knob in (("rho", "layer ratio rho"), ("alpha", "init scale alpha")):
        sub = metrics[metrics["sweep"] == sweep]
        rows += [
            trend_claim(
                sub,
                f"C4-{sweep}-cubic",
                f"Larger {knob}: closer to the cubic spline (kernel regime)",
                "knob_value",
                sweep,
                "d_cs",
                "d_CS",
                F7,
            ),
            trend_claim(
                sub,
                f"C4-{sweep}-pinning",
                f"Smaller {knob}: more kink mass pinned at data (rich regime)",
                "knob_value",
                sweep,
                "pinning_fraction",
                "pinning fraction",
                F7,
            ),
        ]
    return rows
