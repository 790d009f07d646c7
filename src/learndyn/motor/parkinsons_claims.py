"""The Parkinson's rows: BG lesions, dopamine depletion and L-DOPA (motor.md, 'Parkinson's disease and
automaticity protocol'; a reconstruction, no published numbers)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from learndyn.claims import N_BOOT, claim_rng, fmt
from learndyn.claims import fmt_number as _f

from .claims_common import BLOWUP_FAILS, BLOWUP_OUT, FIG, _blown, _desc, _fail_dev, _med, _row, _sel
from .tasks import SUCCESS_THRESHOLD, make_task, rest_posture_deviation

GRADED = -0.8  # Spearman rank correlation of g_DA with median deviation
REST_TOLERANCE = 0.02  # DA(0) vs the rest-posture deviation (display filter's memory of training)


def _ratio(a, b, la, lb) -> tuple[pd.Series, list[str]]:
    """Per-seed deviation(a) / deviation(b), paired by seed, over seeds completed in both; the blown seeds."""
    ok_a, ok_b = a[a["completed"]].set_index("seed"), b[b["completed"]].set_index("seed")
    r = (ok_a["deviation"] / ok_b["deviation"]).dropna()
    return r, _blown(a, la) + _blown(b, lb)


def _graded(da: pd.DataFrame, cid: str) -> tuple[float, tuple[float, float], np.ndarray, pd.Series]:
    """Spearman(g_DA, median deviation per g_DA) over completed runs, a bootstrap interval over seeds
    (the same seeds resampled at every gain: they share J and noise) and each seed's own rho."""
    wide = da.assign(dev=da["deviation"].where(da["completed"])).pivot_table(
        index="da_gain", columns="seed", values="dev", dropna=False
    )
    g, D = wide.index.to_numpy(float), wide.to_numpy(float)
    med = pd.Series(np.nanmedian(D, axis=1), index=wide.index)

    def rho(m):
        ok = np.isfinite(m)
        return float(stats.spearmanr(g[ok], m[ok]).statistic) if ok.sum() >= 3 and np.ptp(m[ok]) > 0 else math.nan

    rng = claim_rng(cid)
    boot = [rho(np.nanmedian(D[:, i], axis=1)) for i in rng.integers(0, D.shape[1], size=(N_BOOT, D.shape[1]))]
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    return rho(med.to_numpy()), (float(lo), float(hi)), np.array([rho(D[:, j]) for j in range(D.shape[1])]), med


def parkinsons_claims(res: pd.DataFrame, n_train: int = 10, n_test: int = 5) -> list[dict]:
    pd_ = res[res["experiment"] == "parkinsons"]
    rec = "reconstruction (motor.md, 'Parkinson's disease and automaticity protocol'): no published PD numbers"
    if not len(pd_):
        return [
            _row(
                "PD-protocol",
                "Parkinson's protocol",
                "not run",
                aggregate="median",
                values=[],
                threshold=0.5,
                direction="<",
                reading="-",
                not_run="parkinsons not in the config",
                figure=FIG.format("M6_parkinsons"),
            )
        ]
    task = pd_["task"].iloc[0]
    H = _sel(pd_, "pd-da", "H")
    les = _sel(pd_, "pd-lesion")
    fig = FIG.format("M6_parkinsons")
    # Impairment claims presuppose a healthy model that learns: if the typical H seed fails, the
    # comparisons are vacuous (precondition not met; the failing H seeds are named).
    healthy = _med(H) < SUCCESS_THRESHOLD
    sick = (
        ""
        if healthy
        else "the healthy model H fails: "
        + ", ".join(f"H seed {s} (deviation {_f(d)})" for s, d in _fail_dev(H).items() if not d < SUCCESS_THRESHOLD)
    )
    why = "" if healthy else f"the healthy model H fails at this scale ({_desc(H, 'H')}); "
    rows = []
    ks = sorted(les["lesion_after"].unique())
    early = les[les["lesion_after"] == ks[0]] if ks else les
    survive = [k for k in ks if _med(les[les["lesion_after"] == k]) < SUCCESS_THRESHOLD]
    grid = ", ".join(f"LES({k}) {_f(_med(les[les['lesion_after'] == k]))}" for k in ks)
    rows.append(
        _row(
            "PD-lesion-before-consolidation-fails",
            "A BG lesion before consolidation abolishes the skill (earliest lesion in the grid)",
            f"median over seeds of the test deviation of LES({ks[0] if ks else '?'})",
            aggregate="median",
            values=_fail_dev(early),
            threshold=SUCCESS_THRESHOLD,
            direction=">",
            precondition=sick,
            reading=f"'abolishes the skill' (typical seed): median deviation > 0.5, order-statistics "
            f"interval; {BLOWUP_FAILS}",
            figure=fig,
            not_run="" if len(early) else "pd-lesion not in this config",
            detail=f"{why}{task}; median deviation {grid}; first k that survives: "
            f"{survive[0] if survive else 'none'}; {rec}",
        )
    )
    rows.append(
        _row(
            "PD-lesion-after-consolidation-survives",
            "A BG lesion after consolidation spares the skill (standard test = post-training lesion)",
            "test deviation of H = LES(n_train) per seed",
            aggregate="all",
            values=_fail_dev(H),
            threshold=SUCCESS_THRESHOLD,
            direction="<",
            figure=fig,
            reading=f"'spares the skill': every healthy seed succeeds after the post-training lesion (all); "
            f"{BLOWUP_FAILS}",
            not_run="" if len(H) else "pd-da (H) not in this config",
            detail=f"{_desc(H, 'H')}; {rec}",
        )
    )
    bg = _sel(pd_, "pd-bgon", "BGON")
    ratio, blown = _ratio(bg, H, "BGON", "H")
    rows.append(
        _row(
            "PD-bg-on-test-worse",
            "Keeping the BG pathway at test is worse than lesioning it (pallidotomy analogue)",
            "median over seeds of deviation(BGON) / deviation(H), paired",
            aggregate="median",
            values=ratio.to_numpy(),
            threshold=1.0,
            direction=">",
            unconverged=blown,
            precondition=sick,
            figure=fig,
            reading=f"'worse' (typical seed): median of paired per-seed ratios, order-statistics interval; "
            f"{BLOWUP_OUT}",
            not_run="" if len(bg) else "pd-bgon not in this config",
            detail=f"{why}per seed {fmt(ratio)}; {_desc(bg, 'BGON')}; {rec}",
        )
    )
    da = _sel(pd_, "pd-da")
    rho, ci, per_seed, med = _graded(da, "PD-graded-depletion")
    rows.append(
        _row(
            "PD-graded-depletion",
            "Graded dopamine depletion gives graded impairment",
            "Spearman rank correlation of g_DA with the median deviation over seeds",
            aggregate="value",
            value=rho,
            interval=ci,
            values=per_seed,
            n=int(da["seed"].nunique()),
            n_min=3,
            interval_method=f"bootstrap percentile 95% over seeds, resampled jointly at every g_DA "
            f"({N_BOOT} resamples, seeded)",
            threshold=GRADED,
            direction="<",
            unconverged=_blown(da, "DA"),
            precondition=sick,
            figure=fig,
            reading=f"'graded' (the typical deviation rises as g_DA falls): Spearman rho of the per-gain "
            f"medians with a bootstrap interval over seeds; values = each seed's own rho; {BLOWUP_OUT}",
            detail=f"{why}median deviation by g_DA: "
            + ", ".join(f"{_f(g)}: {_f(v)}" for g, v in med.items())
            + f"; {rec}",
        )
    )
    d0 = da[da["da_gain"] == 0.0]
    if len(d0):
        rest = rest_posture_deviation(make_task(task), int(d0["S"].iloc[0]), n_train, n_test)
        rel = (_fail_dev(d0) - rest).abs() / rest
        rows.append(
            _row(
                "PD-DA0-rest-posture",
                "Total depletion DA(0): no learning, the arm stays at rest",
                "|deviation DA(0) - rest-posture deviation| / rest-posture deviation, per seed",
                aggregate="all",
                values=rel.to_numpy(),
                threshold=REST_TOLERANCE,
                direction="<",
                figure=fig,
                reading="'near-identical across seeds' (motor.md, 'Parkinson's disease and automaticity "
                "protocol' regression check): every seed (all); "
                f"{BLOWUP_FAILS}",
                detail=f"rest-posture deviation {_f(rest)} (from f alone), N={int(d0['N'].iloc[0])}; "
                f"per seed {fmt(rel)}; {rec}",
            )
        )
    for (g, k), grp in _sel(pd_, "pd-ldopa").groupby(["da_gain", "ldopa_until"]):
        ratio, blown = _ratio(grp, da[da["da_gain"] == g], "LDOPA", f"DA({_f(g)})")
        rows.append(
            _row(
                f"PD-ldopa-{g:g}-{k}",
                f"L-DOPA after period {k} restores learning towards H (vs DA({g:g}) throughout)",
                f"median over seeds of deviation(LDOPA({g:g},{k})) / deviation(DA({g:g})), paired",
                aggregate="median",
                values=ratio.to_numpy(),
                threshold=1.0,
                direction="<",
                unconverged=blown,
                precondition=sick,
                figure=fig,
                reading=f"'restores towards H' (typical seed): median of paired per-seed ratios, "
                f"order-statistics interval; {BLOWUP_OUT}",
                detail=f"{why}per seed {fmt(ratio)}; {_desc(grp, 'LDOPA')}; prediction, not yet validated; {rec}",
            )
        )
    return rows
