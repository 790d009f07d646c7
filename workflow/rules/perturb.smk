# The perturb study: adversarial perturbations over training (spec: shared/papers/adversarial.md).
# prepare (per dataset) -> train (per dynamics run: dense early checkpoints, Lightning) -> attack_checkpoints
# (per run: attacks, saliency, boundary distance) -> analyse_breakpoints (Reading A) -> perturb_changepoints;
# analyse_spectra (per run) -> collect_perturb_spectra; perturb_theory (T1-T3); the Fourier-feature contamination
# experiment (per clean dataset x model) -> perturb_contamination_table; then claims and figures.
# Wildcards (constraints in common.smk): {pdata} dataset key, {pmodel} model id, {pseed} seed: a dynamics run is
# "{pdata}/{pmodel}/s{pseed}" (learndyn.perturb.runs.run_name).
from learndyn.figures.perturb import FIGURES as PERTURB_FIGURES_SPECS
from learndyn.perturb.runs import (
    CONTAM_ROOT,
    RUNS_ROOT,
    contaminated_of,
    contamination_job_config,
    contamination_table_config,
    run_names,
    train_job_config,
)
from learndyn.perturb.tables import SPECTRA_RUN_TABLES, data_path, run_table, spectra_table, table_path

validate_study("perturb")


PRT = config["perturb"]
PERTURB_RUNS = run_names(PRT)
PERTURB_ACCELERATOR = study_accelerator(PRT)
PERTURB_KINDS = {name: spec.get("kind", "") for name, spec in PRT["attack"].get("attacks", {}).items()}
PERTURB_FIGURE_RUN = PRT["attack"].get("figure_run", PERTURB_RUNS[0])  # the run of F1's image rows
PRUN = "{pdata}/{pmodel}/s{pseed}"  # one dynamics run, as wildcards
PRUN_DIR = f"{RUNS_ROOT}/{PRUN}"
PERTURB_TABLES = {  # name -> path, or one path per dynamics run: the inputs figures and claims use
    **{t: table_path(t) for t in ("training", "contamination", "contamination_runs", "changepoints")},
    **{t: table_path(t) for t in ("spectra_summary", "spectra_final", "theory_t1", "theory_summary", "kernel_theory")},
    **{t: [run_table(t, r) for r in PERTURB_RUNS] for t in ("attack_summary", "breakpoints", "boundary")},
    "perturbations": run_table("attacks", PERTURB_FIGURE_RUN),
    "images": data_path(PERTURB_FIGURE_RUN.split("/")[0]),
}
PERTURB_CLAIM_TABLES = (
    "training",
    "contamination",
    "contamination_runs",
    "spectra_summary",
    "theory_summary",
    "attack_summary",
    "changepoints",
    "boundary",
)
# figure -> named input tables, as learndyn.perturb.jobs:render_perturb reads them (one source of truth)
PERTURB_FIGURES = {name: list(tables) for name, (_, tables) in PERTURB_FIGURES_SPECS.items()}
PERTURB_FIGURE_CFG = {"dynamics": {"run": PERTURB_FIGURE_RUN, "rows": PRT["attack"].get("figure_rows", 8)}}


STUDY_TARGETS["perturb"] = lambda: [
    "results/perturb/claims.parquet",
    *expand("results/figures/perturb/{figure}.png", figure=PERTURB_FIGURES),
]


rule perturb:
    """Target: the whole perturb study (claims and figures)."""
    input:
        study_targets("perturb"),


rule prepare_perturb_dataset:
    """Load / generate one dataset (deterministic subsets), store it as the perturb.images table."""
    output:
        images=data_path("{pdata}"),
    params:
        func="learndyn.perturb.jobs:prepare_perturb_dataset",
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
        images=data_path("{pdata}"),
    output:
        manifest=f"{PRUN_DIR}/checkpoints.parquet",
        history=f"{PRUN_DIR}/history.parquet",
    params:
        func="learndyn.perturb.jobs:train_perturb",
        cfg=lambda wc: canonical(train_job_config(PRT, f"{wc.pdata}/{wc.pmodel}/s{wc.pseed}")),
        accelerator=PERTURB_ACCELERATOR,
    log:
        f"logs/train_perturb/{PRUN}.log",
    benchmark:
        f"results/benchmarks/train_perturb/{PRUN}.tsv"
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
        table=PERTURB_TABLES["training"],
    params:
        func="learndyn.perturb.jobs:collect_perturb_training",
    log:
        "logs/collect_perturb_training.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


rule train_perturb_contamination:
    """Contamination experiment (adversarial.md, 'Fourier-feature contamination experiment (C4)') for one clean dataset
    and model: every seed on the clean and the contaminated data, same schedule (one job: a process per run would cost
    more than the run)."""
    input:
        clean=data_path("{pdata}"),
        contaminated=lambda wc: [data_path(k) for k in contaminated_of(PRT, wc.pdata)],
    output:
        history=f"{CONTAM_ROOT}/{{pdata}}/{{pmodel}}/history.parquet",
    params:
        func="learndyn.perturb.jobs:train_perturb_contamination",
        cfg=lambda wc: canonical(contamination_job_config(PRT, wc.pdata, wc.pmodel)),
        accelerator=PERTURB_ACCELERATOR,
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
        runs=PERTURB_TABLES["contamination_runs"],
        table=PERTURB_TABLES["contamination"],
    params:
        func="learndyn.perturb.jobs:perturb_contamination_table",
        cfg=canonical(contamination_table_config(PRT)),
    log:
        "logs/perturb_contamination_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


rule attack_checkpoints:
    """Every checkpoint of one run: the configured foolbox attacks and the saliency map on the first
    perturb.attack.n_images training images (adversarial.md, 'Attacks'); perturbations + per-checkpoint summary;
    the distance to the decision boundary (claim R1)."""
    input:
        images=data_path("{pdata}"),
        manifest=f"{PRUN_DIR}/checkpoints.parquet",
        history=f"{PRUN_DIR}/history.parquet",
    output:
        perturbations=run_table("attacks", PRUN),
        summary=run_table("attack_summary", PRUN),
        boundary=run_table("boundary", PRUN),
    params:
        func="learndyn.perturb.jobs:attack_checkpoints",
        cfg=lambda wc: canonical({"run": f"{wc.pdata}/{wc.pmodel}/s{wc.pseed}", "attack": PRT["attack"]}),
    log:
        f"logs/attack_checkpoints/{PRUN}.log",
    benchmark:
        f"results/benchmarks/attack_checkpoints/{PRUN}.tsv"
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
        perturbations=run_table("attacks", PRUN),
        images=data_path("{pdata}"),
        manifest=f"{PRUN_DIR}/checkpoints.parquet",
        history=f"{PRUN_DIR}/history.parquet",
    output:
        breakpoints=run_table("breakpoints", PRUN),
    params:
        func="learndyn.perturb.jobs:analyse_breakpoints",
        cfg=lambda wc: canonical(
            {
                "run": f"{wc.pdata}/{wc.pmodel}/s{wc.pseed}",
                "breakpoints": PRT["breakpoints"],
                "kinds": PERTURB_KINDS,
                "spectra": {k: PRT["spectra"][k] for k in ("r0", "channel_mode") if k in PRT["spectra"]},
            }
        ),
    log:
        f"logs/analyse_breakpoints/{PRUN}.log",
    benchmark:
        f"results/benchmarks/analyse_breakpoints/{PRUN}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=120,
    script:
        "../scripts/run.py"


rule perturb_changepoints:
    """Reading B (reconstruction): hinge change point tau of every series, per run and attack."""
    input:
        breakpoints=PERTURB_TABLES["breakpoints"],
        boundary=PERTURB_TABLES["boundary"],
    output:
        changepoints=PERTURB_TABLES["changepoints"],
    params:
        func="learndyn.perturb.jobs:perturb_changepoints",
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


rule analyse_spectra:
    """Spectral metrics (adversarial.md, 'Frequency analysis') of every perturbation and saliency map of one run, mean
    spectra, radial profiles, and the end-to-end predictor / filter spectra at every attacked checkpoint."""
    input:
        perturbations=run_table("attacks", PRUN),
        images=data_path("{pdata}"),
        manifest=f"{PRUN_DIR}/checkpoints.parquet",
        history=f"{PRUN_DIR}/history.parquet",
    output:
        **{t: spectra_table(PRUN, t) for t in SPECTRA_RUN_TABLES},
    params:
        func="learndyn.perturb.jobs:analyse_spectra",
        cfg=lambda wc: canonical(
            {"run": f"{wc.pdata}/{wc.pmodel}/s{wc.pseed}", "spectra": PRT["spectra"], "kinds": PERTURB_KINDS}
        ),
    log:
        f"logs/analyse_spectra/{PRUN}.log",
    benchmark:
        f"results/benchmarks/analyse_spectra/{PRUN}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/run.py"


rule collect_perturb_spectra:
    """All runs: per-checkpoint means over kept maps (summary) and the final checkpoint's maps."""
    input:
        **{t: [spectra_table(r, t) for r in PERTURB_RUNS] for t in SPECTRA_RUN_TABLES},
    output:
        summary=PERTURB_TABLES["spectra_summary"],
        final=PERTURB_TABLES["spectra_final"],
    params:
        func="learndyn.perturb.jobs:collect_perturb_spectra",
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
    """adversarial.md, 'Theory checks': T1 (Gunasekar 1-D: conv -> Fourier-l1, FC -> SVM), T2 Donoho-Stark,
    T3 lambda_max(K)."""
    output:
        t1=PERTURB_TABLES["theory_t1"],
        summary=PERTURB_TABLES["theory_summary"],
        kernels=PERTURB_TABLES["kernel_theory"],
    params:
        func="learndyn.perturb.jobs:perturb_theory",
        cfg=canonical(PRT["spectra"].get("theory", {})),
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


rule perturb_claims:
    """Claims R1..R6 (adversarial.md, 'Figures and tables') and the training claims, from the tables (verdicts
    computed)."""
    input:
        **{t: PERTURB_TABLES[t] for t in PERTURB_CLAIM_TABLES},
    output:
        claims="results/perturb/claims.parquet",
    params:
        func="learndyn.perturb.jobs:perturb_claims",
        cfg=canonical(PRT.get("claims", {})),
    log:
        "logs/perturb_claims.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/run.py"


for _fig, _tables in PERTURB_FIGURES.items():

    rule:
        name:
            f"render_perturb_{_fig}"
        input:
            **{t: PERTURB_TABLES[t] for t in _tables},
        output:
            figure=report(
                f"results/figures/perturb/{_fig}.png",
                caption=f"../report/perturb/{_fig}.rst",
                category="Study perturb - adversarial perturbations (Ortega Caro et al. 2020)",
            ),
        params:
            func="learndyn.perturb.jobs:render_perturb",
            cfg=canonical({"figure": _fig, **PERTURB_FIGURE_CFG.get(_fig, {})}),
        log:
            f"logs/render_perturb/{_fig}.log",
        threads: 1
        resources:
            mem_mb=2000 if _fig in ("dynamics", "breakpoints") else 1500,
            runtime=10,
        script:
            "../scripts/run.py"
