"""Helpers shared by the splines figures: run labels, f from stored parameters, references.

Everything here is a pure function of table data (never a checkpoint, never a network call):
f is drawn with the piecewise form of :mod:`learndyn.splines.spline`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.interpolate import CubicSpline

from learndyn.splines.spline import evaluate_pieces, spline_from_network, spline_pieces
from learndyn.splines.tables import dataset_xy

STEP0_OFFSET = 0.5  # where step 0 sits on a log step axis


def log_steps(step) -> np.ndarray:
    """Steps for a log axis: step 0 is drawn at STEP0_OFFSET."""
    s = np.asarray(step, dtype=float)
    return np.where(s > 0, s, STEP0_OFFSET)


def f_of_params(params: dict, x) -> np.ndarray:
    """f(x) of one network's stored (w, b, v, c), through its spline pieces."""
    sp = spline_from_network(params["w"], params["b"], params["v"], params["c"])
    return evaluate_pieces(spline_pieces(sp), np.asarray(x, dtype=float))


def references(x, y, grid) -> dict:
    """Natural cubic spline and linear interpolant of the data on grid (inside the hull only)."""
    o = np.argsort(x)
    x, y = np.asarray(x, float)[o], np.asarray(y, float)[o]
    inside = (grid >= x[0]) & (grid <= x[-1])
    ncs = np.where(inside, CubicSpline(x, y, bc_type="natural")(grid), np.nan)
    li = np.where(inside, np.interp(grid, x, y), np.nan)
    return {"ncs": ncs, "li": li}


def run_data(runs: pd.DataFrame, datasets: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, str]:
    """The (x, y) of the data set a group of runs trained on (one data set per group)."""
    names = runs["dataset"].unique()
    if len(names) != 1:
        raise ValueError(f"a runs table must name one data set, found {list(names)}")
    x, y = dataset_xy(datasets, names[0])
    return x, y, str(names[0])


def presets_in_order(runs: pd.DataFrame) -> list[str]:
    """Presets in run-axis order (as group_runs lays them out)."""
    return list(dict.fromkeys(runs.sort_values("run")["preset"]))


def first_run(runs: pd.DataFrame, preset: str) -> pd.Series:
    """The run of a preset with the smallest seed."""
    sub = runs[runs["preset"] == preset].sort_values(["seed", "run"])
    if sub.empty:
        raise KeyError(f"no run of preset {preset!r}")
    return sub.iloc[0]


def status(row) -> str:
    """'converged' or 'NOT converged (cap)' with the final loss and steps of a runs/metrics row."""
    tag = "converged" if bool(row["converged"]) else "NOT converged"
    return f"{tag}, L={row['final_loss']:.2g} @ {int(row['steps'])} steps"


def hull_pad(x, frac: float) -> tuple[float, float]:
    lo, hi = float(np.min(x)), float(np.max(x))
    pad = frac * (hi - lo)
    return lo - pad, hi + pad


def data_lines(ax, x, axis: str = "x", **kw) -> None:
    """Data inputs x_n as vertical (axis='x') or horizontal (axis='y') lines."""
    from learndyn.figures.style import DATA_STYLE

    style = {**DATA_STYLE, **kw}
    for xn in np.asarray(x, float):
        (ax.axvline if axis == "x" else ax.axhline)(xn, **style)
