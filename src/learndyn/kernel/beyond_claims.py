"""Beyond the paper: the init-scale sweep (SW, pseudo_kernel.md, 'Extensions') and the t = 0 pseudo-kernel of
the splines study's nets against their measured regime (KR)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.claims import N_BOOT, claim_rng, fmt
from learndyn.claims import fmt_number as _f
from learndyn.kernel.claims_common import FIG, _c
from learndyn.kernel.stats import spearman


def sweep_claims(sweep: pd.DataFrame, st: pd.DataFrame, th: dict) -> list[dict]:
    """Init-scale sweep (beyond the paper): does t = 0 structure track final losses across scales?

    Effect size: mean over replicates of Spearman rho across the sweep's scales (one draw and one
    data set per replicate, so only the scale varies); |rho| >= kernel.claims.sweep_rho in the
    direction O8 predicts, with the bootstrap interval over replicates, counts as reproduced.
    """
    rows = []
    scales = sorted(sweep.w.unique())
    means = sweep.groupby("w")[["silhouette", "final_single_test", "final_multi_test"]].mean()
    profile = "; ".join(
        f"w={_f(w)}: sil {_f(r.silhouette)}, single {_f(r.final_single_test)}, multi {_f(r.final_multi_test)}"
        for w, r in means.iterrows()
    )
    reading = (
        "'higher structure goes with lower/higher loss across scales': mean over replicates of the "
        "per-replicate Spearman rho, with the study's bootstrap interval over replicates"
    )
    for cid, (x, y), sign, stmt in (
        ("SW1", ("w", "silhouette"), -1, "t = 0 pseudo-kernel structure (silhouette) falls as the init scale grows"),
        (
            "SW2-single",
            ("silhouette", "final_single_test"),
            -1,
            "Across init scales, higher t = 0 structure goes with lower final single-task test SSE",
        ),
        (
            "SW2-multi",
            ("silhouette", "final_multi_test"),
            1,
            "Across init scales, higher t = 0 structure goes with higher final multitask test SSE",
        ),
    ):
        sel = st[(st.x == x) & (st.y == y)]
        per = sel[sel.level == "replicate"].sort_values("replicate").rho.to_numpy(float)
        m, pooled = sel[sel.level == "mean"], sel[sel.level == "pooled"]
        kw = {
            "threshold": sign * th["sweep_rho"],
            "direction": ">=" if sign > 0 else "<=",
            "unit": "replicate",
            "figure": FIG.format("L_scale_sweep"),
            "reading": reading,
            "n_min": 3,
        }
        stmt = f"Init-scale sweep (beyond the paper): {stmt}"
        metric = f"mean over replicates of Spearman rho({x}, {y}) across {len(scales)} scales"
        if m.empty:  # no replicate with a defined rho (e.g. constant losses)
            rows.append(_c(cid, stmt, metric, aggregate="value", value=np.nan, n=0, detail="rho undefined", **kw))
            continue
        m, pooled = m.iloc[0], pooled.iloc[0]
        rows.append(
            _c(
                cid,
                stmt,
                metric,
                aggregate="value",
                value=m.rho,
                interval=(m.ci_lo, m.ci_hi),
                n=int(m.n),
                values=per,
                interval_method="bootstrap percentile 95% over replicates (kernel.stats, seeded)",
                detail=f"per replicate rho {fmt(per)}; sign-test p = {_f(m.p)}; pooled rho = {_f(pooled.rho)} "
                f"(n = {int(pooled.n)}, CI [{_f(pooled.ci_lo)}, {_f(pooled.ci_hi)}]); means by scale: "
                f"{profile}",
                **kw,
            )
        )
    return rows


def _boot_spearman(x: np.ndarray, y: np.ndarray, cid: str) -> tuple[float, float]:
    """Percentile bootstrap over runs of Spearman rho, seeded by the claim id (reproducible)."""
    rng = claim_rng(cid)
    boot = [spearman(x[i], y[i])[0] for i in rng.integers(0, len(x), size=(N_BOOT, len(x)))]
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    return float(lo), float(hi)


def regime_claims(
    st: pd.DataFrame, th: dict, table: pd.DataFrame | None = None, pool_sweeps: list[str] = ()
) -> list[dict]:
    """Does the t = 0 pseudo-kernel of the splines study's nets predict their measured regime?

    Predictor fixed in advance: the knot share of the predicted first step (near 0 = lazy); the
    regime: M6 lazy_rms (distance from the lazy prediction) and M2 knot displacement.  The other
    measures and the residual-free eNTK baseline are reported in the detail.  ``table`` (one row
    per splines run) and ``pool_sweeps`` (kernel.splines_regime.pool) give the bootstrap interval
    and which runs of the pool did not converge: a run stopped before convergence has not reached
    its regime, so it is no evidence (inconclusive).
    """
    rows = []
    pool = st[st["pool"] == "pool"].set_index(["predictor", "regime"])
    for cid, regime, what in (
        ("KR-lazy", "lazy_rms", "distance of the trained function from the lazy prediction (M6)"),
        ("KR-knots", "displacement_median", "median knot displacement (M2)"),
    ):
        r = pool.loc[("knot_share", regime)]
        others = "; ".join(
            f"{p}: {_f(pool.loc[(p, regime), 'rho'])}"
            for p in pool.index.get_level_values(0).unique()
            if p != "knot_share"
        )
        every = st[(st["pool"] == "all") & (st.predictor == "knot_share") & (st.regime == regime)].iloc[0]
        per = st[st["pool"].str.startswith("sweep:") & (st.predictor == "knot_share") & (st.regime == regime)]
        per_sweep = ", ".join(f"{q['pool'][6:]} {_f(q.rho)} (n = {q.n})" for _, q in per.iterrows())
        kw, extra = {}, ""
        if table is not None:
            t = table[table.sweep.isin(pool_sweeps)]
            unconv = t.loc[~t.converged, ["group", "run"]].itertuples(index=False)
            kw = {
                "interval": _boot_spearman(t.knot_share.to_numpy(float), t[regime].to_numpy(float), cid),
                "interval_method": f"bootstrap percentile 95% over the pool's runs ({N_BOOT} resamples, seeded)",
                "unconverged": [f"{g}/run {u}" for g, u in unconv],
            }
            ok = t[t.converged]
            extra = f"; converged runs only: rho = {_f(spearman(ok.knot_share, ok[regime])[0])} (n = {len(ok)})"
        rows.append(
            _c(
                cid,
                "Splines nets (beyond the paper): the t = 0 pseudo-kernel's knot share predicts the "
                f"measured regime, {what}",
                f"Spearman rho(knot share of the t = 0 pseudo-kernel step, {regime}) across runs",
                aggregate="value",
                value=r.rho,
                n=int(r.n),
                n_min=3,
                threshold=th["regime_rho"],
                direction=">=",
                unit="run",
                figure=FIG.format("M_splines_regime"),
                reading="'predicts': Spearman rho across the pool's runs (same data and width, only the init "
                "differs) at least kernel.claims.regime_rho, with a bootstrap interval over runs; "
                "runs that did not converge make the row inconclusive",
                detail=f"p = {_f(r.p)}{extra}; other t = 0 measures: {others} (ntk_knot_share = residual-free "
                f"eNTK baseline); every splines run: rho = {_f(every.rho)} (n = {int(every.n)}); per "
                f"sweep: {per_sweep}",
                **kw,
            )
        )
    return rows
