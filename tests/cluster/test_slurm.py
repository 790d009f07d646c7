"""The smoke DAG through workflow/profiles/slurm on a real SLURM, compared with the local run.

By default a slice of the smoke DAG runs on SLURM, to keep `make test` short: per landed study
one chain from data to trained checkpoints (splines: data set -> training -> analysis of one
group; kernel: one run's environment -> training; motor: one simulation; perturb: one data set
-> one training run), all submitted at once.  LEARNDYN_SLURM_FULL=1 runs the whole smoke DAG
instead.  Either way every table the SLURM run wrote must equal the local smoke run's
(contents; provenance metadata aside).
"""

from __future__ import annotations

import os
import re
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from cli import command, copy_run, run
from measure import note
from smk import REPO, write_config
from tables import table_differences, tables

pytestmark = pytest.mark.workflow
PROFILE_DIR = REPO / "workflow" / "profiles" / "slurm"
FULL = os.environ.get("LEARNDYN_SLURM_FULL") == "1"
SLICES = {  # study -> the targets of its slice (see the module docstring)
    "splines": [
        "results/splines/tables/groups/width-H10/trajectory.parquet",
        "results/splines/tables/groups/width-H10/metrics.parquet",
    ],
    "kernel": ["results/kernel/runs/LR-r0/checkpoints.parquet"],
    "motor": ["results/motor/runs/task1-supertrex-scripts/shared/results.parquet"],
    "perturb": ["results/perturb/runs/fmnist/linear/s0/checkpoints.parquet"],
}
SMOKE_STUDIES = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())["studies"]
SLICE = [t for study in SMOKE_STUDIES for t in SLICES.get(study, [])]


def slurm_command(work, cfg, targets):
    # the profile as a user runs it; only the first status check comes sooner (a test cluster
    # answers at once; the profile's 20 s suits a busy production controller)
    return command(
        work, cfg, targets, "--workflow-profile", str(PROFILE_DIR), "--slurm-init-seconds-before-status-checks", "2"
    )


@pytest.fixture(scope="module")
def slurm_run(smoke_run, cluster, tmp_path_factory):
    work = tmp_path_factory.mktemp("slurm")
    cfg = write_config(work / "slurm.yaml")  # the smoke config itself: tables comparable one to one
    t0 = time.monotonic()
    done = run(slurm_command(work, cfg, [] if FULL else SLICE), timeout=1800 if FULL else 600, env=cluster.env)
    wall = time.monotonic() - t0
    return work, cfg, wall, cluster.jobs(), done.stdout


def test_smoke_dag_on_slurm_equals_local_run(slurm_run, smoke_run):
    work, _, wall, jobs, out = slurm_run
    ref, _ = smoke_run
    submitted = len(re.findall(r"has been submitted with SLURM jobid", out))
    assert submitted == len(jobs) > 0
    assert {j["state"] for j in jobs} == {"COMPLETED"}, jobs
    written = sorted(tables(work))
    assert written and all(t in written for t in ([] if FULL else SLICE))
    assert table_differences(ref, work, only=written) == []
    note(
        f"[cluster] {'full' if FULL else 'slice of the'} smoke DAG on SLURM ({', '.join(SMOKE_STUDIES)}): "
        f"{submitted} jobs submitted (sacct: {len(jobs)} COMPLETED), wall {wall:.0f} s, "
        f"{len(written)} tables identical to the local run"
    )


def test_failing_job_is_retried_per_profile_then_stops_the_dag(cluster, slurm_run, tmp_path):
    work = copy_run(slurm_run[0], tmp_path / "work")
    cfg = slurm_run[1]
    broken = "results/splines/runs/width-H10/runs.parquet"  # input of the analysis job only
    pq.write_table(pa.table({"a": [1]}), work / broken)
    known = {j["id"] for j in cluster.jobs()}
    # one retry instead of the profile's `retries: 2` (each SLURM round trip costs ~30-60 s on a
    # 2-core runner); tests/faults checks the profile's own count on the local executor
    retries = 1
    done = run(
        [*slurm_command(work, cfg, SLICES["splines"][1:]), "--retries", str(retries)],
        timeout=600,
        env=cluster.env,
        check=False,
    )
    assert done.returncode != 0
    new = [j for j in cluster.jobs() if j["id"] not in known]
    assert len(new) == 1 + retries and {j["state"] for j in new} == {"FAILED"}, (new, done.stdout[-3000:])
    log = "logs/analyse_splines_group/width-H10.log"
    assert log in done.stdout, done.stdout[-3000:]
    assert broken in (work / log).read_text()
    note(
        f"[cluster] failing job: {len(new)} SLURM submissions (1 + {retries} retry), all FAILED in "
        f"sacct, then the DAG stopped naming {log}"
    )
