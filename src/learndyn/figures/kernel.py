"""Figures A–K of the kernel study (spec §6), from Parquet only.  The rule
``render_kernel_<figure>`` calls :func:`render`, which reads the figure's named input tables
and calls one plotting function (each returns an Agg Figure).

    A_one_step               fig_one_step(relu1d, onestep)                 (kernel_validation)
    B_linear_loss            fig_linear_loss(smg_track, smg_summary)
    C_linear_kernel_vectors  fig_linear_vectors(smg_marked, smg_corr)
    D_linear_tracking        fig_linear_tracking(smg_track, smg_kernel_sv, smg_summary)
    E_loss_curves            fig_loss_curves(curves)                       (kernel_multitask)
    F_paired_delta           fig_paired_delta(curves)
    G_embedding              fig_embedding(embedding)
    H_ari                    fig_ari(ari, ari_cfg)
    I_eigenvectors           fig_eigenvectors(eigvec, groups)
    J_silhouette_vs_loss     fig_silhouette(runs, correlations)
    K_replicates             fig_replicates(curves)
"""
from __future__ import annotations

from learndyn.figures import kernel_multitask as km
from learndyn.figures import kernel_validation as kv
from learndyn.figures.style import render_figure
from learndyn.job import Job
from learndyn.kernel import analysis as an
from learndyn.kernel import stats, tasks, validation

TABLES = {
    "relu1d": validation.RELU1D, "onestep": validation.ONESTEP, "smg_track": validation.SMG_TRACK,
    "smg_kernel_sv": validation.SMG_KERNEL_SV, "smg_marked": validation.SMG_MARKED,
    "smg_corr": validation.SMG_CORR, "smg_summary": validation.SMG_SUMMARY,
    "runs": tasks.SUMMARY, "curves": tasks.CURVES, "ari": an.ARI, "correlations": stats.CORRELATIONS,
    "embedding": an.EMBED, "eigvec": an.EIGVEC, "groups": an.GROUPS,
}
FIGURES = {
    "A_one_step": (kv.fig_one_step, ("relu1d", "onestep")),
    "B_linear_loss": (kv.fig_linear_loss, ("smg_track", "smg_summary")),
    "C_linear_kernel_vectors": (kv.fig_linear_vectors, ("smg_marked", "smg_corr")),
    "D_linear_tracking": (kv.fig_linear_tracking, ("smg_track", "smg_kernel_sv", "smg_summary")),
    "E_loss_curves": (km.fig_loss_curves, ("curves",)),
    "F_paired_delta": (km.fig_paired_delta, ("curves",)),
    "G_embedding": (km.fig_embedding, ("embedding",)),
    "H_ari": (km.fig_ari, ("ari",)),
    "I_eigenvectors": (km.fig_eigenvectors, ("eigvec", "groups")),
    "J_silhouette_vs_loss": (km.fig_silhouette, ("runs", "correlations")),
    "K_replicates": (km.fig_replicates, ("curves",)),
}
NEEDS_CFG = {"H_ari"}


def render(job: Job) -> None:
    """Rule entry point: read the figure's tables, draw it, save PNG."""
    def call(name, func, frames):
        return func(*frames, job.cfg["ari"]) if name in NEEDS_CFG else func(*frames)

    render_figure(job, "kernel", FIGURES, TABLES.__getitem__, call=call)

