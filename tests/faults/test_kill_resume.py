"""Faults on the real DAG: SIGKILL mid-run, rerun, retries, a job that keeps failing.

Each test works on a copy of the shared smoke run (``smoke_run``, built with ``--cores 2``):
it deletes a sub-DAG (see conftest.FAULT_CASES), rebuilds it through the snakemake CLI with
``--cores 1`` and compares every table with the smoke run's.  So the same check also shows
"same config twice -> identical tables" and "--cores 1 == --cores 2".
"""

from __future__ import annotations

import math
import re
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from cli import command, copy_run, kill_group, mtimes, run, start, wait_for
from learndyn.train import resume_step
from measure import note
from smk import REPO
from tables import table_differences

pytestmark = pytest.mark.workflow
PROFILE = yaml.safe_load((REPO / "workflow/profiles/slurm/profile.yaml").read_text())


def _steps(ckpt_dir: Path, case) -> list[int]:
    """Steps (or periods) of the checkpoints on disk, by the study's file-name pattern."""
    pattern = re.compile(f"^{case['ckpt_file']}$")
    return sorted(int(m.group(1)) for p in ckpt_dir.glob("*") if (m := pattern.match(p.name)))


def _ckpt(ckpt_dir: Path, case, step: int) -> Path:
    name = case["ckpt_file"].replace(r"(\d+)", str(step)).replace("\\", "")
    return ckpt_dir / name


def _remove(work: Path, paths) -> None:
    for rel in paths:
        p = work / rel
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)


def test_sigkill_mid_dag_resumes_training_and_redoes_only_missing_work(
    smoke_run, tmp_path, study, case, record_property
):
    if "kill_skip" in case:
        pytest.skip(case["kill_skip"])
    ref, cfg = smoke_run
    work = copy_run(ref, tmp_path / "work")
    _remove(work, case["remove"])
    if "periods" in case:  # a finished run keeps no checkpoint (keep: none): the schedule is every period
        ref_steps = list(range(1, case["periods"] + 1))
    else:
        ref_steps = _steps(ref / case["ckpt_dir"], case)
    penultimate = ref_steps[-2]
    ckpt_dir = work / case["ckpt_dir"]

    # 1. kill snakemake and its running training job (the whole process group) once the
    #    penultimate breakpoint's checkpoint is on disk
    proc = start(command(work, cfg, [case["target"]], "--cores", "1"))
    reached = wait_for(lambda: _ckpt(ckpt_dir, case, penultimate).exists(), proc, timeout=300)
    killed_at = time.time()
    kill_group(proc)
    out = proc.stdout.read()
    assert reached, f"the DAG ended before the kill (training too fast to interrupt?):\n{out[-3000:]}"
    killed_with = _steps(ckpt_dir, case)
    assert len(killed_with) >= (2 if case["keeps_all"] else 1) and killed_with[-1] < ref_steps[-1], killed_with
    assert not (work / case["target"]).exists(), "the killed DAG must not have finished"
    # the newest state: the resume file's breakpoint (it may be one the retention policy does not keep)
    resume_from = resume_step(ckpt_dir) if "resume_file" in case else killed_with[-1]

    # 2. rerun (after --unlock, as a user would): only the missing jobs run, training resumes
    run(command(work, cfg, [case["target"]], "--unlock"), timeout=120)
    before = mtimes(work)
    saved = {s: _ckpt(ckpt_dir, case, s).stat().st_mtime_ns for s in killed_with}
    rerun = run(command(work, cfg, [case["target"]], "--cores", "1"), timeout=600)
    after = mtimes(work)
    touched = {k for k in after if before.get(k) != after[k]}
    ckpt_rel = case["ckpt_dir"] + "/"
    redone = {k for k in touched if k in before and k != case["target"] and not k.startswith(ckpt_rel)}
    assert not redone, f"finished work was redone: {sorted(redone)}"
    if case["keeps_all"]:  # (a keep-last job deletes them by design once newer ones exist)
        assert all(_ckpt(ckpt_dir, case, s).stat().st_mtime_ns == t for s, t in saved.items()), (
            "checkpoints saved before the kill were rewritten"
        )
    if "periods" in case:  # retention: the resume state is gone once the manifest is written
        assert _steps(ckpt_dir, case) == [] == _steps(ref / case["ckpt_dir"], case)
    log = (work / case["train_log"]).read_text()
    resumed = [int(s) for s in re.findall(case["resume_line"], log)]
    assert resumed == [resume_from], f"expected one resume from step {resume_from}:\n{log[-2000:]}"

    # 3. the rebuilt tables equal the uninterrupted smoke run's (contents, not provenance)
    assert table_differences(ref, work) == []

    # resume cost: the kill landed after `resumed` and before the next breakpoint, so at most
    # one breakpoint interval of training was done twice
    nxt = next(s for s in ref_steps if s > resumed[0])
    redone_bound = (nxt - resumed[0]) / ref_steps[-1]
    # estimate of the steps actually trained twice: time from that checkpoint to the kill, at the
    # step rate the uninterrupted run had over the same interval
    redone_est = float("nan")
    if case["keeps_all"] and resumed[0] in ref_steps:
        ref_t = {s: _ckpt(ref / case["ckpt_dir"], case, s).stat().st_mtime for s in (resumed[0], nxt)}
        rate = (nxt - resumed[0]) / max(ref_t[nxt] - ref_t[resumed[0]], 1e-6)
        since = killed_at - saved[resumed[0]] / 1e9
        redone_est = min(nxt - resumed[0], rate * since) / ref_steps[-1]
    record_property("resumed_from_step", resumed[0])
    record_property("redone_fraction_max", round(redone_bound, 3))
    rules = sorted(set(re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", rerun.stdout))) or "?"
    est = f"~{redone_est:.1%}" if not math.isnan(redone_est) else "(no timing: keep-last checkpoints)"
    note(
        f"[faults/{study}] killed after step {resume_from} of {ref_steps[-1]}; resumed from it; "
        f"training redone {est} of the run (bound: one breakpoint interval, "
        f"{redone_bound:.1%}, next breakpoint {nxt}); rules rerun: {rules}"
    )


def test_job_that_keeps_failing_is_retried_then_stops_the_dag_naming_its_log(smoke_run, tmp_path, case):
    ref, cfg = smoke_run
    work = copy_run(ref, tmp_path / "work")
    broken = work / case["broken_input"]
    pq.write_table(pa.table({"a": [1, 2]}), broken)  # valid Parquet, but not a learndyn table
    retries = int(PROFILE["retries"])
    done = run(
        command(work, cfg, [case["target"]], "--cores", "1", "--retries", str(retries)), timeout=600, check=False
    )
    assert done.returncode != 0
    attempts = len(re.findall(r"^\s*attempt:?\s*\d+|^Trying to restart job", done.stdout, re.MULTILINE))
    assert done.stdout.count("Trying to restart job") == retries, done.stdout[-4000:]
    assert case["failing_log"] in done.stdout, done.stdout[-4000:]
    job_log = (work / case["failing_log"]).read_text()
    assert case["broken_input"] in job_log and "foreign Parquet" in job_log, job_log[-2000:]
    assert attempts >= retries
