"""Figures F1–F8 of the splines study (splines.md, 'Figures F1–F8'; every figure is a reconstruction, the paper body
was unavailable).  The rule ``render_splines_<figure>`` calls :func:`render`, which reads the
figure's named input tables (Parquet only, never checkpoints) and calls one plotting function:

    F1_anatomy                  fig_anatomy(trajectory_presets, runs_presets, datasets)
    F2_breakpoint_laws          fig_breakpoint_laws(breakpoint_laws, breakpoint_histograms)
    F3_flatness                 fig_flatness(flatness, flat_functions)
    F4_loss_slices              fig_loss_slices(loss_slices, datasets)
    F5_hessian_spectra          fig_hessian_spectra(hessian_spectra)
    F6_trajectories             fig_trajectories(trajectory_presets, runs_presets, datasets)
    F7_implicit_regularisation  fig_implicit_regularisation(implicit_regularisation, trajectory_presets,
                                                            runs_presets, datasets)
    F8_knots_vs_curvature       fig_knots_vs_curvature(trajectory_curvature, runs_curvature, datasets)

Each plotting function takes DataFrames and returns a matplotlib Figure (Agg, no pyplot).
"""

from __future__ import annotations

from learndyn.figures.splines_init import fig_breakpoint_laws, fig_flatness
from learndyn.figures.splines_landscape import fig_hessian_spectra, fig_loss_slices
from learndyn.figures.splines_training import (fig_anatomy, fig_implicit_regularisation, fig_knots_vs_curvature,
                                               fig_trajectories)
from learndyn.figures.style import render_figure
from learndyn.io import Table
from learndyn.job import Job
from learndyn.splines import init_analysis, landscape_analysis
from learndyn.splines.data import DATASETS
from learndyn.splines.runs import RUNS
from learndyn.splines.trajectory import METRICS, TRAJECTORY

__all__ = ["FIGURES", "TABLES", "table_of", "render", "fig_anatomy", "fig_breakpoint_laws", "fig_flatness",
           "fig_loss_slices", "fig_hessian_spectra", "fig_trajectories", "fig_implicit_regularisation",
           "fig_knots_vs_curvature"]

FIGURES = {  # figure name -> (plotting function, its input tables in argument order)
    "F1_anatomy": (fig_anatomy, ("trajectory_presets", "runs_presets", "datasets")),
    "F2_breakpoint_laws": (fig_breakpoint_laws, ("breakpoint_laws", "breakpoint_histograms")),
    "F3_flatness": (fig_flatness, ("flatness", "flat_functions")),
    "F4_loss_slices": (fig_loss_slices, ("loss_slices", "datasets")),
    "F5_hessian_spectra": (fig_hessian_spectra, ("hessian_spectra",)),
    "F6_trajectories": (fig_trajectories, ("trajectory_presets", "runs_presets", "datasets")),
    "F7_implicit_regularisation": (fig_implicit_regularisation,
                                   ("implicit_regularisation", "trajectory_presets", "runs_presets", "datasets")),
    "F8_knots_vs_curvature": (fig_knots_vs_curvature, ("trajectory_curvature", "runs_curvature", "datasets")),
}
TABLES = {
    "datasets": DATASETS,
    "implicit_regularisation": METRICS,
    "breakpoint_laws": init_analysis.LAWS,
    "breakpoint_histograms": init_analysis.HISTOGRAMS,
    "flatness": init_analysis.FLATNESS,
    "flat_functions": init_analysis.FLAT_FUNCTIONS,
    "loss_slices": landscape_analysis.LOSS_SLICES,
    "hessian_spectra": landscape_analysis.SPECTRA,
}


def table_of(name: str) -> Table:
    """The schema of a named figure input (trajectory_<sweep>, runs_<sweep> or a fixed name)."""
    if name.startswith("trajectory_"):
        return TRAJECTORY
    if name.startswith("runs_"):
        return RUNS
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no table schema for figure input {name!r}") from None


def render(job: Job) -> None:
    """Rule entry point: read the figure's inputs, draw it, save PNG at 120 dpi."""
    render_figure(job, "splines", FIGURES, table_of)

