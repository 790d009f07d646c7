"""Parquet schemas and paths of the splines study's tables, and the readers figures and claims use.

Kept apart from the writers (which import them) so that figure and claims jobs, which read Parquet
only, import pyarrow here instead of torch (each figure job is a fresh process).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from learndyn.io import Table

# written by learndyn.splines.jobs (prepare/collect_splines_dataset(s), train_splines, analyse_splines_group)
# Which data config keys each set reads: a job depends only on its own set, so changing
# d5_points reruns the D5 jobs and nothing else.
DATASET_KEYS = {"D1": (), "D2": ("d2_seed",), "D3": (), "D4": (), "D5": ("d5_points",)}

DATASETS = Table(
    "splines.datasets",
    (
        ("dataset", pa.string()),
        ("index", pa.int64()),
        ("x", pa.float64()),
        ("y", pa.float64()),
    ),
)

RUNS = Table(
    "splines.runs",
    (
        ("run", pa.int64()),
        ("group", pa.string()),
        ("sweep", pa.string()),
        ("dataset", pa.string()),
        ("width", pa.int64()),
        ("preset", pa.string()),
        ("knob", pa.string()),
        ("knob_value", pa.float64()),
        ("seed", pa.int64()),
        ("converged", pa.bool_()),
        ("steps", pa.int64()),
        ("final_loss", pa.float64()),
    ),
)

PARAM_NAMES = ("w", "b", "v", "c")

TRAJECTORY = Table(
    "splines.trajectory",
    (
        ("run", pa.int64()),
        ("step", pa.int64()),
        ("unit", pa.int64()),
        ("w", pa.float64()),
        ("b", pa.float64()),
        ("v", pa.float64()),
        ("c", pa.float64()),
        ("breakpoint", pa.float64()),
        ("delta_slope", pa.float64()),
        ("orientation", pa.int8()),
        ("far", pa.bool_()),
        ("loss", pa.float64()),
    ),
)

METRIC_NAMES = (
    "d_cs",
    "d_li",
    "rms_cs",
    "rms_li",
    "displacement_median",
    "displacement_weighted",
    "n_far",
    "n_flipped",
    "pinning_fraction",
    "pinning_chance",
    "effective_kinks",
    "r2",
    "tv",
    "r2_li",
    "tv_li",
    "ncs_curvature",
    "lazy_rms",
)

METRICS = Table(
    "splines.metrics",
    (
        ("group", pa.string()),
        ("run", pa.int64()),
        ("sweep", pa.string()),
        ("dataset", pa.string()),
        ("width", pa.int64()),
        ("preset", pa.string()),
        ("knob", pa.string()),
        ("knob_value", pa.float64()),
        ("seed", pa.int64()),
        ("converged", pa.bool_()),
        ("steps", pa.int64()),
        ("final_loss", pa.float64()),
        *((m, pa.float64()) for m in METRIC_NAMES),
    ),
)

# written by learndyn.splines.jobs.analyse_splines_init (learndyn.splines.init_analysis)
LAWS = Table(
    "splines.breakpoint_laws",
    (
        ("case", pa.string()),
        ("family", pa.string()),
        ("n", pa.int64()),
        ("ks", pa.float64()),
        ("ks_threshold", pa.float64()),
        ("p_abs_le_1", pa.float64()),
        ("theory_p_abs_le_1", pa.float64()),
        ("p_abs_gt_2", pa.float64()),
        ("theory_p_abs_gt_2", pa.float64()),
    ),
)

HISTOGRAMS = Table(
    "splines.breakpoint_histograms",
    (
        ("case", pa.string()),
        ("bin_lo", pa.float64()),
        ("bin_hi", pa.float64()),
        ("density", pa.float64()),
        ("theory_density", pa.float64()),
    ),
)

FLATNESS = Table(
    "splines.flatness",
    (
        ("family", pa.string()),
        ("width", pa.int64()),
        ("draw", pa.int64()),
        ("r2_0", pa.float64()),
        ("tv_0", pa.float64()),
        ("max_abs_slope", pa.float64()),
        ("n_knots", pa.int64()),
        ("var_f0", pa.float64()),
        ("r2_ratio", pa.float64()),
        ("tv_ratio", pa.float64()),
        ("sum_mu2", pa.float64()),
        ("fprime2", pa.float64()),
        ("theory_sum_mu2", pa.float64()),
        ("theory_fprime2", pa.float64()),
    ),
)

FLAT_FUNCTIONS = Table(
    "splines.flat_functions",
    (
        ("family", pa.string()),
        ("width", pa.int64()),
        ("draw", pa.int64()),
        ("x", pa.float64()),
        ("f", pa.float64()),
    ),
)

# written by learndyn.splines.jobs.analyse_splines_landscape (learndyn.splines.landscape_analysis)
F64, I64 = pa.float64(), pa.int64()

LOSS_SLICES = Table(
    "splines.loss_slices",
    (
        ("kind", pa.string()),
        ("unit", I64),
        ("orientation", F64),
        ("beta", F64),
        ("mu", F64),
        ("gamma", F64),
        ("loss", F64),
        ("gap", I64),
    ),
)

SLICE_CHECKS = Table(
    "splines.loss_slice_checks",
    (
        ("check", pa.string()),
        ("unit", I64),
        ("location", F64),
        ("data_index", F64),
        ("gap", F64),
        ("predicted", F64),
        ("measured", F64),
        ("abs_error", F64),
        ("rel_error", F64),
    ),
)

SPECTRA = Table(
    "splines.hessian_spectra",
    (
        ("case", pa.string()),
        ("coordinates", pa.string()),
        ("index", I64),
        ("eigenvalue", F64),
        ("abs_eigenvalue", F64),
        ("is_zero", pa.bool_()),
    ),
)

SPECTRUM_CHECKS = Table(
    "splines.hessian_checks",
    (
        ("case", pa.string()),
        ("coordinates", pa.string()),
        ("H", I64),
        ("N", I64),
        ("dim", I64),
        ("n_zero", I64),
        ("min_zero_theory", F64),
        ("n_negative", I64),
        ("lambda_min", F64),
        ("lambda_max", F64),
        ("saddle_lower", F64),
        ("saddle_upper", F64),
        ("max_tangent_residual", F64),
        ("max_abs_diff_vs_minimum", F64),
        ("rank", I64),
    ),
)

# figure and claims inputs by name: trajectory_<sweep> / runs_<sweep> are the tables of the sweep's
# first width group (training groups: learndyn.splines.runs.training_groups)
SCHEMAS = {
    "datasets": DATASETS,
    "implicit_regularisation": METRICS,
    "breakpoint_laws": LAWS,
    "breakpoint_histograms": HISTOGRAMS,
    "flatness": FLATNESS,
    "flat_functions": FLAT_FUNCTIONS,
    "loss_slices": LOSS_SLICES,
    "loss_slice_checks": SLICE_CHECKS,
    "hessian_spectra": SPECTRA,
    "hessian_checks": SPECTRUM_CHECKS,
}
PER_SWEEP = {
    "trajectory_": (TRAJECTORY, "results/splines/tables/groups/{group}/trajectory.parquet"),
    "runs_": (RUNS, "results/splines/runs/{group}/runs.parquet"),
}


def schema(name: str) -> Table:
    """The schema of a named splines table (trajectory_<sweep>, runs_<sweep> or a fixed name)."""
    for prefix, (table, _) in PER_SWEEP.items():
        if name.startswith(prefix):
            return table
    try:
        return SCHEMAS[name]
    except KeyError:
        raise KeyError(f"no table schema for splines table {name!r}") from None


def table_path(name: str, sweeps: dict) -> str:
    """Path of a named splines table; ``sweeps`` is the config's splines.sweeps."""
    for prefix, (_, path) in PER_SWEEP.items():
        if name.startswith(prefix):
            sweep = name.removeprefix(prefix)
            return path.format(group=f"{sweep}-H{sweeps[sweep]['widths'][0]}")
    if name == "datasets":
        return "results/splines/data/datasets.parquet"
    return f"results/splines/tables/{name}.parquet"


def dataset_xy(table: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    sub = table[table["dataset"] == name].sort_values("index")
    if sub.empty:
        raise KeyError(f"dataset {name!r} not in the datasets table (have {sorted(table['dataset'].unique())})")
    return sub["x"].to_numpy(), sub["y"].to_numpy()


def run_params(traj: pd.DataFrame, run: int, step: int | None = None) -> dict:
    """(w, b, v, c) of one run at one step (default: its last) from a trajectory table."""
    g = traj[traj["run"] == run]
    g = g[g["step"] == (g["step"].max() if step is None else step)].sort_values("unit")
    if g.empty:
        raise KeyError(f"no trajectory rows for run {run} at step {step}")
    return {"w": g["w"].to_numpy(), "b": g["b"].to_numpy(), "v": g["v"].to_numpy(), "c": float(g["c"].iloc[0])}
