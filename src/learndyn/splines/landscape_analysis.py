"""Loss-surface slices (F4) and Hessian spectra (F5) on the spec's constructions, to Parquet.

The constructions themselves (generic point, interpolating minimum on D3, strict saddle on D4)
live in :mod:`learndyn.splines.constructions`; this module fixes which ones the DAG runs and
the table schemas.  Reconstruction (splines.md, 'Figures F1–F8'): the paper's figure settings are unknown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from learndyn.io import Table
from learndyn.splines import constructions as cons

F64, I64 = pa.float64(), pa.int64()
LOSS_SLICES = Table("splines.loss_slices", (
    ("kind", pa.string()), ("unit", I64), ("orientation", F64), ("beta", F64), ("mu", F64),
    ("gamma", F64), ("loss", F64), ("gap", I64),
))
SLICE_CHECKS = Table("splines.loss_slice_checks", (
    ("check", pa.string()), ("unit", I64), ("location", F64), ("data_index", F64), ("gap", F64),
    ("predicted", F64), ("measured", F64), ("abs_error", F64), ("rel_error", F64),
))
SPECTRA = Table("splines.hessian_spectra", (
    ("case", pa.string()), ("coordinates", pa.string()), ("index", I64), ("eigenvalue", F64),
    ("abs_eigenvalue", F64), ("is_zero", pa.bool_()),
))
SPECTRUM_CHECKS = Table("splines.hessian_checks", (
    ("case", pa.string()), ("coordinates", pa.string()), ("H", I64), ("N", I64), ("dim", I64),
    ("n_zero", I64), ("min_zero_theory", F64), ("n_negative", I64), ("lambda_min", F64),
    ("lambda_max", F64), ("saddle_lower", F64), ("saddle_upper", F64),
    ("max_tangent_residual", F64), ("max_abs_diff_vs_minimum", F64), ("rank", I64),
))
SLICE_UNITS = (0, 1)


def _columns(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for name, typ in table.columns:
        col = df[name] if name in df else np.nan
        out[name] = col
        if typ == F64:
            out[name] = out[name].astype(float)
    return out


def loss_slice_tables(x, y, slice_points: int, seed: int = 0):
    """F4 on a generic point of the given data: L along beta_i and over (beta, mu), (mu, gamma)."""
    p = cons.generic_point(x, y, H=5, seed=seed)
    table, checks = cons.loss_slices_table(x, y, p["beta"], p["mu"], p["s"], p["c"], units=SLICE_UNITS,
                                           n_beta=slice_points)
    return _columns(table, LOSS_SLICES), _columns(checks, SLICE_CHECKS)


def hessian_tables():
    """F5: spectra at the T12 interpolating minimum (D3), the T13 strict saddle (D4), re-balanced."""
    spectra, checks = cons.hessian_spectra_table()
    return _columns(spectra, SPECTRA), _columns(checks, SPECTRUM_CHECKS)
