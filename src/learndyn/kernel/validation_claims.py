"""O1-O2: the pseudo-kernel on the validation cases, the 1-D one-step check and the SMG linear net
(pseudo_kernel.md, 'Validation cases')."""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.claims import fmt
from learndyn.claims import fmt_number as _f
from learndyn.kernel.claims_common import FIG, _c

EXACT = "exact: one deterministic run (fixed seeds), no sampling uncertainty"


def validation_claims(
    onestep: pd.DataFrame, smg: pd.DataFrame, track: pd.DataFrame, corr: pd.DataFrame, th: dict
) -> list[dict]:
    rows = []
    r1 = onestep[onestep.case == "relu1d"].sort_values("lr", ascending=False)
    rows.append(
        _c(
            "O1a",
            "P(θ0) predicts the one-step update of the 1-D ReLU net (Fig. A)",
            "sup-norm relative error of Δf̂ = −(η/N)ΣP at η = 0.03",
            aggregate="value",
            value=r1.rel_sup.iloc[0],
            threshold=th["onestep_tol"],
            direction="<",
            unit="net",
            reading=EXACT + " (pseudo_kernel.md, '1-D one-step check': error < 1e-2)",
            figure=FIG.format("A_one_step"),
            detail=f"errors at η = {fmt(r1.lr)}: {fmt(r1.rel_sup)}",
        )
    )
    mt = onestep[onestep.case == "multitask"].sort_values(["init", "lr"], ascending=[True, False])
    ratios = [float(g.rel_l2.iloc[i + 1] / g.rel_l2.iloc[i]) for _, g in mt.groupby("init") for i in range(len(g) - 1)]
    rows.append(
        _c(
            "O1b",
            "One-step identity error is second order: halving η halves it (multitask net, Std and Large)",
            "|error ratio on halving η − 0.5|, per halving",
            aggregate="all",
            values=[abs(r - 0.5) for r in ratios],
            threshold=0.1,
            direction="<",
            unit="halving",
            reading="every halving of η (both inits) must give a ratio within 0.1 of 0.5 (all); deterministic",
            figure=FIG.format("A_one_step"),
            detail=f"ratios {fmt(ratios)}; smallest-η error: "
            + ", ".join(f"{k} {_f(v)}" for k, v in mt.groupby("init").rel_l2.min().items()),
        )
    )
    tau = smg.set_index("mode")["half_time"]
    sw = smg.set_index("mode")["switch_time"]
    dev = max(abs(tau[1] - 190) / 190, abs(tau[2] - 770) / 770)
    ordered = tau[1] < tau[2] < tau[3]
    rows.append(
        _c(
            "O2a",
            "SMG linear net: modes learned in order of s_α, half-times near the authors' t = 190, 770",
            "max relative deviation of τ1, τ2 from 190, 770 (∞ if the order τ1<τ2<τ3 fails)",
            aggregate="value",
            value=dev if ordered else np.inf,
            threshold=th["half_time_tol"],
            direction="<=",
            unit="net",
            reading=EXACT,
            figure=FIG.format("B_linear_loss"),
            detail=f"τ = {fmt(tau)} (τ4 = ∞ expected: width 3 < rank 4)",
        )
    )
    cos = track.pivot(index="t", columns="mode", values="cos")
    bracket = tau[1] < sw[2] < tau[2] < sw[3]
    rows.append(
        _c(
            "O2b",
            "The pseudo-kernel's predicted update direction tracks the mode being learned (1 → 2 → 3)",
            "min(|cos(û,u1)| at 190, |cos(û,u2)| at 770), 0 if switches do not bracket the half-times",
            aggregate="value",
            value=min(cos.loc[190, 1], cos.loc[770, 2]) if bracket else 0.0,
            threshold=th["cos_floor"],
            direction=">",
            unit="net",
            reading=EXACT,
            figure=FIG.format("D_linear_tracking"),
            detail=f"switch times {fmt(sw)}, half-times {fmt(tau)}",
        )
    )
    tr = corr[corr.side == "train"].set_index(["t", "sv_index", "mode"])["r"]
    ok = tr.loc[(190, 1)].idxmax() == 1 and tr.loc[(770, 2)].idxmax() == 2
    rows.append(
        _c(
            "O2c",
            "While a mode is learned, a kernel singular vector matches that mode's input projection |x·u_α|",
            "min(r(SV1,|x·u1|) at 190, r(SV2,|x·u2|) at 770); −1 if not the largest over α",
            aggregate="value",
            value=min(tr[(190, 1, 1)], tr[(770, 2, 2)]) if ok else -1.0,
            threshold=th["r_floor"],
            direction=">",
            unit="net",
            reading=EXACT,
            figure=FIG.format("C_linear_kernel_vectors"),
            detail=f"r190 = {fmt(tr.loc[(190, 1)])}, r770 = {fmt(tr.loc[(770, 2)])}",
        )
    )
    return rows
