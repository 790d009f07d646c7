# The kernel study: pseudo-kernel prediction of representations and multitasking
# (spec: shared/papers/pseudo_kernel.md). prepare (per run) -> train (paired Std/Large, single-task
# phase then multitask fine-tuning, Lightning) -> analyse (per run) -> collect + correlations ->
# claims -> figures A-K; the validation cases (one-step identity, SMG linear net) are own jobs.
# Beyond the paper: the init-scale sweep (extra nets in one schedule's runs; Fig. L) and the
# pseudo-kernel of the splines study's nets vs their regime (only with splines in studies; Fig. M).
from learndyn.figures.kernel import FIGURES as KERNEL_FIGURES_SPECS
from learndyn.kernel.runs import run_config, run_names

validate_study("kernel")


KER = config["kernel"]
KERNEL_RUNS = run_names(KER)
KERNEL_ARI_RUN = f"{KER['ari']['schedule']}-r0"  # the run shown in Figs. G and I
KT = "results/kernel/tables"
KERNEL_TABLES = {  # name -> path, the inputs figures and claims use
    "runs": f"{KT}/runs.parquet",
    "curves": f"{KT}/curves.parquet",
    "ari": f"{KT}/ari.parquet",
    "sweep": f"{KT}/sweep.parquet",
    "sweep_curves": f"{KT}/sweep_curves.parquet",
    "sweep_stats": f"{KT}/sweep_stats.parquet",
    "correlations": f"{KT}/correlations.parquet",
    "relu1d": f"{KT}/relu1d.parquet",
    "onestep": f"{KT}/onestep.parquet",
    "smg_track": f"{KT}/smg_track.parquet",
    "smg_kernel_sv": f"{KT}/smg_kernel_sv.parquet",
    "smg_sv_modes": f"{KT}/smg_sv_modes.parquet",
    "smg_marked": f"{KT}/smg_marked.parquet",
    "smg_corr": f"{KT}/smg_corr.parquet",
    "smg_summary": f"{KT}/smg_summary.parquet",
    "embedding": f"{KT}/runs/{KERNEL_ARI_RUN}/embedding.parquet",
    "eigvec": f"{KT}/runs/{KERNEL_ARI_RUN}/eigvec.parquet",
    "groups": f"{KT}/runs/{KERNEL_ARI_RUN}/groups.parquet",
}
# The pseudo-kernel of the splines study's nets vs their regime reads the splines study's tables: it
# (its claims rows and figure M) is part of the DAG only when both studies are.
KERNEL_SPLINES = "splines" in config["studies"]
if KERNEL_SPLINES:
    _unknown = [s for s in KER["splines_regime"]["pool"] if s not in config["splines"]["sweeps"]]
    if _unknown:
        raise WorkflowError(
            f"invalid config section 'kernel':\n  kernel.splines_regime.pool: {_unknown} are not "
            f"splines sweeps (have {sorted(config['splines']['sweeps'])})"
        )
    KERNEL_TABLES.update(
        splines_regime=f"{KT}/splines_regime.parquet", splines_regime_stats=f"{KT}/splines_regime_stats.parquet"
    )
# figure -> named input tables, as learndyn.kernel.jobs:render_kernel reads them (one source of truth)
KERNEL_FIGURES = {
    name: list(tables) for name, (_, tables) in KERNEL_FIGURES_SPECS.items() if all(t in KERNEL_TABLES for t in tables)
}
KERNEL_RUN_RE = "(LR|ET)-r[0-9]+"
KERNEL_RUN_OUT = ["summary", "eigvec", "groups", "hidden", "embedding", "ari"]


STUDY_TARGETS["kernel"] = lambda: [
    "results/kernel/claims.parquet",
    *expand("results/figures/kernel/{figure}.png", figure=KERNEL_FIGURES),
]


rule kernel:
    """Target: the whole kernel study (claims and figures)."""
    input:
        study_targets("kernel"),


rule prepare_kernel_data:
    """The multitask environment of one run: Single12All and Multi12All train/test sets."""
    output:
        datasets="results/kernel/data/{krun}.parquet",
    params:
        func="learndyn.kernel.jobs:prepare_kernel_data",
        cfg=canonical({"seed": KER["seed"], "data": KER["data"]}),
    wildcard_constraints:
        krun=KERNEL_RUN_RE,
    log:
        "logs/prepare_kernel_data/{krun}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


rule train_kernel:
    """Paired Std/Large nets (+ the init-scale sweep's nets in its schedule's runs): single-task phase then
    multitask fine-tuning, snapshots as breakpoints."""
    input:
        datasets="results/kernel/data/{krun}.parquet",
    output:
        manifest="results/kernel/runs/{krun}/checkpoints.parquet",
        curves="results/kernel/runs/{krun}/curves.parquet",
    params:
        func="learndyn.kernel.jobs:train_kernel",
        cfg=lambda wc: canonical(run_config(KER, wc.krun)),
        accelerator=ACCELERATOR,
    wildcard_constraints:
        krun=KERNEL_RUN_RE,
    log:
        "logs/train_kernel/{krun}.log",
    benchmark:
        "results/benchmarks/train_kernel/{krun}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
        gpu=gpus(),
    script:
        "../scripts/run.py"


rule analyse_kernel_run:
    """t = 0 pseudo-kernel structure, hidden representations, PCA embedding, ARI, final losses."""
    input:
        manifest="results/kernel/runs/{krun}/checkpoints.parquet",
        curves="results/kernel/runs/{krun}/curves.parquet",
        datasets="results/kernel/data/{krun}.parquet",
    output:
        **{name: f"{KT}/runs/{{krun}}/{name}.parquet" for name in KERNEL_RUN_OUT},
    params:
        func="learndyn.kernel.jobs:analyse_kernel_run",
        cfg=lambda wc: canonical({**run_config(KER, wc.krun), "analysis": KER["analysis"]}),
    wildcard_constraints:
        krun=KERNEL_RUN_RE,
    log:
        "logs/analyse_kernel_run/{krun}.log",
    benchmark:
        "results/benchmarks/analyse_kernel_run/{krun}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/run.py"


rule collect_kernel_runs:
    """Pooled run tables and the Pearson correlations across runs (pooled, per schedule, paired);
    the init-scale sweep's nets and its Spearman statistics (beyond the paper)."""
    input:
        summary=expand(f"{KT}/runs/{{krun}}/summary.parquet", krun=KERNEL_RUNS),
        curves=expand("results/kernel/runs/{krun}/curves.parquet", krun=KERNEL_RUNS),
        ari=expand(f"{KT}/runs/{{krun}}/ari.parquet", krun=KERNEL_RUNS),
    output:
        runs=KERNEL_TABLES["runs"],
        curves=KERNEL_TABLES["curves"],
        ari=KERNEL_TABLES["ari"],
        correlations=KERNEL_TABLES["correlations"],
        sweep=KERNEL_TABLES["sweep"],
        sweep_curves=KERNEL_TABLES["sweep_curves"],
        sweep_stats=KERNEL_TABLES["sweep_stats"],
    params:
        func="learndyn.kernel.jobs:collect_kernel_runs",
        cfg=canonical(KER["stats"]),
    log:
        "logs/collect_kernel_runs.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


rule kernel_onestep:
    """One-step identity: 1-D ReLU net (Fig. A) and the multitask net, error vs learning rate."""
    output:
        relu1d=KERNEL_TABLES["relu1d"],
        errors=KERNEL_TABLES["onestep"],
    params:
        func="learndyn.kernel.jobs:kernel_onestep",
        cfg=canonical(KER["onestep"]),
    log:
        "logs/kernel_onestep.log",
    benchmark:
        "results/benchmarks/kernel_onestep/all.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/run.py"


rule kernel_linear:
    """Saxe-McClelland-Ganguli linear net: mode half-times, predicted-update tracking (Figs. B-D)."""
    output:
        track=KERNEL_TABLES["smg_track"],
        kernel_sv=KERNEL_TABLES["smg_kernel_sv"],
        sv_modes=KERNEL_TABLES["smg_sv_modes"],
        marked=KERNEL_TABLES["smg_marked"],
        corr=KERNEL_TABLES["smg_corr"],
        summary=KERNEL_TABLES["smg_summary"],
    params:
        func="learndyn.kernel.jobs:kernel_linear",
        cfg=canonical(KER["linear"]),
    log:
        "logs/kernel_linear.log",
    benchmark:
        "results/benchmarks/kernel_linear/all.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/run.py"


if KERNEL_SPLINES:
    from learndyn.splines.runs import training_groups as _splines_groups

    rule kernel_splines_regime:
        """t = 0 pseudo-kernel of the splines study's shallow ReLU nets vs their measured lazy/rich regime."""
        input:
            metrics="results/splines/tables/implicit_regularisation.parquet",
            datasets="results/splines/data/datasets.parquet",
        output:
            regime=KERNEL_TABLES["splines_regime"],
            stats=KERNEL_TABLES["splines_regime_stats"],
        params:
            func="learndyn.kernel.jobs:kernel_splines_regime",
            # the inits only: training keys reach this job through the metrics table
            cfg=canonical(
                {
                    "regime": KER["splines_regime"],
                    "groups": {
                        g: {k: v for k, v in spec.items() if k != "train"}
                        for g, spec in _splines_groups(config["splines"]).items()
                    },
                }
            ),
        log:
            "logs/kernel_splines_regime.log",
        benchmark:
            "results/benchmarks/kernel_splines_regime/all.tsv"
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        script:
            "../scripts/run.py"


rule kernel_claims:
    input:
        **{
            t: KERNEL_TABLES[t]
            for t in (
                "runs",
                "ari",
                "correlations",
                "onestep",
                "smg_summary",
                "smg_track",
                "smg_corr",
                "sweep",
                "sweep_stats",
                "splines_regime",
                "splines_regime_stats",
            )
            if t in KERNEL_TABLES
        },
    output:
        claims="results/kernel/claims.parquet",
    params:
        func="learndyn.kernel.jobs:kernel_claims",
        cfg=canonical(
            {"claims": KER["claims"], "ari": KER["ari"], "splines_regime_pool": KER["splines_regime"]["pool"]}
        ),
    log:
        "logs/kernel_claims.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


for _fig, _tables in KERNEL_FIGURES.items():

    rule:
        name:
            f"render_kernel_{_fig}"
        input:
            **{t: KERNEL_TABLES[t] for t in _tables},
        output:
            figure=report(
                f"results/figures/kernel/{_fig}.png",
                caption=f"../report/kernel/{_fig}.rst",
                category="Study kernel - pseudo-kernel (Pyle et al. 2023)",
            ),
        params:
            func="learndyn.kernel.jobs:render_kernel",
            cfg=canonical({"figure": _fig, "ari": KER["ari"], "embedding": "pca"}),
        log:
            f"logs/render_kernel/{_fig}.log",
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        script:
            "../scripts/run.py"
