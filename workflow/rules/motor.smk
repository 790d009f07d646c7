# The motor study: SUPERTREX, FORCE and RMHL on motor tasks, and the Parkinson's protocol
# (Pyle & Rosenbaum 2019; spec: shared/papers/motor.md).
# simulate (one job per run x seedgroup: a run = experiment x condition, a seedgroup = the seeds sharing a J,
# i.e. one seed under seed_design per_seed, so adding a seed runs only that seed's jobs)
# -> collect -> claims, figures.
from learndyn.figures.motor import FIGURES as MOTOR_FIGURES_SPECS
from learndyn.motor.plan import group_configs, motor_runs
from learndyn.motor.tables import SCHEMAS as MOTOR_TABLE_SCHEMAS, table_path as motor_table_path

validate_study("motor")
MOTOR = config["motor"]
MOTOR_RUNS = motor_runs(MOTOR)
# (run, group) -> the config of that job alone (seeds of other groups are not part of it)
MOTOR_JOBS = {(run, group): cfg for run, r in MOTOR_RUNS.items() for group, cfg in group_configs(r).items()}
MOTOR_GROUP_DIR = "results/motor/runs/{run}/{seedgroup}"
# figure -> named input tables, as learndyn.motor.jobs:render_motor reads them (one source of truth)
MOTOR_FIGURES = {name: list(tables) for name, (_, tables) in MOTOR_FIGURES_SPECS.items()}
MOTOR_TABLES = {t: motor_table_path(t) for t in MOTOR_TABLE_SCHEMAS}


wildcard_constraints:
    run="[a-z0-9_]+(-[a-z0-9_]+)*",


STUDY_TARGETS["motor"] = lambda: [
    "results/motor/claims.parquet",
    *expand("results/figures/motor/{figure}.png", figure=MOTOR_FIGURES),
]


rule motor:
    """Target: the whole motor study (claims and figures)."""
    input:
        study_targets("motor"),


# `snakemake --lint` says "Mixed rules and functions in same snakefile" here, by design: a study's
# input functions read its own config-derived tables (MOTOR_JOBS, MOTOR_GROUP_DIR) and live beside the rules
# that use them, so that a study is found by its name and leaves the DAG with its file (studies are
# included only when listed). tests/workflow/test_conventions.py accepts exactly this finding.
def motor_job(wc):
    return MOTOR_JOBS[(wc.run, wc.seedgroup)]


def motor_group_files(table):
    return [f"{MOTOR_GROUP_DIR}/{table}.parquet".format(run=r, seedgroup=g) for r, g in MOTOR_JOBS]


rule simulate_motor:
    """One group of a run: its seeds (one, or every seed sharing a J) with all the run's
    conditions, checkpointed per period."""
    output:
        manifest=f"{MOTOR_GROUP_DIR}/checkpoints.parquet",
        results=f"{MOTOR_GROUP_DIR}/results.parquet",
        traces=f"{MOTOR_GROUP_DIR}/traces.parquet",
    params:
        func="learndyn.motor.jobs:simulate_motor",
        cfg=lambda wc: canonical(motor_job(wc)),
    log:
        "logs/simulate_motor/{run}/{seedgroup}.log",
    benchmark:
        "results/benchmarks/simulate_motor/{run}/{seedgroup}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc: 1000
        + 9
        * len(motor_job(wc)["seeds"])
        * len(motor_job(wc)["conditions"])
        * motor_job(wc)["scale"]["N"] ** 2
        // 2**20,
        runtime=lambda wc: 30 if motor_job(wc)["scale"]["N"] < 1000 else 600,
        gpu=lambda wc: gpus(motor_job(wc)["device"]),  # batched torch runs with device: cuda
    script:
        "../scripts/run.py"


rule collect_motor:
    input:
        results=motor_group_files("results"),
        traces=motor_group_files("traces"),
    output:
        **MOTOR_TABLES,
    params:
        func="learndyn.motor.jobs:collect_motor",
    log:
        "logs/collect_motor.log",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=5,
    script:
        "../scripts/run.py"


rule motor_claims:
    input:
        results=MOTOR_TABLES["results"],
    output:
        claims="results/motor/claims.parquet",
    params:
        func="learndyn.motor.jobs:motor_claims",
        cfg=canonical(
            {"experiments": MOTOR["experiments"], "scale": MOTOR["scale"], "seed_design": MOTOR["seed_design"]}
        ),
    log:
        "logs/motor_claims.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"


for _fig, _tables in MOTOR_FIGURES.items():

    rule:
        name:
            f"render_motor_{_fig}"
        input:
            **{t: MOTOR_TABLES[t] for t in _tables},
        output:
            figure=report(
                f"results/figures/motor/{_fig}.png",
                caption=f"../report/motor/{_fig}.rst",
                category="Study motor - SUPERTREX, FORCE, RMHL (Pyle and Rosenbaum 2019)",
            ),
        params:
            func="learndyn.motor.jobs:render_motor",
            cfg=canonical({"figure": _fig, "seed_design": MOTOR["seed_design"]}),
        log:
            f"logs/render_motor/{_fig}.log",
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        script:
            "../scripts/run.py"
