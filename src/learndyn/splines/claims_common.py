"""What the splines claims modules share: the study's figures, the wording of the bootstrap intervals, and
how a row names the runs it read and whether they converged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.claims import CONFIDENCE, N_BOOT

STUDY = "splines"


def figure(name: str) -> str:
    """Path of a splines figure relative to results/ (names: workflow/rules/splines.smk)."""
    return f"figures/splines/{name}.png"


F1, F2, F3 = figure("F1_anatomy"), figure("F2_breakpoint_laws"), figure("F3_flatness")
F4, F5 = figure("F4_loss_slices"), figure("F5_hessian_spectra")
F6, F7 = figure("F6_trajectories"), figure("F7_implicit_regularisation")


def _percentile(boot: np.ndarray) -> tuple[float, float]:
    a = (1 - CONFIDENCE) / 2
    lo, hi = np.nanquantile(boot, [a, 1 - a])
    return float(lo), float(hi)


BOOT_SEEDS = f"bootstrap percentile {CONFIDENCE:.0%} over seeds ({N_BOOT} resamples, seeded)"
BOOT_DRAWS = f"bootstrap percentile {CONFIDENCE:.0%} over draws within each width ({N_BOOT} resamples, seeded)"


def run_label(r) -> str:
    """A run as a claims row names it: 'lazy seed 3', 'rho=0.001 seed 2', 'torch_like H=10 seed 1'."""
    if r.knob != "none":
        cell = f"{r.knob}={r.knob_value:g}"
    else:
        cell = r.preset if r.sweep == "presets" else f"{r.preset} H={int(r.width)}"
    return f"{cell} seed {int(r.seed)}"


def unconverged(df: pd.DataFrame) -> list[str]:
    return [run_label(r) for r in df[~df["converged"]].itertuples(index=False)]


def _conv(df: pd.DataFrame) -> str:
    return f"{int(df['converged'].sum())}/{len(df)} runs converged (L < tol); steps max {int(df['steps'].max())}"
