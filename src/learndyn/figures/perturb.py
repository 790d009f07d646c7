"""Figures of the perturb study (adversarial.md, 'Figures and tables'), from Parquet only.  The rule
``render_perturb_<figure>`` calls :func:`learndyn.perturb.jobs.render_perturb`, which reads the figure's
named input tables (:func:`read_input`) and calls one plotting function (each returns an Agg Figure).

    dynamics      fig_dynamics(perturbations, images, attack_summary, breakpoints, boundary; run, rows)  (F1)
    breakpoints   fig_breakpoints(breakpoints, changepoints)                                          (F2)
    fc_vs_conv    fig_fc_vs_conv(spectra_final, spectra_summary, theory_t1)                           (F3)
    lc_vs_conv    fig_lc_vs_conv(spectra_final, spectra_summary)                                      (F4)
    kernel_sweep  fig_kernel_sweep(spectra_summary, kernel_theory)                                    (F5)
    theory        fig_theory(theory_t1, theory_summary, kernel_theory)
    training      fig_training(training, contamination)

The per-run tables (attack_summary, breakpoints, boundary) come as one file per run; the perturbations
and images of the figure's run have a per-file layout, read by their own readers.
"""

from __future__ import annotations

from learndyn.figures import perturb_dynamics as pdyn
from learndyn.figures import perturb_spectra as pspec
from learndyn.figures import perturb_training as ptrain
from learndyn.io import read_tables
from learndyn.perturb import tables as pt  # schemas only: no torch in figure jobs
from learndyn.perturb.data import read_images


def _dynamics(pert, images, summary, bps, boundary, cfg):
    return pdyn.fig_dynamics(
        pert, images, summary, bps, run=cfg["run"], rows=int(cfg.get("rows", 8)), boundary=boundary
    )


FIGURES = {  # figure -> (plotting function, its input tables in argument order)
    "dynamics": (_dynamics, ("perturbations", "images", "attack_summary", "breakpoints", "boundary")),
    "breakpoints": (pdyn.fig_breakpoints, ("breakpoints", "changepoints")),
    **pspec.FIGURES,
    **ptrain.FIGURES,
}
NEEDS_CFG = {"dynamics"}  # the figure's run and number of image rows


def read_input(name: str, paths):
    """One named input of a figure: the perturbations and images by their readers, a study table by its schema
    (one file or one per run)."""
    if name == "perturbations":
        return pt.read_perturbations(paths)
    if name == "images":
        return read_images(paths)
    return read_tables(paths, pt.SCHEMAS[name])
