"""Task 3's joint usage under the arm's joint cost (motor.md, 'Metrics and figures'; reconstruction)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from learndyn.claims import fmt
from learndyn.claims import fmt_number as _f

from .claims_common import BLOWUP_OUT, FIG, _blown, _row
from .tables import JOINT_PATH


def _usage_ratio(df) -> pd.Series:
    """Per seed (completed runs): path of the costly proximal joint 1 / path of the free distal joint 3."""
    ok = df[df["completed"]].set_index("seed")
    r = ok[JOINT_PATH[0]] / ok[JOINT_PATH[2]]
    return r.replace([np.inf, -np.inf], np.nan).dropna()


def _usage(df, cost) -> str:
    if not len(df):
        return f"{cost}: not run"
    r = _usage_ratio(df)
    paths = ", ".join(_f(df.loc[df["completed"], c].median()) for c in JOINT_PATH)
    undefined = int(df["completed"].sum()) - len(r)
    return (
        f"{cost}: median path_1/path_3 {_f(r.median() if len(r) else math.nan)} over {len(r)} seeds"
        + (f" (undefined on {undefined}: joint 3 never moved)" if undefined else "")
        + f", median path per joint ({paths}), {int(df['success'].sum())}/{len(df)} succeed, "
        f"{int((~df['completed']).sum())} blew up"
    )


def joint_usage_claims(res: pd.DataFrame) -> list[dict]:
    """Task-3 cost shaping (motor.md, 'Tasks and protocol' to 'Metrics and figures'; reconstruction): with the default
    cost c = (0.1, 0.05, 0) the costly joint 1 moves less relative to the free joint 3 than with c = 0, paired by
    seed."""
    rows = []
    t3 = res[(res["experiment"] == "task3") & (res["model"] == "supertrex")]
    for variant in ("scripts", "modified"):
        by = {c: t3[(t3["variant"] == variant) & (t3["arm_cost"] == c)] for c in ("default", "beta", "none")}
        rd, rb, rn = (_usage_ratio(by[c]) for c in ("default", "beta", "none"))
        paired, beta = (rd / rn).dropna(), (rb / rn).dropna()
        have = len(by["default"]) and len(by["none"])
        detail = "; ".join(_usage(by[c], c) for c in by) + (
            f"; paired default/none ratio per seed {fmt(paired)}; paired beta/none ratio median "
            f"{_f(beta.median() if len(beta) else math.nan)} over {len(beta)} seeds; path = sum_t |dz_k| per test "
            "period, mean over test periods; reconstruction (motor.md, 'Metrics and figures'), not yet "
            "independently confirmed; Task 3 "
            f"needs N = 1000 (motor.md, 'Expected outcomes and where to check them')"
        )
        rows.append(
            _row(
                f"T3-cost-shapes-joint-usage-{variant}",
                f"Task 3 ({variant} constants), SUPERTREX: the joint cost makes the costly proximal joint "
                "move less relative to the free distal joint than with no cost (redundancy resolved "
                "by moving cheap joints more; reconstruction, not yet independently confirmed)",
                "median over seeds of [path_1/path_3 (default cost)] / [path_1/path_3 (c = 0)], paired",
                aggregate="median",
                values=paired.to_numpy(),
                threshold=1.0,
                direction="<",
                unconverged=_blown(by["default"], "default cost") + _blown(by["none"], "c = 0"),
                reading="typical seed: median of the paired per-seed ratios, order-statistics interval; "
                f"{BLOWUP_OUT}; seeds where joint 3 never moved (ratio undefined) are left out and "
                "counted in the detail",
                figure=FIG.format("M7_joint_usage"),
                not_run="" if have else "needs motor.experiments.task3.arm_costs with default and none (paper.yaml)",
                detail=detail,
            )
        )
    return rows
