"""Parquet schemas and paths of the perturb study's tables (the images table lives with its reader and
writer in :mod:`learndyn.perturb.data`).

Kept apart from the writers (which import them) so that figure and claims jobs, which read Parquet
only, import pyarrow here instead of torch (each figure job is a fresh process).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from learndyn.io import Table, read_table

TABLES_DIR = "results/perturb/tables"
SALIENCY = "saliency"  # the attack name of the saliency rows of the perturbations table
_S, _F, _I, _B = pa.string(), pa.float64(), pa.int64(), pa.bool_()
#: spectral metrics of a map (adversarial.md, 'Quantitative metrics'; computed by learndyn.perturb.spectra)
METRIC_COLUMNS = (
    "l2",
    "linf",
    "maxlog",
    "hff",
    "f_half",
    "centroid",
    "hoyer",
    "rho12",
    "gini",
    "entropy",
    "top1",
    "top5",
)
_METRICS = tuple((c, _F) for c in METRIC_COLUMNS)
_RUN = (("run", _S), ("dataset", _S), ("model", _S), ("seed", _I))


def table_path(name: str) -> str:
    """A table over all runs (training, contamination, changepoints, spectra_summary, theory_t1, ...)."""
    return f"{TABLES_DIR}/{name}.parquet"


def run_table(kind: str, run: str) -> str:
    """One run's table of a per-run kind: attacks (the perturbations), attack_summary, boundary, breakpoints."""
    return f"{TABLES_DIR}/{kind}/{run}.parquet"


def spectra_table(run: str, name: str) -> str:
    """One run's spectra table (one of SPECTRA_RUN_TABLES)."""
    return f"{TABLES_DIR}/spectra/{run}/{name}.parquet"


def data_path(key: str) -> str:
    """The images table of dataset ``key`` (learndyn.perturb.data.write_images)."""
    return f"results/perturb/data/{key}.parquet"


# -- training (learndyn.perturb.jobs: train_perturb, train_perturb_contamination, perturb_contamination_table)
HISTORY = Table(
    "perturb.history",
    (
        *_RUN,
        ("condition", _S),
        ("step", _I),
        ("epoch", _I),
        ("batch", _I),
        ("epoch_float", _F),
        ("lr", _F),
        ("train_loss", _F),
        ("eval_loss", _F),
        ("eval_acc", _F),
        ("test_acc", _F),
        ("checkpoint", _B),
    ),
)
CONTAM_RUNS = Table(
    "perturb.contamination_runs",
    (
        ("dataset", _S),
        ("contaminated_dataset", _S),
        ("model", _S),
        ("seed", _I),
        ("condition", _S),
        ("final_test_acc", _F),
        ("best_test_acc", _F),
        ("best_epoch", _I),
    ),
)
CONTAMINATION = Table(
    "perturb.contamination",
    (
        ("dataset", _S),
        ("contaminated_dataset", _S),
        ("eps", _F),
        ("p", _F),
        ("model", _S),
        ("family", _S),
        ("seeds", _I),
        ("clean_mean", _F),
        ("clean_sd", _F),
        ("contaminated_mean", _F),
        ("contaminated_sd", _F),
        ("gain_mean", _F),
        ("gain_sd", _F),
    ),
)


# -- attacks, boundary, breakpoints (attack_checkpoints, analyse_breakpoints, perturb_changepoints)
def perturbations_table(n_values: int) -> Table:
    """One row per (step, image, attack); ``delta`` holds the flattened map (n_values pixels)."""
    return Table(
        "perturb.perturbations",
        (
            ("step", _I),
            ("image", _I),
            ("attack", _S),
            ("label", _I),
            ("correct", _B),
            ("success", _B),
            ("l2", pa.float32()),
            ("linf", pa.float32()),
            ("delta", pa.list_(pa.float32(), n_values)),
        ),
    )


def read_perturbations(path) -> pd.DataFrame:
    return read_table(path, perturbations_table(pq.read_schema(path).field("delta").type.list_size))


ATTACK_SUMMARY = Table(
    "perturb.attack_summary",
    (
        *_RUN,
        ("step", _I),
        ("epoch_float", _F),
        ("attack", _S),
        ("kind", _S),
        ("eps", _F),
        ("n_images", _I),
        ("n_correct", _I),
        ("n_kept", _I),
        ("success_rate", _F),
        ("l2_mean", _F),
        ("l2_median", _F),
        ("linf_mean", _F),
        ("seconds", _F),
    ),
)
BOUNDARY = Table(  # learndyn.perturb.boundary: distance to the nearest decision boundary (claim R1)
    "perturb.boundary",
    (
        *_RUN,
        ("step", _I),
        ("epoch_float", _F),
        ("attack", _S),
        ("kind", _S),
        ("norm", _S),
        ("image", _I),
        ("label", _I),
        ("pred", _I),
        ("correct", _B),
        ("gap", _F),
        ("dist", _F),
        ("dist_x", _F),
        ("dist_nn", _F),
        ("x_norm", _F),
        ("nn_other", _F),
        ("reason", _S),
    ),
)
BREAKPOINTS = Table(
    "perturb.breakpoints",
    (
        ("run", _S),
        ("step", _I),
        ("epoch_float", _F),
        ("attack", _S),
        ("kind", _S),
        ("image", _I),
        ("correct", _B),
        ("success", _B),
        ("kept", _B),
        ("method", _S),
        ("delta_l2", _F),
        ("n_bp", _F),
        ("t1", _F),
        ("t1_l2", _F),
        ("t_cross", _F),
        ("same_region", _B),
        ("density", _F),
        ("density_fixed", _F),
        ("density_random", _F),
        ("probe_l2", _F),
        ("maxlog", _F),
        ("hff", _F),
        ("hoyer", _F),
        ("label", _S),
    ),
)
CHANGEPOINTS = Table(
    "perturb.changepoints",
    (
        *_RUN,
        ("reading", _S),
        ("series", _S),
        ("attack", _S),
        ("kind", _S),
        ("tau_step", _F),
        ("tau_epoch", _F),
        ("ci_low_step", _F),
        ("ci_high_step", _F),
        ("ci_low_epoch", _F),
        ("ci_high_epoch", _F),
        ("bic_gain", _F),
        ("accepted", _B),
        ("gamma", _F),
        ("n_levels", _I),
        ("n_images", _I),
        ("label", _S),
    ),
)
SERIES_A = ("density_fixed", "density", "t1_l2")  # Reading A series per checkpoint
SERIES_B = ("success", "l2", "maxlog", "hff", "hoyer")  # Reading B dynamics series

# -- spectra (analyse_spectra per run, collect_perturb_spectra over runs)
_RUN_STEP = (*_RUN, ("step", _I), ("epoch_float", _F))
METRICS = Table(
    "perturb.spectral_metrics",
    (
        *_RUN_STEP,
        ("attack", _S),
        ("kind", _S),
        ("image", _I),
        ("label", _I),
        ("correct", _B),
        ("success", _B),
        ("kept", _B),
        *_METRICS,
        ("channel_mode", _S),
    ),
)
MEAN_SPECTRUM = Table(
    "perturb.mean_spectrum",
    (
        *_RUN_STEP,
        ("attack", _S),
        ("kind", _S),
        ("n_images", _I),
        ("side", _I),
        ("log_power", pa.list_(_F)),
        ("mean_log_magnitude", pa.list_(_F)),
        ("label", _S),
    ),
)
RADIAL = Table(
    "perturb.radial",
    (
        *_RUN_STEP,
        ("attack", _S),
        ("kind", _S),
        ("n_images", _I),
        ("rho", _I),
        ("power", _F),
        ("power_sem", _F),
        ("cumulative", _F),
        ("cumulative_sem", _F),
    ),
)
TARGETS = Table(
    "perturb.target_spectra",
    (
        *_RUN_STEP,
        ("target", _S),
        ("layer", _I),
        ("layer_kind", _S),
        ("kernel", _I),
        ("n_items", _I),
        *_METRICS,
        ("position_var", _F),
        ("weight_departure", _F),
        ("side", _I),
        ("log_power", pa.list_(_F)),
        ("label", _S),
    ),
)
SPECTRA_RUN_TABLES = {"metrics": METRICS, "mean_spectrum": MEAN_SPECTRUM, "radial": RADIAL, "predictor": TARGETS}
SPECTRA_SUMMARY = Table(
    "perturb.spectra_summary",
    (
        *_RUN_STEP,
        ("final", _B),
        ("source", _S),
        ("name", _S),
        ("kind", _S),
        ("n", _I),
        *_METRICS,
        *((f"{c}_sem", _F) for c in ("hff", "hoyer", "centroid", "f_half")),
        ("position_var", _F),
        ("weight_departure", _F),
    ),
)
SPECTRA_FINAL = Table(
    "perturb.spectra_final",
    (
        *_RUN,
        ("step", _I),
        ("source", _S),
        ("name", _S),
        ("kind", _S),
        ("n", _I),
        ("side", _I),
        ("log_power", pa.list_(_F)),
        ("radial_power", pa.list_(_F)),
        ("radial_cumulative", pa.list_(_F)),
    ),
)

# -- theory (perturb_theory; adversarial.md, 'Theory checks')
THEORY_BETAS = Table(
    "perturb.theory_t1",
    (("method", _S), ("index", _I), ("beta", _F), ("beta_unit", _F), ("fourier_modulus", _F)),
)
THEORY_SUMMARY = Table("perturb.theory_summary", (("key", _S), ("value", _F)))
KERNEL_THEORY = Table(
    "perturb.kernel_theory",
    (
        ("side", _I),
        ("kernel", _I),
        ("band", _S),
        ("lambda_max", _F),
        ("ds_bound", _I),
        ("random_fourier_support", _I),
    ),
)

#: the study tables by the names rules, figures and claims give them
SCHEMAS = {
    "training": HISTORY,
    "contamination": CONTAMINATION,
    "contamination_runs": CONTAM_RUNS,
    "attack_summary": ATTACK_SUMMARY,
    "boundary": BOUNDARY,
    "breakpoints": BREAKPOINTS,
    "changepoints": CHANGEPOINTS,
    "spectra_summary": SPECTRA_SUMMARY,
    "spectra_final": SPECTRA_FINAL,
    "theory_t1": THEORY_BETAS,
    "theory_summary": THEORY_SUMMARY,
    "kernel_theory": KERNEL_THEORY,
}
