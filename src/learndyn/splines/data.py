"""The small 1-D regression sets of the splines study (splines.md, 'Training protocol and implementation'), as one
Parquet table.

D1 and D2 are the implicit-regularisation sets; D3 (Hessian), D4 (saddle) and D5 (knots vs
curvature) are construction sets.  All live in [-1, 1] with both endpoints included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.splines.constructions import dataset_d3, dataset_d4, dataset_d5
from learndyn.splines.tables import DATASET_KEYS, DATASETS, dataset_xy  # noqa: F401 (schemas and readers: tables.py)


def make_dataset(name: str, d2_seed: int | None = None, d5_points: int | None = None) -> pd.DataFrame:
    """One data set as rows (dataset, index, x, y)."""
    if name == "D1":
        x, y = np.array([-1, -0.6, -0.1, 0.2, 0.7, 1.0]), np.array([0, 0.8, -0.5, 0.6, 1.0, 0.2])
    elif name == "D2":
        x = np.concatenate([[-1.0], np.sort(np.random.default_rng(d2_seed).uniform(-1, 1, 6)), [1.0]])
        y = 0.5 * np.sin(2 * np.pi * x) + x
    elif name in ("D3", "D4", "D5"):
        x, y = {"D3": dataset_d3, "D4": dataset_d4}.get(name, lambda: dataset_d5(d5_points))()
    else:
        raise KeyError(f"unknown splines data set {name!r} (known: {sorted(DATASET_KEYS)})")
    return pd.DataFrame({"dataset": name, "index": np.arange(len(x)), "x": x, "y": y})


def make_datasets(d2_seed: int, d5_points: int) -> pd.DataFrame:
    """Every data set in one table (what figures read)."""
    return pd.concat([make_dataset(n, d2_seed, d5_points) for n in DATASET_KEYS], ignore_index=True)
