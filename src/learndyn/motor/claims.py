"""Claims of the motor study (motor.md, 'Parkinson's disease and automaticity protocol' to 'Expected outcomes and where
to check them'), computed from ``results/motor/tables/results``.

Every row goes through :func:`learndyn.claims.claim` with per-seed values; its ``reading`` says
how the spec's wording was read. Success is the replication's criterion (test deviation < 0.5).
Runs that blew up (``completed == False``) are treated by what the claim is about:

- success / failure claims count a blow-up as a failure (the replication does): its deviation
  enters as +inf;
- deviation statistics (medians, paired ratios, correlations) need completed runs: a blow-up is
  no deviation, so it is left out of the statistic and named in ``unconverged`` (inconclusive).

"Succeeds" on a task means every seed succeeds (``all``); "fails on essentially all seeds" is a
share of successes at most 10% among the seeds run (``share``, exact count); plain "fails" means every seed
fails. At reduced scale the spec asserts orderings and the 0.5 threshold only (motor.md, 'Expected outcomes and where to
check them' "CI smoke tests"), never the paper-scale 0.05 bound, which is quoted in the detail. Rows whose runs
are not in the config are "not run". The Parkinson's rows test the spec's reconstruction (motor.md, 'Parkinson's disease
and automaticity protocol'), not published numbers; the Task-3 joint-usage rows test the spec's reconstructed metric
(motor.md, 'Metrics and figures').

The rows are built by family: Tasks 1-3 and automaticity in :mod:`learndyn.motor.task_claims`, Task 3's
joint usage in :mod:`learndyn.motor.joint_usage_claims`, Parkinson's in :mod:`learndyn.motor.parkinsons_claims`.
"""

from __future__ import annotations

import pandas as pd

from learndyn.claims import CLAIMS, claims_frame
from learndyn.io import read_table, write_table
from learndyn.job import Job

from .joint_usage_claims import joint_usage_claims
from .parkinsons_claims import parkinsons_claims
from .tables import RESULTS
from .task_claims import standard_claims


def motor_claims(res: pd.DataFrame, pd_scale: dict | None = None) -> list[dict]:
    sc = pd_scale or {}
    return (
        standard_claims(res)
        + joint_usage_claims(res)
        + parkinsons_claims(res, int(sc.get("n_train", 10)), int(sc.get("n_test", 5)))
    )


def write_claims(job: Job) -> None:
    res = read_table(job.inputs["results"], RESULTS)
    cfg = job.cfg or {}
    pd_cfg = cfg.get("experiments", {}).get("parkinsons") or {}
    rows = motor_claims(res, {**cfg.get("scale", {}), **pd_cfg.get("scale", {})})
    if cfg.get("seed_design") == "shared_j":
        for r in rows:
            r["detail"] += (
                "; seeds share one J per run (reconstruction, motor.md, 'Cost, speed and configurations', technique 7)"
            )
    df = claims_frame(rows)
    write_table(df, job.output("claims"), CLAIMS, job.provenance())
    job.log(f"{len(df)} claims: {df['verdict'].value_counts().to_dict()}")
