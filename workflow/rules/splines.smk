# The splines study: shallow univariate ReLU nets as splines (spec: shared/papers/splines.md).
# prepare -> train (one batched job per sweep x width) -> analyse -> claims -> figures F1-F8.
from learndyn.figures.splines import FIGURES as SPLINE_FIGURE_SPECS
from learndyn.splines.runs import training_groups
from learndyn.splines.tables import DATASET_KEYS, table_path

validate_study("splines")
SPL = config["splines"]
SPLINE_GROUPS = training_groups(SPL)
# figure -> named input tables, as learndyn.splines.jobs:render_splines reads them (one source of truth)
SPLINE_FIGURES = {name: list(tables) for name, (_, tables) in SPLINE_FIGURE_SPECS.items()}


wildcard_constraints:
    dataset="D[1-5]",
    figure="F[0-9]_[a-z_]+",


# `snakemake --lint` says "Mixed rules and functions in same snakefile" here, by design: a study's
# input functions read its own config-derived tables (SPL, SPLINE_GROUPS) and live beside the rules
# that use them, so that a study is found by its name and leaves the DAG with its file (studies are
# included only when listed). tests/workflow/test_conventions.py accepts exactly this finding.
def splines_table(name):
    """Path of a splines table by the name figures and claims use (learndyn.splines.tables)."""
    return table_path(name, SPL["sweeps"])


STUDY_TARGETS["splines"] = lambda: [
    "results/splines/claims.parquet",
    *expand("results/figures/splines/{figure}.png", figure=SPLINE_FIGURES),
]


rule splines:
    """Target: the whole splines study (claims and figures)."""
    input:
        study_targets("splines"),


rule prepare_splines_dataset:
    output:
        dataset="results/splines/data/{dataset}.parquet",
    params:
        func="learndyn.splines.jobs:prepare_splines_dataset",
        cfg=lambda wc: canonical({k: SPL["data"][k] for k in DATASET_KEYS[wc.dataset]}),
    log:
        "logs/prepare_splines_dataset/{dataset}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


rule collect_splines_datasets:
    """All data sets in one table, for the figures."""
    input:
        datasets=expand("results/splines/data/{dataset}.parquet", dataset=DATASET_KEYS),
    output:
        datasets="results/splines/data/datasets.parquet",
    params:
        func="learndyn.splines.jobs:collect_splines_datasets",
    log:
        "logs/collect_splines_datasets.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


rule train_splines:
    input:
        dataset=lambda wc: f"results/splines/data/{SPLINE_GROUPS[wc.group]['dataset']}.parquet",
    output:
        manifest="results/splines/runs/{group}/checkpoints.parquet",
        runs="results/splines/runs/{group}/runs.parquet",
    params:
        func="learndyn.splines.jobs:train_splines",
        cfg=lambda wc: canonical(SPLINE_GROUPS[wc.group]),
    log:
        "logs/train_splines/{group}.log",
    benchmark:
        "results/benchmarks/train_splines/{group}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/run.py"


rule analyse_splines_group:
    input:
        manifest="results/splines/runs/{group}/checkpoints.parquet",
        runs="results/splines/runs/{group}/runs.parquet",
        dataset=lambda wc: f"results/splines/data/{SPLINE_GROUPS[wc.group]['dataset']}.parquet",
    output:
        trajectory="results/splines/tables/groups/{group}/trajectory.parquet",
        metrics="results/splines/tables/groups/{group}/metrics.parquet",
    params:
        func="learndyn.splines.jobs:analyse_splines_group",
    log:
        "logs/analyse_splines_group/{group}.log",
    benchmark:
        "results/benchmarks/analyse_splines_group/{group}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/run.py"


rule collect_splines_metrics:
    input:
        metrics=expand("results/splines/tables/groups/{group}/metrics.parquet", group=SPLINE_GROUPS),
    output:
        table="results/splines/tables/implicit_regularisation.parquet",
    params:
        func="learndyn.splines.jobs:collect_splines_metrics",
    log:
        "logs/collect_splines_metrics.log",
    benchmark:
        "results/benchmarks/collect_splines_metrics/all.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


rule analyse_splines_init:
    """Breakpoint laws (F2) and flatness of initial functions (F3): no training needed."""
    input:
        dataset="results/splines/data/D1.parquet",
    output:
        breakpoint_laws="results/splines/tables/breakpoint_laws.parquet",
        breakpoint_histograms="results/splines/tables/breakpoint_histograms.parquet",
        flatness="results/splines/tables/flatness.parquet",
        flat_functions="results/splines/tables/flat_functions.parquet",
    params:
        func="learndyn.splines.jobs:analyse_splines_init",
        cfg=canonical({"init_laws": SPL["init_laws"], "flatness": SPL["flatness"]}),
    log:
        "logs/analyse_splines_init.log",
    benchmark:
        "results/benchmarks/analyse_splines_init/all.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/run.py"


rule analyse_splines_landscape:
    """Loss-surface slices (F4) and Hessian spectra in spline vs network coordinates (F5)."""
    input:
        dataset="results/splines/data/D3.parquet",
    output:
        loss_slices="results/splines/tables/loss_slices.parquet",
        loss_slice_checks="results/splines/tables/loss_slice_checks.parquet",
        hessian_spectra="results/splines/tables/hessian_spectra.parquet",
        hessian_checks="results/splines/tables/hessian_checks.parquet",
    params:
        func="learndyn.splines.jobs:analyse_splines_landscape",
        cfg=canonical(SPL["landscape"]),
    log:
        "logs/analyse_splines_landscape.log",
    benchmark:
        "results/benchmarks/analyse_splines_landscape/all.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/run.py"


rule splines_claims:
    input:
        implicit_regularisation=splines_table("implicit_regularisation"),
        breakpoint_laws=splines_table("breakpoint_laws"),
        flatness=splines_table("flatness"),
        hessian_checks=splines_table("hessian_checks"),
        loss_slice_checks=splines_table("loss_slice_checks"),
        trajectory_presets=splines_table("trajectory_presets"),
        datasets=splines_table("datasets"),
    output:
        claims="results/splines/claims.parquet",
    params:
        func="learndyn.splines.jobs:splines_claims",
    log:
        "logs/splines_claims.log",
    benchmark:
        "results/benchmarks/splines_claims/all.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/run.py"


for _fig, _tables in SPLINE_FIGURES.items():

    rule:
        name:
            f"render_splines_{_fig}"
        input:
            **{t: splines_table(t) for t in _tables},
        output:
            figure=report(
                f"results/figures/splines/{_fig}.png",
                caption=f"../report/splines/{_fig}.rst",
                category="Study splines - ReLU nets as splines (Sahs et al. 2022)",
            ),
        params:
            func="learndyn.splines.jobs:render_splines",
            cfg=canonical({"figure": _fig}),
        log:
            f"logs/render_splines/{_fig}.log",
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        script:
            "../scripts/run.py"
