"""Loss-surface slices (F4) and Hessian spectra (F5) on the spec's constructions, to Parquet.

The constructions themselves (generic point, interpolating minimum on D3, strict saddle on D4)
live in :mod:`learndyn.splines.constructions`; this module fixes which ones the DAG runs and
the table schemas.  Reconstruction (splines.md, 'Figures F1–F8'): the paper's figure settings are unknown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.io import Table
from learndyn.splines import constructions as cons
from learndyn.splines.tables import (  # noqa: F401 (schemas: tables.py)
    F64,
    LOSS_SLICES,
    SLICE_CHECKS,
    SPECTRA,
    SPECTRUM_CHECKS,
)

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
    table, checks = cons.loss_slices_table(
        x, y, p["beta"], p["mu"], p["s"], p["c"], units=SLICE_UNITS, n_beta=slice_points
    )
    return _columns(table, LOSS_SLICES), _columns(checks, SLICE_CHECKS)


def hessian_tables():
    """F5: spectra at the T12 interpolating minimum (D3), the T13 strict saddle (D4), re-balanced."""
    spectra, checks = cons.hessian_spectra_table()
    return _columns(spectra, SPECTRA), _columns(checks, SPECTRUM_CHECKS)
