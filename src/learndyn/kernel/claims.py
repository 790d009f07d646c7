"""Claims rows of the kernel study (spec §7, O1–O8), computed from the tables; thresholds come
from the config (``kernel.claims``), never from the results.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.claims import CLAIMS, claims_frame
from learndyn.claims import legacy_claim as claim
from learndyn.io import read_table, write_table
from learndyn.job import Job
from learndyn.kernel import tables as kt
from learndyn.kernel.stats import sign_count

STUDY = "kernel"


def _c(*args, **kw) -> dict:
    return claim(STUDY, *args, **kw)


def validation_claims(onestep: pd.DataFrame, smg: pd.DataFrame, track: pd.DataFrame, corr: pd.DataFrame,
                      th: dict) -> list[dict]:
    rows = []
    r1 = onestep[onestep.case == "relu1d"].sort_values("lr", ascending=False)
    rows.append(_c("O1a", "P(θ0) predicts the one-step update of the 1-D ReLU net (Fig. A)",
                   "sup-norm relative error of Δf̂ = −(η/N)ΣP at η = 0.03", r1.rel_sup.iloc[0], th["onestep_tol"], "<",
                   1, f"errors at η = {r1.lr.tolist()}: {np.round(r1.rel_sup, 5).tolist()}"))
    mt = onestep[onestep.case == "multitask"].sort_values(["init", "lr"], ascending=[True, False])
    ratios = [float(g.rel_l2.iloc[i + 1] / g.rel_l2.iloc[i]) for _, g in mt.groupby("init") for i in range(len(g) - 1)]
    worst = max(abs(r - 0.5) for r in ratios)
    rows.append(_c("O1b", "One-step identity error is second order: halving η halves it (multitask net, Std and Large)",
                   "max |error ratio on halving η − 0.5|", worst, 0.1, "<", 2,
                   f"ratios {np.round(ratios, 3).tolist()}; smallest-η error "
                   f"{mt.groupby('init').rel_l2.min().round(5).to_dict()}"))
    tau = smg.set_index("mode")["half_time"]
    sw = smg.set_index("mode")["switch_time"]
    dev = max(abs(tau[1] - 190) / 190, abs(tau[2] - 770) / 770)
    ordered = tau[1] < tau[2] < tau[3]
    rows.append(_c("O2a", "SMG linear net: modes learned in order of s_α, half-times near the authors' t = 190, 770",
                   "max relative deviation of τ1, τ2 from 190, 770 (∞ if the order τ1<τ2<τ3 fails)",
                   dev if ordered else np.inf, th["half_time_tol"], "<=", 1,
                   f"τ = {tau.tolist()} (τ4 = ∞ expected: width 3 < rank 4)"))
    cos = track.pivot(index="t", columns="mode", values="cos")
    bracket = tau[1] < sw[2] < tau[2] < sw[3]
    track_val = min(cos.loc[190, 1], cos.loc[770, 2]) if bracket else 0.0
    rows.append(_c("O2b", "The pseudo-kernel's predicted update direction tracks the mode being learned (1 → 2 → 3)",
                   "min(|cos(û,u1)| at 190, |cos(û,u2)| at 770), 0 if switches do not bracket the half-times",
                   track_val, th["cos_floor"], ">", 1,
                   f"switch times {sw.tolist()}, half-times {tau.tolist()}"))
    tr = corr[corr.side == "train"].set_index(["t", "sv_index", "mode"])["r"]
    ok190 = tr.loc[(190, 1)].idxmax() == 1
    ok770 = tr.loc[(770, 2)].idxmax() == 2
    val = min(tr[(190, 1, 1)], tr[(770, 2, 2)]) if ok190 and ok770 else -1.0
    rows.append(_c("O2c", "While a mode is learned, a kernel singular vector matches that mode's input projection |x·u_α|",
                   "min(r(SV1,|x·u1|) at 190, r(SV2,|x·u2|) at 770); −1 if not the largest over α",
                   val, th["r_floor"], ">", 1,
                   f"r190 = {tr.loc[(190, 1)].round(3).tolist()}, r770 = {tr.loc[(770, 2)].round(3).tolist()}"))
    return rows


def multitask_claims(runs: pd.DataFrame, ari: pd.DataFrame, corr: pd.DataFrame, ari_cfg: dict, th: dict) -> list[dict]:
    rows = []
    n_pairs = runs.groupby(["schedule", "replicate"]).ngroups
    sil = runs.pivot_table(index=["schedule", "replicate"], columns="init", values="silhouette").dropna()
    gap = sil["std"] - sil["large"]
    rows.append(_c("O3", "t = 0 pseudo-kernel structure (silhouette) is much higher for Std than Large init",
                   "fraction of pairs with silhouette Std > Large", (gap > 0).mean(), th["o3_fraction"], ">=", n_pairs,
                   f"mean gap {gap.mean():.3f}, s.d. {gap.std():.3f}; Std {sil['std'].mean():.3f}, "
                   f"Large {sil['large'].mean():.3f}"))
    for schedule in runs.schedule.unique():
        wins, n, p, delta = sign_count(runs, "final_single_test", schedule, better="std")
        if schedule == "ET":
            stmt = ("Open question: ET single-task ordering (authors' comment says Std ended higher); "
                    "reported as found: Std better at single-task generalisation under ET")
        else:
            stmt = "Std init generalises better on single tasks (final phase-1 test SSE Std < Large)"
        rows.append(_c(f"O4-{schedule}", stmt, f"fraction of {schedule} pairs with Std < Large (single-task test SSE)",
                       wins / n if n else np.nan, th["pair_fraction"], ">", n,
                       f"{wins}/{n}, sign-test p = {p:.3g}, mean Large − Std = {delta:.3g}"))
    for schedule in runs.schedule.unique():
        wins, n, p, delta = sign_count(runs, "final_multi_test", schedule, better="large")
        rows.append(_c(f"O5-{schedule}", "Large init is better at concurrent multitasking after fine-tuning "
                       "(final phase-2 multitask test SSE Large < Std)",
                       f"fraction of {schedule} pairs with Large < Std (multitask test SSE)",
                       wins / n if n else np.nan, th["pair_fraction"], ">", n,
                       f"{wins}/{n}, sign-test p = {p:.3g}, mean Large − Std = {delta:.3g}"))
    end = runs.groupby("init")["ari_task_end1"].mean()
    rows.append(_c("O6a", "Std hidden task representations cluster by input dimension after single-task training",
                   "mean ARI, k-means(4) on task-averaged hidden patterns (200-D) vs input dimension, Std",
                   end.get("std", np.nan), th["ari_high"], ">=", n_pairs,
                   f"per run: {runs[runs.init == 'std'].ari_task_end1.round(3).tolist()}"))
    rows.append(_c("O6b", "Large hidden task representations do not cluster by input dimension (near chance)",
                   "mean ARI (as O6a), Large", end.get("large", np.nan), th["ari_chance"], "<=", n_pairs,
                   f"per run: {runs[runs.init == 'large'].ari_task_end1.round(3).tolist()}"))
    std_ari = ari[(ari.schedule == ari_cfg["schedule"]) & (ari.replicate < ari_cfg["replicates"]) & (ari.init == "std")]
    sel, raw = std_ari[std_ari.space == "embedding"], std_ari[std_ari.space == "raw"]
    n_rep = sel.replicate.nunique()
    for grouping in ("task", "input"):
        curve = sel[sel.grouping == grouping].groupby("snapshot")["ari"].mean()
        raw_curve = raw[raw.grouping == grouping].groupby("snapshot")["ari"].mean()
        rows.append(_c(f"O7-{grouping}", f"Predicted {grouping} groups emerge early in Std hidden learning (Fig. H)",
                       f"max over first-half snapshots of mean ARI ({kt.EMBEDDING} embedding, k-means, {grouping})",
                       curve.max() if len(curve) else np.nan, th["ari_high"], ">=", n_rep,
                       f"{ari_cfg['schedule']}, {n_rep} replicates; ARI at snapshot 0: "
                       f"{curve.iloc[0] if len(curve) else np.nan:.3f}, first snapshot ≥ threshold: "
                       f"{int(curve.index[curve >= th['ari_high']][0]) if (curve >= th['ari_high']).any() else 'none'}; "
                       f"control on raw 200-D patterns: max {raw_curve.max() if len(raw_curve) else np.nan:.3f} at "
                       f"snapshot {raw_curve.idxmax() if len(raw_curve) else -1}"))
    for pool in ("pooled", "per_schedule"):
        for loss, direction, word in (("multi", ">", "positive"), ("single", "<", "negative")):
            for r in corr[(corr.pool == pool) & (corr.loss == loss)].itertuples():
                rows.append(_c(f"O8-{loss}-{r.schedule}", f"r(t = 0 silhouette, final {loss}-task test SSE) is {word} "
                               f"({pool.replace('_', ' ')})", f"Pearson r across runs ({r.schedule})", r.r, 0.0,
                               direction, r.n, f"n = {r.n}, p = {r.p:.3g}, 95% bootstrap CI "
                               f"[{r.ci_lo:.2f}, {r.ci_hi:.2f}]; paired deltas: " + "; ".join(
                                   f"{d.schedule}: r = {d.r:.2f} (n = {d.n})" for d in corr[
                                       (corr.pool == 'paired_delta') & (corr.loss == loss)].itertuples())))
    frozen = runs.biases_frozen.all()
    rows.append(_c("T4", "Biases stay exactly −2 through both phases (frozen, weights-only θ)",
                   "fraction of nets with biases == −2 at the end", runs.biases_frozen.mean(), 1.0, ">=", len(runs),
                   "all frozen" if frozen else "some biases moved"))
    return rows


def sweep_claims(sweep: pd.DataFrame, st: pd.DataFrame, th: dict) -> list[dict]:
    """Init-scale sweep (beyond the paper): does t = 0 structure track final losses across scales?

    Effect size: mean over replicates of Spearman rho across the sweep's scales (one draw and one
    data set per replicate, so only the scale varies); |rho| >= kernel.claims.sweep_rho in the
    direction O8 predicts counts as reproduced.
    """
    rows = []
    st = st.set_index(["x", "y", "level"])
    scales = sorted(sweep.w.unique())
    means = sweep.groupby("w")[["silhouette", "final_single_test", "final_multi_test"]].mean()
    profile = "; ".join(f"w={w:g}: sil {r.silhouette:.2f}, single {r.final_single_test:.1f}, "
                        f"multi {r.final_multi_test:.1f}" for w, r in means.iterrows())
    for cid, (x, y), sign, stmt in (
            ("SW1", ("w", "silhouette"), -1, "t = 0 pseudo-kernel structure (silhouette) falls as the init scale grows"),
            ("SW2-single", ("silhouette", "final_single_test"), -1,
             "Across init scales, higher t = 0 structure goes with lower final single-task test SSE"),
            ("SW2-multi", ("silhouette", "final_multi_test"), 1,
             "Across init scales, higher t = 0 structure goes with higher final multitask test SSE")):
        if (x, y, "mean") not in st.index:  # no replicate with a defined rho (e.g. constant losses)
            rows.append(_c(cid, f"Init-scale sweep (beyond the paper): {stmt}", f"mean Spearman rho({x}, {y})",
                           np.nan, sign * th["sweep_rho"], ">=" if sign > 0 else "<=", 0, "rho undefined"))
            continue
        m, pooled = st.loc[(x, y, "mean")], st.loc[(x, y, "pooled")]
        rows.append(_c(cid, f"Init-scale sweep (beyond the paper): {stmt}",
                       f"mean over replicates of Spearman rho({x}, {y}) across {len(scales)} scales",
                       m.rho, sign * th["sweep_rho"], ">=" if sign > 0 else "<=", int(m.n),
                       f"95% bootstrap CI over replicates [{m.ci_lo:.2f}, {m.ci_hi:.2f}], sign-test p = {m.p:.3g}; "
                       f"pooled rho = {pooled.rho:.2f} (n = {int(pooled.n)}, CI [{pooled.ci_lo:.2f}, "
                       f"{pooled.ci_hi:.2f}]); means by scale: {profile}"))
    return rows


def regime_claims(st: pd.DataFrame, th: dict) -> list[dict]:
    """Does the t = 0 pseudo-kernel of the splines study's nets predict their measured regime?

    Predictor fixed in advance: the knot share of the predicted first step (near 0 = lazy); the
    regime: M6 lazy_rms (distance from the lazy prediction) and M2 knot displacement.  The other
    measures and the residual-free eNTK baseline are reported in the detail.
    """
    rows = []
    pool = st[st["pool"] == "pool"].set_index(["predictor", "regime"])
    for cid, regime, what in (("KR-lazy", "lazy_rms", "distance of the trained function from the lazy prediction (M6)"),
                              ("KR-knots", "displacement_median", "median knot displacement (M2)")):
        r = pool.loc[("knot_share", regime)]
        others = "; ".join(f"{p}: {pool.loc[(p, regime), 'rho']:.2f}" for p in pool.index.get_level_values(0).unique()
                           if p != "knot_share")
        every = st[(st["pool"] == "all") & (st.predictor == "knot_share") & (st.regime == regime)].iloc[0]
        per = st[st["pool"].str.startswith("sweep:") & (st.predictor == "knot_share") & (st.regime == regime)]
        per_sweep = ", ".join(f"{q['pool'][6:]} {q.rho:.2f} (n = {q.n})" for _, q in per.iterrows())
        rows.append(_c(cid, "Splines nets (beyond the paper): the t = 0 pseudo-kernel's knot share predicts the "
                       f"measured regime, {what}", "Spearman rho(knot share of the t = 0 pseudo-kernel step, "
                       f"{regime}) across runs", r.rho, th["regime_rho"], ">=", int(r.n),
                       f"p = {r.p:.3g}; other t = 0 measures: {others} (ntk_knot_share = residual-free eNTK "
                       f"baseline); every splines run: rho = {every.rho:.2f} (n = {int(every.n)}); per sweep: "
                       f"{per_sweep}"))
    return rows


def write_claims(job: Job) -> None:
    i, cfg = job.inputs, job.cfg
    rows = validation_claims(read_table(i["onestep"], kt.ONESTEP), read_table(i["smg_summary"], kt.SMG_SUMMARY),
                             read_table(i["smg_track"], kt.SMG_TRACK), read_table(i["smg_corr"], kt.SMG_CORR),
                             cfg["claims"])
    rows += multitask_claims(read_table(i["runs"], kt.SUMMARY), read_table(i["ari"], kt.ARI),
                             read_table(i["correlations"], kt.CORRELATIONS), cfg["ari"], cfg["claims"])
    if "splines_regime_stats" in i:  # only when the splines study is in the DAG
        rows += regime_claims(read_table(i["splines_regime_stats"], kt.REGIME_STATS), cfg["claims"])
    rows += sweep_claims(read_table(i["sweep"], kt.SUMMARY), read_table(i["sweep_stats"], kt.SWEEP_STATS),
                         cfg["claims"])
    df = claims_frame(rows)
    write_table(df, job.output("claims"), CLAIMS, job.provenance())
    job.log(df[["claim_id", "value", "verdict"]].to_string())
