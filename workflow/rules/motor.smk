# The motor study: SUPERTREX, FORCE and RMHL on motor tasks, and the Parkinson's protocol
# (Pyle & Rosenbaum 2019; spec: shared/papers/motor.md).
# simulate (one job per run = experiment x condition, seeds batched) -> collect -> claims, figures.
from learndyn.figures.motor import FIGURES as MOTOR_FIGURES_SPECS
from learndyn.motor.plan import check_runs, motor_runs

validate_study("motor")
MOTOR = config["motor"]
MOTOR_RUNS = motor_runs(MOTOR)
check_runs(MOTOR_RUNS)
# figure -> named input tables, as learndyn.figures.motor:render reads them (one source of truth)
MOTOR_FIGURES = {name: list(tables) for name, (_, tables) in MOTOR_FIGURES_SPECS.items()}
MOTOR_SIM_CODE = ["motor/experiments.py", "motor/plan.py", "motor/checkpoints.py", "motor/simulate.py",
                  "motor/reservoir.py", "motor/rules.py", "motor/tasks.py", "train/store.py"]
MOTOR_TABLES = {t: f"results/motor/tables/{t}.parquet" for t in ("results", "traces", "summary")}


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


rule simulate_motor:
    """One run: every seed and condition of one (experiment, condition), checkpointed per period."""
    input:
        code=code(*MOTOR_SIM_CODE),
    output:
        manifest="results/motor/runs/{run}/checkpoints.parquet",
        results="results/motor/runs/{run}/results.parquet",
        traces="results/motor/runs/{run}/traces.parquet",
    params:
        func="learndyn.motor.experiments:simulate_run",
        cfg=lambda wc: MOTOR_RUNS[wc.run],
    log:
        "logs/simulate_motor/{run}.log",
    benchmark:
        "results/benchmarks/simulate_motor/{run}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc: 1000 + 9 * len(MOTOR_RUNS[wc.run]["seeds"]) * len(MOTOR_RUNS[wc.run]["conditions"])
        * MOTOR_RUNS[wc.run]["scale"]["N"] ** 2 // 2 ** 20,
        runtime=lambda wc: 30 if MOTOR_RUNS[wc.run]["scale"]["N"] < 1000 else 600,
        gpu=lambda wc: gpus(MOTOR_RUNS[wc.run]["device"]),  # batched torch runs with device: cuda
    script:
        "../scripts/run.py"


rule collect_motor:
    input:
        results=expand("results/motor/runs/{run}/results.parquet", run=MOTOR_RUNS),
        traces=expand("results/motor/runs/{run}/traces.parquet", run=MOTOR_RUNS),
        code=code("motor/experiments.py", "motor/tasks.py"),
    output:
        **MOTOR_TABLES,
    params:
        func="learndyn.motor.experiments:collect",
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
        code=code("motor/claims.py", "claims.py", "motor/tasks.py"),
    output:
        claims="results/motor/claims.parquet",
    params:
        func="learndyn.motor.claims:write_claims",
        cfg={"experiments": MOTOR["experiments"], "scale": MOTOR["scale"], "seed_design": MOTOR["seed_design"]},
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
            code=code("figures/style.py", "figures/motor.py"),
        output:
            figure=report(
                f"results/figures/motor/{_fig}.png",
                caption=f"../report/motor/{_fig}.rst",
                category="motor",
            ),
        params:
            func="learndyn.figures.motor:render",
            cfg={"figure": _fig, "seed_design": MOTOR["seed_design"]},
        log:
            f"logs/render_motor/{_fig}.log",
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        script:
            "../scripts/run.py"
