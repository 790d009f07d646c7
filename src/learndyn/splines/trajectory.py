"""Training trajectories in spline coordinates, and the per-run metrics table.

The trajectory table keeps, for every run, checkpoint and unit, both the network parameters
(w, b, v, c) and their spline coordinates (breakpoint, delta_slope, orientation), so that
figures and claims never need a checkpoint.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from learndyn.splines.gd import loss_and_grads
from learndyn.splines.spline import spline_from_network
from learndyn.splines.tables import (  # noqa: F401 (schemas and readers: tables.py)
    METRIC_NAMES,
    METRICS,
    PARAM_NAMES,
    TRAJECTORY,
    run_params,
)


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
            sp.breakpoint,
            sp.delta_slope,
            sp.orientation,
            sp.far,
        )
        frames.append(
            pd.DataFrame(
                {
                    "run": r,
                    "step": step,
                    "unit": np.arange(width),
                    "w": w,
                    "b": b,
                    "v": v,
                    "c": float(c),
                    "breakpoint": beta,
                    "delta_slope": mu,
                    "orientation": orient,
                    "far": far,
                    "loss": float(loss[r]),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
