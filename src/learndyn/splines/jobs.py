"""Rule entry points of the splines study, each named after its rule in workflow/rules/splines.smk
(each takes a :class:`learndyn.job.Job`).

Thin by design: read Parquet/checkpoints, call the pure functions of this package, write
Parquet.  Everything here is importable and runnable without Snakemake.  Module-level imports stay
light (no torch): a rule's code inputs are what its entry function can import
(learndyn.code_inputs), so each entry imports its heavy modules inside its body.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.checkpoints import RunCheckpoints
from learndyn.io import read_table, read_tables, write_table
from learndyn.job import Job
from learndyn.splines.tables import DATASETS, METRIC_NAMES, METRICS, PARAM_NAMES, RUNS, TRAJECTORY, dataset_xy


def prepare_splines_dataset(job: Job) -> None:
    from learndyn.splines.data import make_dataset

    df = make_dataset(job.wildcards["dataset"], **job.cfg)
    write_table(df, job.output("dataset"), DATASETS, job.provenance(seed=job.cfg.get("d2_seed")))


def collect_splines_datasets(job: Job) -> None:
    df = read_tables(job.inputs["datasets"], DATASETS)
    write_table(df, job.output("datasets"), DATASETS, job.provenance())


def train_splines(job: Job) -> None:
    """Batched full-batch GD of every run of one group, checkpointed at breakpoints."""
    from learndyn.splines.module import SplineGD  # Lightning: imported only by training jobs
    from learndyn.splines.runs import group_init, group_runs
    from learndyn.train import breakpoint_schedule
    from learndyn.train.factory import fit_with_breakpoints

    group, train = job.cfg, job.cfg["train"]
    x, y = dataset_xy(read_table(job.inputs["dataset"], DATASETS), group["dataset"])
    runs = group_runs(group)
    params0 = group_init(group, runs)
    schedule = breakpoint_schedule(train["breakpoints"], train["max_steps"])
    module = SplineGD(
        params0,
        x,
        y,
        schedule,
        train["max_steps"],
        tol=train["tol"],
        refresh=train["refresh"],
        chunk=train["chunk"],
        eta_scale=train.get("eta_scale", 0.5),
    )
    job.log(
        f"{len(runs)} runs x width {group['width']} on {group['dataset']}, "
        f"{len(schedule)} breakpoints up to step {train['max_steps']}"
    )
    run_dir = job.output("manifest").parent
    fit_with_breakpoints(
        module,
        module.train_dataloader(),
        run_dir=run_dir,
        schedule=schedule,
        seed=0,
        fingerprint={"group": group, "x": x.tolist(), "y": y.tolist()},
        provenance=job.provenance(seed=group["seeds"]),
        threads=job.threads,
        precision="64-true",
        log=job.log,
        before_manifest=lambda: _write_runs(job, runs, module),
        keep="all",
    )  # analyse_splines_group extracts the spline at every checkpoint


def _write_runs(job: Job, runs: pd.DataFrame, module: SplineGD) -> None:  # noqa: F821 (Lightning: lazy)
    conv = module.converged_step.numpy()
    runs = runs.assign(
        group=job.wildcards.get("group", ""),
        converged=conv >= 0,
        steps=np.where(conv >= 0, conv, module.progress_step),
        final_loss=module.loss.numpy(),
    )
    write_table(runs[[c for c, _ in RUNS.columns]], job.output("runs"), RUNS, job.provenance())
    job.log(f"{int((conv >= 0).sum())}/{len(conv)} runs converged (L < tol) by step {module.progress_step}")


def _checkpoint_params(ckpts: RunCheckpoints, step: int):
    keys = {*PARAM_NAMES, "x", "y", "step_count", "loss", "converged_step"}
    state = ckpts.load(step, expected_keys=keys)["state_dict"]  # checked: sha256 and the run's identity
    return {k: state[k].numpy() for k in PARAM_NAMES}


def analyse_splines_group(job: Job) -> None:
    """Spline extraction at every checkpoint and implicit-regularisation metrics per run."""
    from learndyn.splines.metrics import implicit_regularisation_metrics
    from learndyn.splines.trajectory import trajectory_rows

    ckpts = RunCheckpoints(job.inputs["manifest"])
    manifest = ckpts.table
    runs = read_table(job.inputs["runs"], RUNS)
    x, y = dataset_xy(read_table(job.inputs["dataset"], DATASETS), runs["dataset"].iloc[0])
    frames, first, last = [], None, None
    for row in manifest.itertuples(index=False):
        params = _checkpoint_params(ckpts, int(row.step))
        frames.append(trajectory_rows(params, x, y, int(row.step)))
        first = params if first is None else first
        last = params
    write_table(pd.concat(frames, ignore_index=True), job.output("trajectory"), TRAJECTORY, job.provenance())
    job.log(f"spline extraction at {len(manifest)} checkpoints x {len(runs)} runs")
    rows = []
    for r in runs.itertuples(index=False):
        m = implicit_regularisation_metrics(
            {k: first[k][r.run] for k in PARAM_NAMES}, {k: last[k][r.run] for k in PARAM_NAMES}, x, y
        )
        rows.append({**r._asdict(), **{k: float(m[k]) for k in METRIC_NAMES}})
    write_table(pd.DataFrame(rows)[[c for c, _ in METRICS.columns]], job.output("metrics"), METRICS, job.provenance())


def collect_splines_metrics(job: Job) -> None:
    df = read_tables(job.inputs["metrics"], METRICS)
    write_table(df, job.output("table"), METRICS, job.provenance())


def analyse_splines_init(job: Job) -> None:
    """Breakpoint laws at init (F2) and flatness of initial functions (F3)."""
    from learndyn.splines import init_analysis as ia

    laws_cfg, flat_cfg = job.cfg["init_laws"], job.cfg["flatness"]
    laws, hists = ia.breakpoint_law_tables(laws_cfg["gaussian_ratios"], laws_cfg["uniform"], laws_cfg["n_draws"])
    write_table(laws, job.output("breakpoint_laws"), ia.LAWS, job.provenance(seed=0))
    write_table(hists, job.output("breakpoint_histograms"), ia.HISTOGRAMS, job.provenance(seed=0))
    job.log("breakpoint laws: " + ", ".join(f"{r.case} KS={r.ks:.4f}" for r in laws.itertuples()))
    x, y = dataset_xy(read_table(job.inputs["dataset"], DATASETS), "D1")
    flat, funcs = ia.flatness_tables(
        flat_cfg["families"], flat_cfg["widths"], flat_cfg["draws_budget"], flat_cfg["min_draws"], x, y
    )
    write_table(flat, job.output("flatness"), ia.FLATNESS, job.provenance(seed=0))
    write_table(funcs, job.output("flat_functions"), ia.FLAT_FUNCTIONS, job.provenance(seed=0))
    job.log(f"flatness: {len(flat)} draws over {flat_cfg['families']} x {flat_cfg['widths']}")


def analyse_splines_landscape(job: Job) -> None:
    """Loss slices (F4, on D3) and Hessian spectra in both coordinate systems (F5)."""
    from learndyn.splines import landscape_analysis as la

    x, y = dataset_xy(read_table(job.inputs["dataset"], DATASETS), "D3")
    slices, slice_checks = la.loss_slice_tables(x, y, job.cfg["slice_points"])
    write_table(slices, job.output("loss_slices"), la.LOSS_SLICES, job.provenance(seed=0))
    write_table(slice_checks, job.output("loss_slice_checks"), la.SLICE_CHECKS, job.provenance(seed=0))
    spectra, checks = la.hessian_tables()
    write_table(spectra, job.output("hessian_spectra"), la.SPECTRA, job.provenance(seed=0))
    write_table(checks, job.output("hessian_checks"), la.SPECTRUM_CHECKS, job.provenance(seed=0))
    job.log(
        "Hessian zero counts: "
        + ", ".join(
            f"{r.case}/{r.coordinates}: {r.n_zero} (theory >= {r.min_zero_theory})" for r in checks.itertuples()
        )
    )


def splines_claims(job: Job) -> None:
    from learndyn.splines import claims

    claims.write_claims(job)


def render_splines(job: Job) -> None:
    """One figure of the splines study: read its tables, draw it, save PNG (no torch: figure jobs)."""
    from learndyn.figures.splines import FIGURES
    from learndyn.figures.style import render_figure
    from learndyn.splines.tables import schema

    render_figure(job, "splines", FIGURES, schema)
