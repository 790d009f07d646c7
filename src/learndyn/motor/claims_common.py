"""What the motor claims modules share: selecting runs from the results table, reading a seed's deviation
(a blow-up as +inf, or left out and named) and describing a group of runs in a row's detail."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from learndyn.claims import claim, fmt
from learndyn.claims import fmt_number as _f

STUDY = "motor"
FIG = "figures/motor/{}.png"  # relative to results/
BLOWUP_FAILS = "a run that blew up counts as a failure (deviation ∞)"
BLOWUP_OUT = "runs that blew up have no deviation: left out and named (inconclusive)"


def _sel(res, run=None, condition=None, experiment=None):
    m = pd.Series(True, index=res.index)
    if run is not None:
        m &= res["run"] == run
    if condition is not None:
        m &= res["condition"] == condition
    if experiment is not None:
        m &= res["experiment"] == experiment
    return res[m]


def _med(df) -> float:
    d = df.loc[df["completed"], "deviation"]
    return float(d.median()) if len(d) else math.nan


def _fail_dev(df) -> pd.Series:
    """Test deviation per seed, +inf for a blow-up (for success/failure claims)."""
    d = df.set_index("seed").sort_index()
    return d["deviation"].where(d["completed"], np.inf)


def _blown(df, label) -> list[str]:
    return [f"{label} seed {s}" for s in sorted(df.loc[~df["completed"], "seed"])]


def _desc(df, label) -> str:
    if not len(df):
        return f"{label}: not run in this config"
    return (
        f"{label}: {int(df['success'].sum())}/{len(df)} succeed, median deviation {_f(_med(df))} "
        f"(completed runs), {int((~df['completed']).sum())} blew up; N={int(df['N'].iloc[0])}, "
        f"S={int(df['S'].iloc[0])}; per seed {fmt(_fail_dev(df))}"
    )


def _row(cid, stmt, metric, *, not_run="", **kw) -> dict:
    return claim(STUDY, cid, stmt, metric, not_run=not_run, **kw)
