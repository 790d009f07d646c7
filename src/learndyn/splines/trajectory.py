"""Training trajectories in spline coordinates, and the per-run metrics table.

The trajectory table keeps, for every run, checkpoint and unit, both the network parameters
(w, b, v, c) and their spline coordinates (breakpoint, delta_slope, orientation), so that
figures and claims never need a checkpoint.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from learndyn.io import Table
from learndyn.splines.gd import loss_and_grads
from learndyn.splines.spline import spline_from_network

PARAM_NAMES = ("w", "b", "v", "c")
TRAJECTORY = Table("splines.trajectory", (
    ("run", pa.int64()), ("step", pa.int64()), ("unit", pa.int64()),
    ("w", pa.float64()), ("b", pa.float64()), ("v", pa.float64()), ("c", pa.float64()),
    ("breakpoint", pa.float64()), ("delta_slope", pa.float64()), ("orientation", pa.int8()),
    ("far", pa.bool_()), ("loss", pa.float64()),
))
METRIC_NAMES = ("d_cs", "d_li", "rms_cs", "rms_li", "displacement_median", "displacement_weighted",
                "n_far", "n_flipped", "pinning_fraction", "pinning_chance", "effective_kinks",
                "r2", "tv", "r2_li", "tv_li", "ncs_curvature", "lazy_rms")
METRICS = Table("splines.metrics", (
    ("group", pa.string()), ("run", pa.int64()), ("sweep", pa.string()), ("dataset", pa.string()),
    ("width", pa.int64()), ("preset", pa.string()), ("knob", pa.string()), ("knob_value", pa.float64()),
    ("seed", pa.int64()), ("converged", pa.bool_()), ("steps", pa.int64()), ("final_loss", pa.float64()),
    *((m, pa.float64()) for m in METRIC_NAMES),
))


def trajectory_rows(params: dict, x: np.ndarray, y: np.ndarray, step: int) -> pd.DataFrame:
    """Spline coordinates (and NN parameters) of every unit of every run at one step."""
    t = {k: torch.tensor(np.array(params[k], dtype=np.float64)) for k in PARAM_NAMES}
    x_t, y_t = torch.tensor(np.array(x, dtype=np.float64)), torch.tensor(np.array(y, dtype=np.float64))
    loss = loss_and_grads(t["w"], t["b"], t["v"], t["c"], x_t, y_t)[0].numpy()
    frames = []
    for r in range(params["w"].shape[0]):
        w, b, v, c = (params[k][r] for k in PARAM_NAMES)
        sp = spline_from_network(w, b, v, c)
        width = len(w)
        beta, mu = np.full(width, np.nan), np.zeros(width)
        orient, far = np.zeros(width, np.int8), np.zeros(width, bool)
        beta[sp.unit], mu[sp.unit], orient[sp.unit], far[sp.unit] = (
            sp.breakpoint, sp.delta_slope, sp.orientation, sp.far)
        frames.append(pd.DataFrame({"run": r, "step": step, "unit": np.arange(width), "w": w, "b": b,
                                    "v": v, "c": float(c), "breakpoint": beta, "delta_slope": mu,
                                    "orientation": orient, "far": far, "loss": float(loss[r])}))
    return pd.concat(frames, ignore_index=True)


def run_params(traj: pd.DataFrame, run: int, step: int | None = None) -> dict:
    """(w, b, v, c) of one run at one step (default: its last) from a trajectory table."""
    g = traj[traj["run"] == run]
    g = g[g["step"] == (g["step"].max() if step is None else step)].sort_values("unit")
    if g.empty:
        raise KeyError(f"no trajectory rows for run {run} at step {step}")
    return {"w": g["w"].to_numpy(), "b": g["b"].to_numpy(), "v": g["v"].to_numpy(), "c": float(g["c"].iloc[0])}
