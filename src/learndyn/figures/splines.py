"""Figures F1–F8 of the splines study (splines.md, 'Figures F1–F8'; every figure is a reconstruction, the paper body
was unavailable).  The rule ``render_splines_<figure>`` calls :func:`learndyn.splines.jobs.render_splines`, which
reads the figure's named input tables (Parquet only, never checkpoints) and calls one plotting function:

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
from learndyn.figures.splines_regularisation import fig_implicit_regularisation
from learndyn.figures.splines_training import fig_anatomy, fig_knots_vs_curvature, fig_trajectories

__all__ = [
    "FIGURES",
    "fig_anatomy",
    "fig_breakpoint_laws",
    "fig_flatness",
    "fig_loss_slices",
    "fig_hessian_spectra",
    "fig_trajectories",
    "fig_implicit_regularisation",
    "fig_knots_vs_curvature",
]

FIGURES = {  # figure name -> (plotting function, its input tables in argument order)
    "F1_anatomy": (fig_anatomy, ("trajectory_presets", "runs_presets", "datasets")),
    "F2_breakpoint_laws": (fig_breakpoint_laws, ("breakpoint_laws", "breakpoint_histograms")),
    "F3_flatness": (fig_flatness, ("flatness", "flat_functions")),
    "F4_loss_slices": (fig_loss_slices, ("loss_slices", "datasets")),
    "F5_hessian_spectra": (fig_hessian_spectra, ("hessian_spectra",)),
    "F6_trajectories": (fig_trajectories, ("trajectory_presets", "runs_presets", "datasets")),
    "F7_implicit_regularisation": (
        fig_implicit_regularisation,
        ("implicit_regularisation", "trajectory_presets", "runs_presets", "datasets"),
    ),
    "F8_knots_vs_curvature": (fig_knots_vs_curvature, ("trajectory_curvature", "runs_curvature", "datasets")),
}
