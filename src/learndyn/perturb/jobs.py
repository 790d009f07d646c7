"""Rule entry points of the perturb study, each named after its rule in workflow/rules/perturb.smk (each
takes a :class:`Job`).

prepare_perturb_dataset -> train_perturb (dynamics runs: dense early checkpoints + history) ->
collect_perturb_training; attack_checkpoints (per run: attacks, saliency, boundary distances) ->
analyse_breakpoints (Reading A) -> perturb_changepoints (Readings A, B); analyse_spectra (per run) ->
collect_perturb_spectra; perturb_theory; train_perturb_contamination (clean vs contaminated, every seed, one job
per dataset x model) -> perturb_contamination_table; perturb_claims; render_perturb (every figure).  The
science lives in :mod:`~learndyn.perturb.module` (fit_run), :mod:`~learndyn.perturb.dynamics`,
:mod:`~learndyn.perturb.spectra_analysis`, :mod:`~learndyn.perturb.theory`,
:mod:`~learndyn.perturb.contamination` and :mod:`~learndyn.perturb.claims`; the schemas in
:mod:`~learndyn.perturb.tables`.

Module-level imports stay light (no torch): a rule's code inputs are what its entry function can
import (learndyn.code_inputs), so each entry imports its heavy modules inside its body.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from learndyn.io import read_table, read_tables, write_table
from learndyn.job import Job
from learndyn.perturb.tables import HISTORY

# Retention policies of the two training rules (what their readers load; resume state is separate):
# attack_checkpoints, analyse_spectra and analyse_breakpoints read every checkpoint of a dynamics run;
# the contamination table reads only the history (final test accuracy), so a contamination run keeps
# no checkpoint once its manifest is written (72 default runs: 1.4 GB if all were kept, 112 MB as finals).
KEEP_DYNAMICS = "all"
KEEP_CONTAMINATION = "none"


def prepare_perturb_dataset(job: Job) -> None:
    """Load / generate one dataset (deterministic subsets), stored as the perturb.images table."""
    from learndyn.perturb.data import load_dataset, regenerable, write_images

    cfg = job.cfg
    data = load_dataset(cfg)
    seed = cfg.get("seed")
    extra = (
        {
            "contamination": {
                **cfg["contamination"],
                "dft_norm": "backward (unnormalised forward DFT)",
                "clipping": "none",
            }
        }
        if "contamination" in cfg
        else {}
    )
    # the md5 of every input file, so a table says which copy of the data it was built from
    write_images(
        data,
        job.output("images"),
        job.provenance(seed=seed, sources=data["sources"], **extra),
        recipe=dict(cfg) if regenerable(cfg) else None,
    )  # generated data: remade on read
    x = data["x_train"]
    job.log(f"{cfg['key']}: train {x.shape}, test {data['x_test'].shape}, range [{x.min():.3f}, {x.max():.3f}]")


def _training_data(path) -> dict:
    from learndyn.perturb.data import read_images

    d = read_images(path)
    return {k: d[k] for k in ("x_train", "y_train", "x_test", "y_test")}


def train_perturb(job: Job) -> None:
    """One dynamics run; the history is written before the manifest (the manifest is written last)."""
    from learndyn.perturb.module import fit_run  # Lightning: only training jobs import it

    cfg = job.cfg
    fit_run(
        job,
        _training_data(job.inputs["images"]),
        run_dir=job.output("manifest").parent,
        dataset=cfg["dataset"],
        model=cfg["model"],
        seed=cfg["seed"],
        lr=cfg["lr"],
        train=cfg["train"],
        condition="contaminated" if "contamination" in cfg["data"] else "clean",
        write_history=lambda h: write_table(h, job.output("history"), HISTORY, job.provenance(seed=cfg["seed"])),
        keep=KEEP_DYNAMICS,
    )


def collect_perturb_training(job: Job) -> None:
    """All dynamics runs' histories in one table (figures, claims)."""
    df = read_tables(job.inputs["histories"], HISTORY)
    write_table(df, job.output("table"), HISTORY, job.provenance())
    job.log(f"{df['run'].nunique()} runs, {len(df)} rows")


def train_perturb_contamination(job: Job) -> None:
    """Clean and contaminated runs of one model on one clean dataset and its variants, every seed (adversarial.md,
    'Fourier-feature contamination experiment (C4)')."""
    from learndyn.perturb.module import fit_run
    from learndyn.perturb.runs import CONTAM_ROOT, run_name

    cfg = job.cfg
    dirty = job.inputs["contaminated"]
    dirty = [dirty] if isinstance(dirty, (str, os.PathLike)) else list(dirty)
    parts = []
    for condition, key, path in (
        ("clean", cfg["clean"], job.inputs["clean"]),
        *(("contaminated", k, p) for k, p in zip(cfg["contaminated"], dirty)),
    ):
        data = _training_data(path)
        for seed in cfg["seeds"]:
            run_dir = Path(CONTAM_ROOT) / run_name(key, cfg["model"], seed)
            parts.append(
                fit_run(
                    job,
                    data,
                    run_dir=run_dir,
                    dataset=key,
                    model=cfg["model"],
                    seed=seed,
                    lr=cfg["lr"],
                    train=cfg["train"],
                    condition=condition,
                    keep=KEEP_CONTAMINATION,
                )
            )
    write_table(pd.concat(parts, ignore_index=True), job.output("history"), HISTORY, job.provenance())


def perturb_contamination_table(job: Job) -> None:
    """Final test accuracy clean vs contaminated per model: mean ± sd over seeds, and the gain."""
    from learndyn.perturb.contamination import contamination_tables
    from learndyn.perturb.tables import CONTAM_RUNS, CONTAMINATION

    history = read_tables(job.inputs["histories"], HISTORY)
    runs, table = contamination_tables(history, job.cfg["pairs"], job.cfg["patterns"])
    write_table(runs, job.output("runs"), CONTAM_RUNS, job.provenance())
    write_table(table, job.output("table"), CONTAMINATION, job.provenance())
    job.log("\n" + table.to_string(index=False))


def _steps(manifest) -> list[int]:
    from learndyn.train import MANIFEST

    return sorted(int(s) for s in read_table(manifest, MANIFEST)["step"])


def attack_checkpoints(job: Job) -> None:
    """Every checkpoint x every configured attack (+ saliency) on the first n training images, and the
    distance to the decision boundary (adversarial.md, 'Attacks'; claim R1)."""
    from learndyn.perturb.data import read_images
    from learndyn.perturb.dynamics import attack_run, epoch_of
    from learndyn.perturb.tables import ATTACK_SUMMARY, BOUNDARY

    out = attack_run(
        job.cfg["run"],
        Path(job.inputs["manifest"]).parent,
        _steps(job.inputs["manifest"]),
        read_images(job.inputs["images"]),
        job.cfg["attack"],
        epoch_of(read_table(job.inputs["history"], HISTORY)),
        job.log,
        source=job.inputs["images"],
    )
    prov = job.provenance(**out["prov"])
    write_table(out["perturbations"], job.output("perturbations"), out["table"], prov)
    write_table(out["summary"], job.output("summary"), ATTACK_SUMMARY, prov)
    write_table(out["boundary"], job.output("boundary"), BOUNDARY, prov)


def analyse_breakpoints(job: Job) -> None:
    """Reading A at every checkpoint for the attacked images, plus the per-image Reading B values."""
    from learndyn.perturb.breakpoints import READING_A
    from learndyn.perturb.data import read_images
    from learndyn.perturb.dynamics import breakpoints_run, epoch_of
    from learndyn.perturb.runs import parse_run
    from learndyn.perturb.tables import BREAKPOINTS, read_perturbations

    df = breakpoints_run(
        job.cfg["run"],
        Path(job.inputs["manifest"]).parent,
        read_perturbations(job.inputs["perturbations"]),
        read_images(job.inputs["images"]),
        job.cfg,
        epoch_of(read_table(job.inputs["history"], HISTORY)),
        job.log,
        source=job.inputs["perturbations"],
    )
    prov = job.provenance(seed=parse_run(job.cfg["run"])[2], reading=READING_A)
    write_table(df, job.output("breakpoints"), BREAKPOINTS, prov)


def perturb_changepoints(job: Job) -> None:
    """Reading B (reconstruction): hinge change point tau of every series, per run and attack."""
    from learndyn.perturb.dynamics import changepoints, run_keys
    from learndyn.perturb.tables import BOUNDARY, BREAKPOINTS, CHANGEPOINTS

    frames = read_tables(job.inputs["breakpoints"], BREAKPOINTS)
    cfg = job.cfg or {}
    bnd = read_tables(job.inputs["boundary"], BOUNDARY) if "boundary" in job.inputs else None
    df = changepoints(
        frames,
        run_keys(frames["run"].unique()),
        n_boot=int(cfg.get("n_boot", 200)),
        seed=int(cfg.get("seed", 0)),
        boundary=bnd,
    )
    write_table(df, job.output("changepoints"), CHANGEPOINTS, job.provenance())
    for r in df[df["accepted"]].itertuples():
        job.log(
            f"{r.run} {r.attack} {r.reading}:{r.series}: tau = step {r.tau_step:.0f} "
            f"(epoch {r.tau_epoch:.2f}, CI {r.ci_low_epoch:.2f}..{r.ci_high_epoch:.2f}), BIC gain {r.bic_gain:.1f}"
        )


def analyse_spectra(job: Job) -> None:
    """Per run: spectral metrics of every perturbation and saliency map, mean spectra, radial profiles,
    and predictor / filter spectra at every attacked checkpoint (adversarial.md, 'Frequency analysis')."""
    from learndyn.perturb.data import read_images
    from learndyn.perturb.spectra_analysis import analyse_run, epoch_map
    from learndyn.perturb.tables import SPECTRA_RUN_TABLES, read_perturbations

    out = analyse_run(
        job.cfg["run"],
        Path(job.inputs["manifest"]).parent,
        read_perturbations(job.inputs["perturbations"]),
        read_images(job.inputs["images"]),
        job.cfg,
        epoch_map(read_table(job.inputs["history"], HISTORY)),
        job.log,
        source=job.inputs["perturbations"],
    )
    prov = job.provenance(**out["prov"])
    for name, table in SPECTRA_RUN_TABLES.items():
        write_table(out[name], job.output(name), table, prov)


def collect_perturb_spectra(job: Job) -> None:
    """All runs: the summary table and the final checkpoint's mean spectra and radial profiles."""
    from learndyn.perturb.spectra_analysis import final_maps, summarise
    from learndyn.perturb.tables import SPECTRA_FINAL, SPECTRA_RUN_TABLES, SPECTRA_SUMMARY

    t = {name: read_tables(job.inputs[name], table) for name, table in SPECTRA_RUN_TABLES.items()}
    summary = summarise(t["metrics"], t["predictor"])
    final = final_maps(t["metrics"], t["predictor"], t["mean_spectrum"], t["radial"])
    write_table(summary, job.output("summary"), SPECTRA_SUMMARY, job.provenance())
    write_table(final, job.output("final"), SPECTRA_FINAL, job.provenance())
    job.log(f"{t['metrics']['run'].nunique()} runs; {len(summary)} summary rows; {len(final)} final maps")


def perturb_theory(job: Job) -> None:
    """adversarial.md, 'Theory checks': T1 (betas and summary), T2 / T3 (lambda_max(K), Donoho-Stark counts)."""
    from learndyn.perturb.tables import KERNEL_THEORY, THEORY_BETAS, THEORY_SUMMARY
    from learndyn.perturb.theory import theory_tables

    out = theory_tables(job.cfg)
    prov = job.provenance(seed=out["params"]["seed"], t1=out["params"])
    write_table(out["t1"], job.output("t1"), THEORY_BETAS, prov)
    write_table(out["summary"], job.output("summary"), THEORY_SUMMARY, prov)
    write_table(out["kernels"], job.output("kernels"), KERNEL_THEORY, prov)
    job.log("T1: " + ", ".join(f"{k}={v:.4g}" for k, v in out["t1_summary"].items()))


def perturb_claims(job: Job) -> None:
    """Claims R1..R6 and the training claims (adversarial.md, 'Figures and tables'), from the tables."""
    from learndyn.claims import CLAIMS
    from learndyn.perturb.claims import build_claims
    from learndyn.perturb.tables import SCHEMAS

    unknown = sorted(set(job.inputs) - set(SCHEMAS) - {"code"})
    if unknown:
        raise ValueError(f"perturb_claims: inputs {unknown} have no table schema here")
    tables = {name: read_tables(path, SCHEMAS[name]) for name, path in job.inputs.items() if name != "code"}
    df = build_claims(tables, job.cfg)
    write_table(df, job.output("claims"), CLAIMS, job.provenance())
    for r in df.itertuples():
        job.log(
            f"{r.claim_id}: {r.verdict} ({r.aggregate} {r.metric} = {r.value:.4g} [{r.ci_lo:.4g}, {r.ci_hi:.4g}] "
            f"{r.direction} {r.threshold:.4g}; n = {r.n}) {r.why} | {r.detail}"
        )


def render_perturb(job: Job) -> None:
    """One figure of the perturb study: read its tables, draw it, save PNG (no torch: figure jobs)."""
    from learndyn.figures.perturb import FIGURES, NEEDS_CFG, read_input
    from learndyn.figures.style import render_figure

    def call(name, func, frames):
        return func(*frames, job.cfg) if name in NEEDS_CFG else func(*frames)

    render_figure(job, "perturb", FIGURES, None, call=call, read=read_input)
