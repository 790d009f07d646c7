"""Parquet schemas of the kernel study's tables, and the constants figures need.

Kept apart from the writers (which import them) so that figure jobs, which read Parquet only,
import pyarrow here instead of torch and scikit-learn: each figure job is a fresh process and
those imports dominated its run time.
"""

from __future__ import annotations

import pyarrow as pa

from learndyn.io import Table

EMBEDDING = "pca"  # substitute for M-PHATE (not installable here); recorded in tables and captions
GROUPINGS = {
    "task": 12,
    "input": 12,
    "task_x_input": 36,
    "output": 9,
}  # items per grouping (pseudo_kernel.md, 'Hidden representations over training')
SMG_MARKED_TIMES = (190, 770)  # the authors' dotted lines: mode 1, mode 2 being learned
INITS = ("std", "large")  # the paper's paired inits (the sweep's nets are labelled by scale)
SETS = ("single_train", "single_test", "multi_train", "multi_test")  # loss curves record all four

# written by learndyn.kernel.jobs
CURVES = Table(
    "kernel.curves",
    (
        ("run", pa.string()),
        ("schedule", pa.string()),
        ("replicate", pa.int64()),
        ("init", pa.string()),
        ("step", pa.int64()),
        ("phase", pa.int64()),
        ("set", pa.string()),
        ("sse", pa.float64()),
    ),
)
SUMMARY = Table(
    "kernel.runs",
    (
        ("run", pa.string()),
        ("schedule", pa.string()),
        ("replicate", pa.int64()),
        ("init", pa.string()),
        ("seed", pa.int64()),
        ("w", pa.float64()),
        ("multiple", pa.float64()),
        ("sweep", pa.bool_()),
        ("lr", pa.float64()),
        ("silhouette", pa.float64()),
        ("silhouette_authors", pa.float64()),
        ("final_single_test", pa.float64()),
        ("final_multi_test", pa.float64()),
        ("final_single_train", pa.float64()),
        ("final_multi_train", pa.float64()),
        ("zero_shot_multi_test", pa.float64()),
        ("single_test_after_tuning", pa.float64()),
        ("rwc_phase1", pa.float64()),
        ("rwc_phase2", pa.float64()),
        ("ari_task_end1", pa.float64()),
        ("ari_input_end1", pa.float64()),
        ("biases_frozen", pa.bool_()),
    ),
)

# written by learndyn.kernel.analysis
EIGVEC = Table(
    "kernel.eigvec",
    (
        ("run", pa.string()),
        ("init", pa.string()),
        ("mode", pa.string()),
        ("output", pa.int64()),
        ("example", pa.int64()),
        ("v", pa.float64()),
        ("eigenvalue", pa.float64()),
        ("task", pa.int64()),
        ("input", pa.int64()),
        ("ill_posed", pa.bool_()),
    ),
)
GROUPS = Table(
    "kernel.groups",
    (
        ("run", pa.string()),
        ("init", pa.string()),
        ("mode", pa.string()),
        ("output", pa.int64()),
        ("out_group", pa.int64()),
        ("out_feature", pa.int64()),
        ("grouping", pa.string()),
        ("group", pa.int64()),
        ("mean_abs", pa.float64()),
        ("n", pa.int64()),
        ("value_real", pa.float64()),
        ("value_imag", pa.float64()),
        ("ill_posed", pa.bool_()),
    ),
)
HIDDEN = Table(
    "kernel.hidden",
    (
        ("run", pa.string()),
        ("init", pa.string()),
        ("phase", pa.int64()),
        ("snapshot", pa.int64()),
        ("step", pa.int64()),
        ("grouping", pa.string()),
        ("item", pa.int64()),
        ("h", pa.list_(pa.float32())),
    ),
)
EMBED = Table(
    "kernel.embedding",
    (
        ("run", pa.string()),
        ("init", pa.string()),
        ("snapshot", pa.int64()),
        ("step", pa.int64()),
        ("grouping", pa.string()),
        ("item", pa.int64()),
        ("e1", pa.float64()),
        ("e2", pa.float64()),
        ("method", pa.string()),
    ),
)
ARI = Table(
    "kernel.ari",
    (
        ("run", pa.string()),
        ("schedule", pa.string()),
        ("replicate", pa.int64()),
        ("init", pa.string()),
        ("snapshot", pa.int64()),
        ("step", pa.int64()),
        ("grouping", pa.string()),
        ("space", pa.string()),
        ("ari", pa.float64()),
    ),
)

# written by learndyn.kernel.stats
CORRELATIONS = Table(
    "kernel.correlations",
    (
        ("pool", pa.string()),
        ("schedule", pa.string()),
        ("loss", pa.string()),
        ("n", pa.int64()),
        ("r", pa.float64()),
        ("p", pa.float64()),
        ("ci_lo", pa.float64()),
        ("ci_hi", pa.float64()),
    ),
)
SWEEP_STATS = Table(
    "kernel.sweep_stats",
    (
        ("x", pa.string()),
        ("y", pa.string()),
        ("level", pa.string()),
        ("replicate", pa.int64()),
        ("n", pa.int64()),
        ("rho", pa.float64()),
        ("p", pa.float64()),
        ("ci_lo", pa.float64()),
        ("ci_hi", pa.float64()),
    ),
)

# written by learndyn.kernel.validation
RELU1D = Table(
    "kernel.relu1d",
    (
        ("curve", pa.string()),
        ("point", pa.int64()),
        ("x", pa.float64()),
        ("value", pa.float64()),
    ),
)
ONESTEP = Table(
    "kernel.onestep",
    (
        ("case", pa.string()),
        ("init", pa.string()),
        ("lr", pa.float64()),
        ("rel_sup", pa.float64()),
        ("rel_l2", pa.float64()),
    ),
)
SMG_TRACK = Table(
    "kernel.smg_track",
    (
        ("t", pa.int64()),
        ("mode", pa.int64()),
        ("s", pa.float64()),
        ("strength", pa.float64()),
        ("cos", pa.float64()),
        ("loss", pa.float64()),
    ),
)
SMG_KERNEL_SV = Table(
    "kernel.smg_kernel_sv",
    (
        ("t", pa.int64()),
        ("kernel", pa.string()),
        ("index", pa.int64()),
        ("sv", pa.float64()),
    ),
)
SMG_SV_MODES = Table(
    "kernel.smg_sv_modes",
    (  # r(|leading singular vector|, |x·u_α|) over training
        ("t", pa.int64()),
        ("kernel", pa.string()),
        ("mode", pa.int64()),
        ("r", pa.float64()),
    ),
)
SMG_MARKED = Table(
    "kernel.smg_marked",
    (
        ("t", pa.int64()),
        ("kind", pa.string()),
        ("side", pa.string()),
        ("index", pa.int64()),
        ("point", pa.int64()),
        ("value", pa.float64()),
    ),
)
SMG_CORR = Table(
    "kernel.smg_corr",
    (
        ("t", pa.int64()),
        ("side", pa.string()),
        ("sv_index", pa.int64()),
        ("mode", pa.int64()),
        ("r", pa.float64()),
    ),
)
SMG_SUMMARY = Table(
    "kernel.smg_summary",
    (
        ("mode", pa.int64()),
        ("s", pa.float64()),
        ("half_time", pa.float64()),
        ("switch_time", pa.float64()),
    ),
)

# written by learndyn.kernel.splines_regime
REGIME = Table(
    "kernel.splines_regime",
    (
        ("group", pa.string()),
        ("run", pa.int64()),
        ("sweep", pa.string()),
        ("dataset", pa.string()),
        ("width", pa.int64()),
        ("preset", pa.string()),
        ("knob_value", pa.float64()),
        ("seed", pa.int64()),
        ("converged", pa.bool_()),
        ("knot_share", pa.float64()),
        ("eff_rank", pa.float64()),
        ("step_alignment", pa.float64()),
        ("ntk_knot_share", pa.float64()),
        ("lazy_rms", pa.float64()),
        ("displacement_median", pa.float64()),
        ("d_cs", pa.float64()),
    ),
)
REGIME_STATS = Table(
    "kernel.splines_regime_stats",
    (
        ("pool", pa.string()),
        ("predictor", pa.string()),
        ("regime", pa.string()),
        ("n", pa.int64()),
        ("rho", pa.float64()),
        ("p", pa.float64()),
    ),
)
