# The perturb study: adversarial perturbations over training (spec: shared/papers/adversarial.md).
# prepare -> train (dense early checkpoints) -> [ATTACKS] attack checkpoints, breakpoints
#   -> [SPECTRA] spectra -> claims -> figures; and the Fourier-feature contamination experiment.
# Three helpers share this file: CORE owns everything outside the two marked sections; the
# SPECTRA / ATTACKS helpers edit only inside their own section.
#
# Shared names for the sections:
#   PRT                       config["perturb"]
#   PERTURB_RUNS              dynamics runs "{dataset}/{model}/s{seed}" (learndyn.perturb.runs.run_names)
#   perturb_run_dir(run)      "results/perturb/runs/<run>"
#   PERTURB_CLAIM_TABLES      name -> path or list of paths; the claims job gets them as named inputs
#   PERTURB_FIGURES           list of figure paths in the study target
#   wildcards: {pdata} dataset key, {pmodel} model id, {pseed} seed number, {pfig} figure name

from learndyn.perturb.runs import (
    CONTAM_ROOT,
    RUNS_ROOT,
    contaminated_of,
    contamination_job_config,
    contamination_table_config,
    run_names,
    train_job_config,
)

validate_study("perturb")
PRT = config["perturb"]
PERTURB_RUNS = run_names(PRT)
PERTURB_ACCELERATOR = study_accelerator(PRT)
PERTURB_CLAIM_TABLES = {}
PERTURB_FIGURES = []


wildcard_constraints:
    pdata="[a-z][a-z0-9_]*",
    pmodel="[a-z][a-z0-9_.]*",
    pseed="[0-9]+",
    pfig="[a-z][a-z0-9_]*",


# `snakemake --lint` says "Mixed rules and functions in same snakefile" here, by design: a study's
# input functions (its run folders and wildcards, perturb_table below) live beside the rules
# that use them, so that a study is found by its name and leaves the DAG with its file (studies are
# included only when listed). tests/workflow/test_conventions.py accepts exactly this finding.
def perturb_run_dir(run):
    return f"{RUNS_ROOT}/{run}"


def perturb_run(wc):
    return f"{wc.pdata}/{wc.pmodel}/s{wc.pseed}"


STUDY_TARGETS["perturb"] = lambda: [
    "results/perturb/claims.parquet",
    *PERTURB_FIGURES,
]


rule prepare_perturb_dataset:
    """Load / generate one dataset (deterministic subsets), store it as the perturb.images table."""
    output:
        images="results/perturb/data/{pdata}.parquet",
    params:
        func="learndyn.perturb.tasks:prepare_dataset",
        cfg=lambda wc: canonical({"key": wc.pdata, **PRT["datasets"][wc.pdata]}),
    log:
        "logs/prepare_perturb_dataset/{pdata}.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    script:
        "../scripts/run.py"


rule train_perturb:
    """One dynamics run: dense checkpoints in epoch 0, resumable; history of accuracy and loss."""
    input:
        images="results/perturb/data/{pdata}.parquet",
    output:
        manifest=f"{RUNS_ROOT}/{{pdata}}/{{pmodel}}/s{{pseed}}/checkpoints.parquet",
        history=f"{RUNS_ROOT}/{{pdata}}/{{pmodel}}/s{{pseed}}/history.parquet",
    params:
        func="learndyn.perturb.tasks:train_run",
        cfg=lambda wc: canonical({**train_job_config(PRT, perturb_run(wc)), "accelerator": PERTURB_ACCELERATOR}),
    log:
        "logs/train_perturb/{pdata}/{pmodel}/s{pseed}.log",
    benchmark:
        "results/benchmarks/train_perturb/{pdata}/{pmodel}/s{pseed}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=120,
        gpu=gpus(PERTURB_ACCELERATOR),
    script:
        "../scripts/run.py"


rule collect_perturb_training:
    """All dynamics runs' histories in one table (figures, claims)."""
    input:
        histories=expand(f"{RUNS_ROOT}/{{run}}/history.parquet", run=PERTURB_RUNS),
    output:
        table="results/perturb/tables/training.parquet",
    params:
        func="learndyn.perturb.tasks:collect_histories",
    log:
        "logs/collect_perturb_training.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


rule train_perturb_contamination:
    """Contamination experiment (adversarial.md, 'Fourier-feature contamination experiment (C4)') for one clean dataset and model: every seed on the clean and
    the contaminated data, same schedule (one job: a process per run would cost more than the run)."""
    input:
        clean="results/perturb/data/{pdata}.parquet",
        contaminated=lambda wc: [f"results/perturb/data/{k}.parquet" for k in contaminated_of(PRT, wc.pdata)],
    output:
        history=f"{CONTAM_ROOT}/{{pdata}}/{{pmodel}}/history.parquet",
    params:
        func="learndyn.perturb.tasks:train_contamination",
        cfg=lambda wc: canonical(contamination_job_config(PRT, wc.pdata, wc.pmodel, PERTURB_ACCELERATOR)),
    log:
        "logs/train_perturb_contamination/{pdata}/{pmodel}.log",
    benchmark:
        "results/benchmarks/train_perturb_contamination/{pdata}/{pmodel}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=120,
        gpu=gpus(PERTURB_ACCELERATOR),
    script:
        "../scripts/run.py"


rule perturb_contamination_table:
    """Clean vs contaminated test accuracy per model (mean ± sd over seeds) and the gain."""
    input:
        histories=expand(
            f"{CONTAM_ROOT}/{{pdata}}/{{pmodel}}/history.parquet",
            pdata=PRT["contamination"]["pairs"],
            pmodel=PRT["contamination"]["models"],
        ),
    output:
        runs="results/perturb/tables/contamination_runs.parquet",
        table="results/perturb/tables/contamination.parquet",
    params:
        func="learndyn.perturb.tasks:contamination_table",
        cfg=canonical(contamination_table_config(PRT)),
    log:
        "logs/perturb_contamination_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


PERTURB_CLAIM_TABLES["training"] = "results/perturb/tables/training.parquet"
PERTURB_CLAIM_TABLES["contamination"] = "results/perturb/tables/contamination.parquet"
PERTURB_CLAIM_TABLES["contamination_runs"] = "results/perturb/tables/contamination_runs.parquet"


# ---- SPECTRA rules ----
# (perturb-spectra helper: analyse_spectra rules, spectra/theory figures; register claim tables in
#  PERTURB_CLAIM_TABLES and figure paths in PERTURB_FIGURES)
# analyse_spectra (per run: metrics, mean spectra, radial profiles, predictor / filter spectra) ->
# collect_perturb_spectra (all runs: summary + final maps) -> claims R2, R3, R4, E1; perturb_theory
# (adversarial.md, 'Theory checks' T1-T3 tables); figures F3 (FC vs conv), F4 (LC vs conv), F5 (kernel sweep), theory.
PSPEC = PRT["spectra"]
PSPEC_KINDS = {name: spec.get("kind", "") for name, spec in PRT["attack"].get("attacks", {}).items()}
PSPEC_TABLES = ("metrics", "mean_spectrum", "radial", "predictor")
PSPEC_FIGURES = {  # figure -> its input tables (names as learndyn.figures.perturb_spectra reads them)
    "fc_vs_conv": ("spectra_final", "spectra_summary", "theory_t1"),
    "lc_vs_conv": ("spectra_final", "spectra_summary"),
    "kernel_sweep": ("spectra_summary", "kernel_theory"),
    "theory": ("theory_t1", "theory_summary", "kernel_theory"),
}
PSPEC_PATHS = {
    "spectra_summary": "results/perturb/tables/spectra_summary.parquet",
    "spectra_final": "results/perturb/tables/spectra_final.parquet",
    "theory_t1": "results/perturb/tables/theory_t1.parquet",
    "theory_summary": "results/perturb/tables/theory_summary.parquet",
    "kernel_theory": "results/perturb/tables/kernel_theory.parquet",
}


rule analyse_spectra:
    """Spectral metrics (adversarial.md, 'Frequency analysis') of every perturbation and saliency map of one run, mean spectra,
    radial profiles, and the end-to-end predictor / filter spectra at every attacked checkpoint."""
    input:
        perturbations="results/perturb/tables/attacks/{pdata}/{pmodel}/s{pseed}.parquet",
        images="results/perturb/data/{pdata}.parquet",
        manifest=f"{RUNS_ROOT}/{{pdata}}/{{pmodel}}/s{{pseed}}/checkpoints.parquet",
        history=f"{RUNS_ROOT}/{{pdata}}/{{pmodel}}/s{{pseed}}/history.parquet",
    output:
        **{t: f"results/perturb/tables/spectra/{{pdata}}/{{pmodel}}/s{{pseed}}/{t}.parquet" for t in PSPEC_TABLES},
    params:
        func="learndyn.perturb.spectra_tasks:analyse_spectra",
        cfg=lambda wc: canonical({"run": perturb_run(wc), "spectra": PSPEC, "kinds": PSPEC_KINDS}),
    log:
        "logs/analyse_spectra/{pdata}/{pmodel}/s{pseed}.log",
    benchmark:
        "results/benchmarks/analyse_spectra/{pdata}/{pmodel}/s{pseed}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/run.py"


rule collect_perturb_spectra:
    """All runs: per-checkpoint means over kept maps (summary) and the final checkpoint's maps."""
    input:
        **{t: expand(f"results/perturb/tables/spectra/{{run}}/{t}.parquet", run=PERTURB_RUNS) for t in PSPEC_TABLES},
    output:
        summary=PSPEC_PATHS["spectra_summary"],
        final=PSPEC_PATHS["spectra_final"],
    params:
        func="learndyn.perturb.spectra_tasks:collect_spectra",
    log:
        "logs/collect_perturb_spectra.log",
    benchmark:
        "results/benchmarks/collect_perturb_spectra/all.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/run.py"


rule perturb_theory:
    """Spec adversarial.md, 'Theory checks': T1 (Gunasekar 1-D: conv -> Fourier-l1, FC -> SVM), T2 Donoho-Stark, T3 lambda_max(K)."""
    output:
        t1=PSPEC_PATHS["theory_t1"],
        summary=PSPEC_PATHS["theory_summary"],
        kernels=PSPEC_PATHS["kernel_theory"],
    params:
        func="learndyn.perturb.spectra_tasks:theory_job",
        cfg=canonical(PSPEC.get("theory", {})),
    log:
        "logs/perturb_theory.log",
    benchmark:
        "results/benchmarks/perturb_theory/all.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/run.py"


PERTURB_CLAIM_TABLES["spectra_summary"] = PSPEC_PATHS["spectra_summary"]
PERTURB_CLAIM_TABLES["theory_summary"] = PSPEC_PATHS["theory_summary"]
PERTURB_FIGURES += [f"results/figures/perturb/{f}.png" for f in PSPEC_FIGURES]

for _pfig, _ptables in PSPEC_FIGURES.items():

    rule:
        name:
            f"render_perturb_{_pfig}"
        input:
            **{t: PSPEC_PATHS[t] for t in _ptables},
        output:
            figure=report(
                f"results/figures/perturb/{_pfig}.png",
                caption=f"../report/perturb/{_pfig}.rst",
                category="Study perturb - adversarial perturbations (Ortega Caro et al. 2020)",
            ),
        params:
            func="learndyn.figures.perturb_spectra:render",
            cfg=canonical({"figure": _pfig}),
        log:
            f"logs/render_perturb/{_pfig}.log",
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        script:
            "../scripts/run.py"


# ---- end SPECTRA rules ----


# ---- ATTACKS rules ----
# attack_checkpoints (+ boundary) -> analyse_breakpoints (Reading A) -> perturb_changepoints (A, B) -> R1, R6; F1, F2
PATK = PRT["attack"]
PERTURB_ATTACK_KINDS = {name: spec.get("kind", "") for name, spec in PATK.get("attacks", {}).items()}
PERTURB_FIGURE_RUN = PATK.get("figure_run", PERTURB_RUNS[0])


def perturb_table(kind, run):
    return f"results/perturb/tables/{kind}/{run}.parquet"


rule attack_checkpoints:
    """Every checkpoint of one run: the configured foolbox attacks and the saliency map on the first
    perturb.attack.n_images training images (adversarial.md, 'Attacks'); perturbations + per-checkpoint summary."""
    input:
        images="results/perturb/data/{pdata}.parquet",
        manifest=f"{RUNS_ROOT}/{{pdata}}/{{pmodel}}/s{{pseed}}/checkpoints.parquet",
        history=f"{RUNS_ROOT}/{{pdata}}/{{pmodel}}/s{{pseed}}/history.parquet",
    output:
        perturbations="results/perturb/tables/attacks/{pdata}/{pmodel}/s{pseed}.parquet",
        summary="results/perturb/tables/attack_summary/{pdata}/{pmodel}/s{pseed}.parquet",
        boundary="results/perturb/tables/boundary/{pdata}/{pmodel}/s{pseed}.parquet",
    params:
        func="learndyn.perturb.attack_tasks:attack_checkpoints",
        cfg=lambda wc: canonical({"run": perturb_run(wc), "attack": PATK}),
    log:
        "logs/attack_checkpoints/{pdata}/{pmodel}/s{pseed}.log",
    benchmark:
        "results/benchmarks/attack_checkpoints/{pdata}/{pmodel}/s{pseed}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=120,
    script:
        "../scripts/run.py"


rule analyse_breakpoints:
    """Reading A (reconstruction): ReLU breakpoints along each image's attack segment, per checkpoint;
    plus the per-image values of the Reading B series."""
    input:
        perturbations="results/perturb/tables/attacks/{pdata}/{pmodel}/s{pseed}.parquet",
        images="results/perturb/data/{pdata}.parquet",
        manifest=f"{RUNS_ROOT}/{{pdata}}/{{pmodel}}/s{{pseed}}/checkpoints.parquet",
        history=f"{RUNS_ROOT}/{{pdata}}/{{pmodel}}/s{{pseed}}/history.parquet",
    output:
        breakpoints="results/perturb/tables/breakpoints/{pdata}/{pmodel}/s{pseed}.parquet",
    params:
        func="learndyn.perturb.attack_tasks:analyse_breakpoints",
        cfg=lambda wc: canonical(
            {
                "run": perturb_run(wc),
                "breakpoints": PRT["breakpoints"],
                "kinds": PERTURB_ATTACK_KINDS,
                "spectra": {k: PRT["spectra"][k] for k in ("r0", "channel_mode") if k in PRT["spectra"]},
            }
        ),
    log:
        "logs/analyse_breakpoints/{pdata}/{pmodel}/s{pseed}.log",
    benchmark:
        "results/benchmarks/analyse_breakpoints/{pdata}/{pmodel}/s{pseed}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=120,
    script:
        "../scripts/run.py"


rule perturb_changepoints:
    """Reading B (reconstruction): hinge change point tau of every series, per run and attack."""
    input:
        breakpoints=[perturb_table("breakpoints", r) for r in PERTURB_RUNS],
        boundary=[perturb_table("boundary", r) for r in PERTURB_RUNS],
    output:
        changepoints="results/perturb/tables/changepoints.parquet",
    params:
        func="learndyn.perturb.attack_tasks:perturb_changepoints",
        cfg=canonical({k: PRT["breakpoints"][k] for k in ("n_boot", "seed") if k in PRT["breakpoints"]}),
    log:
        "logs/perturb_changepoints.log",
    benchmark:
        "results/benchmarks/perturb_changepoints/all.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/run.py"


PERTURB_CLAIM_TABLES["attack_summary"] = [perturb_table("attack_summary", r) for r in PERTURB_RUNS]
PERTURB_CLAIM_TABLES["changepoints"] = "results/perturb/tables/changepoints.parquet"
PERTURB_CLAIM_TABLES["boundary"] = [perturb_table("boundary", r) for r in PERTURB_RUNS]
PERTURB_FIGURES += ["results/figures/perturb/dynamics.png", "results/figures/perturb/breakpoints.png"]


rule render_perturb_dynamics:
    """F1: image rows (x, x_adv, delta, log|DFT delta|, saliency) and the dynamics panels."""
    input:
        perturbations=perturb_table("attacks", PERTURB_FIGURE_RUN),
        images=f"results/perturb/data/{PERTURB_FIGURE_RUN.split('/')[0]}.parquet",
        summary=[perturb_table("attack_summary", r) for r in PERTURB_RUNS],
        breakpoints=[perturb_table("breakpoints", r) for r in PERTURB_RUNS],
        boundary=[perturb_table("boundary", r) for r in PERTURB_RUNS],
    output:
        figure=report(
            "results/figures/perturb/dynamics.png",
            caption="../report/perturb/dynamics.rst",
            category="Study perturb - adversarial perturbations (Ortega Caro et al. 2020)",
        ),
    params:
        func="learndyn.figures.perturb_dynamics:render",
        cfg=canonical({"figure": "dynamics", "run": PERTURB_FIGURE_RUN, "rows": PATK.get("figure_rows", 8)}),
    log:
        "logs/render_perturb/dynamics.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/run.py"


rule render_perturb_breakpoints:
    """F2: breakpoints over training (Reading A) and change points with CI (Reading B)."""
    input:
        breakpoints=[perturb_table("breakpoints", r) for r in PERTURB_RUNS],
        changepoints="results/perturb/tables/changepoints.parquet",
    output:
        figure=report(
            "results/figures/perturb/breakpoints.png",
            caption="../report/perturb/breakpoints.rst",
            category="Study perturb - adversarial perturbations (Ortega Caro et al. 2020)",
        ),
    params:
        func="learndyn.figures.perturb_dynamics:render",
        cfg=canonical({"figure": "breakpoints"}),
    log:
        "logs/render_perturb/breakpoints.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/run.py"


# ---- end ATTACKS rules ----


rule perturb_claims:
    """Claims R1..R6 (adversarial.md, 'Figures and tables') and the training claims, from the tables (verdicts computed)."""
    input:
        **PERTURB_CLAIM_TABLES,
    output:
        claims="results/perturb/claims.parquet",
    params:
        func="learndyn.perturb.claims:write_claims",
        cfg=canonical(PRT.get("claims", {})),
    log:
        "logs/perturb_claims.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/run.py"


PERTURB_FIGURES.append("results/figures/perturb/training.png")


rule render_perturb_training:
    """Training dynamics (accuracy and loss vs step, dense epoch 0) and the contamination table."""
    input:
        training="results/perturb/tables/training.parquet",
        contamination="results/perturb/tables/contamination.parquet",
    output:
        figure=report(
            "results/figures/perturb/training.png",
            caption="../report/perturb/training.rst",
            category="Study perturb - adversarial perturbations (Ortega Caro et al. 2020)",
        ),
    params:
        func="learndyn.figures.perturb_training:render",
    log:
        "logs/render_perturb/training.log",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../scripts/run.py"


# last: the sections above have registered their figures in PERTURB_FIGURES
rule perturb:
    """Target: the whole perturb study (claims and figures)."""
    input:
        study_targets("perturb"),
