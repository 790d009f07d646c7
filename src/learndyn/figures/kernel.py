"""Figures A–K of the kernel study (pseudo_kernel.md, 'Figures to reproduce'), from Parquet only.  The rule
``render_kernel_<figure>`` calls :func:`learndyn.kernel.jobs.render_kernel`, which reads the
figure's named input tables and calls one plotting function (each returns an Agg Figure).

    A_one_step               fig_one_step(relu1d, onestep)                 (kernel_validation)
    B_linear_loss            fig_linear_loss(smg_track, smg_summary)
    C_linear_kernel_vectors  fig_linear_vectors(smg_marked, smg_corr)
    D_linear_tracking        fig_linear_tracking(smg_track, smg_kernel_sv, smg_sv_modes, smg_summary)
    E_loss_curves            fig_loss_curves(curves)                       (kernel_multitask)
    F_paired_delta           fig_paired_delta(curves)
    G_embedding              fig_embedding(embedding, ari)
    H_ari                    fig_ari(ari, ari_cfg)
    I_eigenvectors           fig_eigenvectors(eigvec, groups)
    J_silhouette_vs_loss     fig_silhouette(runs, correlations)
    K_replicates             fig_replicates(curves)
    L_scale_sweep            fig_scale_sweep(sweep, sweep_curves, sweep_stats)  (kernel_beyond)
    M_splines_regime         fig_splines_regime(splines_regime, splines_regime_stats)  (only with splines)
"""

from __future__ import annotations

from learndyn.figures import kernel_beyond as kb
from learndyn.figures import kernel_multitask as km
from learndyn.figures import kernel_validation as kv
from learndyn.kernel import tables as kt  # schemas only: no torch / scikit-learn in figure jobs

TABLES = {
    "relu1d": kt.RELU1D,
    "onestep": kt.ONESTEP,
    "smg_track": kt.SMG_TRACK,
    "smg_kernel_sv": kt.SMG_KERNEL_SV,
    "smg_sv_modes": kt.SMG_SV_MODES,
    "smg_marked": kt.SMG_MARKED,
    "smg_corr": kt.SMG_CORR,
    "smg_summary": kt.SMG_SUMMARY,
    "runs": kt.SUMMARY,
    "curves": kt.CURVES,
    "ari": kt.ARI,
    "correlations": kt.CORRELATIONS,
    "embedding": kt.EMBED,
    "eigvec": kt.EIGVEC,
    "groups": kt.GROUPS,
    "sweep": kt.SUMMARY,
    "sweep_curves": kt.CURVES,
    "sweep_stats": kt.SWEEP_STATS,
    "splines_regime": kt.REGIME,
    "splines_regime_stats": kt.REGIME_STATS,
}
FIGURES = {
    "A_one_step": (kv.fig_one_step, ("relu1d", "onestep")),
    "B_linear_loss": (kv.fig_linear_loss, ("smg_track", "smg_summary")),
    "C_linear_kernel_vectors": (kv.fig_linear_vectors, ("smg_marked", "smg_corr")),
    "D_linear_tracking": (kv.fig_linear_tracking, ("smg_track", "smg_kernel_sv", "smg_sv_modes", "smg_summary")),
    "E_loss_curves": (km.fig_loss_curves, ("curves",)),
    "F_paired_delta": (km.fig_paired_delta, ("curves",)),
    "G_embedding": (km.fig_embedding, ("embedding", "ari")),
    "H_ari": (km.fig_ari, ("ari",)),
    "I_eigenvectors": (km.fig_eigenvectors, ("eigvec", "groups")),
    "J_silhouette_vs_loss": (km.fig_silhouette, ("runs", "correlations")),
    "K_replicates": (km.fig_replicates, ("curves",)),
    "L_scale_sweep": (kb.fig_scale_sweep, ("sweep", "sweep_curves", "sweep_stats")),
    "M_splines_regime": (kb.fig_splines_regime, ("splines_regime", "splines_regime_stats")),
}
NEEDS_CFG = {"H_ari"}
