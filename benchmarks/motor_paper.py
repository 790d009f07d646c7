"""Paper-scale motor runs on a many-core machine without Snakemake (e.g. a GPU node's CPUs).

Runs the same jobs as the DAG's ``simulate_motor`` rule (one per run and group, i.e. per seed
under ``seed_design: per_seed``) through :func:`learndyn.motor.experiments.simulate_run` in a
process pool, one BLAS thread each, then ``collect`` and the claims, in the DAG's layout under
``--results``. Jobs are ordered run by run, so a time limit leaves whole runs behind it.

    python benchmarks/motor_paper.py --config config/paper.yaml --runs 'task3-supertrex-.*,task3-.*' --jobs 16
    python benchmarks/motor_paper.py --collect-only        # claims from what has finished

The pipeline remains the way to reproduce (``snakemake --configfile config/paper.yaml motor``);
this is for a machine that has the cores but not the workflow manager.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import yaml  # noqa: E402

from learndyn.job import Job  # noqa: E402
from learndyn.motor.plan import check_runs, group_configs, motor_runs  # noqa: E402


def _paths(results: Path, run: str, group: str) -> dict:
    d = results / "motor" / "runs" / run / group
    return {k: str(d / f"{k}.parquet") for k in ("checkpoints", "results", "traces")}


def _simulate(results: Path, run: str, group: str, cfg: dict) -> tuple[str, str, float]:
    from learndyn.motor.experiments import simulate_run

    out = _paths(results, run, group)
    t0 = time.perf_counter()
    log = results / "logs" / f"{run}.{group}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        sys.stdout = sys.stderr = fh
        simulate_run(
            Job(
                "simulate_motor",
                {},
                {"manifest": out["checkpoints"], "results": out["results"], "traces": out["traces"]},
                cfg,
                {"run": run, "seedgroup": group},
            )
        )
    return run, group, time.perf_counter() - t0


def _collect(results: Path, section: dict) -> None:
    import pandas as pd

    from learndyn.motor.claims import write_claims
    from learndyn.motor.jobs import collect_motor as collect

    done = sorted(results.glob("motor/runs/*/*/results.parquet"))
    if not done:
        sys.exit(f"no finished runs under {results}/motor/runs")
    tables = {t: str(results / "motor" / "tables" / f"{t}.parquet") for t in ("results", "traces", "summary")}
    collect(
        Job(
            "collect_motor",
            {"results": [str(p) for p in done], "traces": [str(p.with_name("traces.parquet")) for p in done]},
            tables,
        )
    )
    claims = str(results / "motor" / "claims.parquet")
    write_claims(
        Job(
            "motor_claims",
            {"results": tables["results"]},
            {"claims": claims},
            {"experiments": section["experiments"], "scale": section["scale"], "seed_design": section["seed_design"]},
        )
    )
    summ = pd.read_parquet(tables["summary"])
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.max_colwidth", 60):
        print(summ[["run", "condition", "n", "n_completed", "mean", "median", "success_fraction"]].to_string())
        cl = pd.read_parquet(claims)
        print(cl[["claim_id", "value", "direction", "threshold", "seeds", "verdict"]].to_string())
        for r in cl.itertuples():
            print(f"{r.claim_id}: {r.detail}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="config/paper.yaml")
    ap.add_argument(
        "--runs",
        default=".*",
        help="comma-separated regular expressions on run names (full "
        "match); jobs start in the order of the first pattern each run matches",
    )
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--results", default="results")
    ap.add_argument("--collect-only", action="store_true")
    a = ap.parse_args()
    section = (yaml.safe_load(Path(a.config).read_text()) or {}).get("motor")
    if not isinstance(section, dict):
        sys.exit(f"{a.config}: no 'motor' section")
    specs = motor_runs(section)
    check_runs(specs)  # the DAG's parse-time checks, before any work
    results = Path(a.results)
    if not a.collect_only:
        pats = [re.compile(p) for p in a.runs.split(",")]
        rank = {run: min((i for i, p in enumerate(pats) if p.fullmatch(run)), default=None) for run in specs}
        runs = sorted((r for r in rank if rank[r] is not None), key=rank.get)
        if not runs:
            sys.exit(f"--runs {a.runs!r} matches none of the config's runs: {', '.join(specs)}")
        todo = [
            (run, g, cfg)
            for run in runs
            for g, cfg in group_configs(specs[run]).items()
            if not Path(_paths(results, run, g)["results"]).exists()
        ]
        print(f"{len(todo)} jobs on {a.jobs} processes", flush=True)
        t0 = time.perf_counter()
        with ProcessPoolExecutor(a.jobs) as pool:
            futs = [pool.submit(_simulate, results, *job) for job in todo]
            for n, fut in enumerate(as_completed(futs), 1):
                run, group, sec = fut.result()
                print(f"[{time.perf_counter() - t0:6.0f}s] {n}/{len(todo)} {run} {group}: {sec:.0f} s", flush=True)
    _collect(results, section)


if __name__ == "__main__":
    main()
