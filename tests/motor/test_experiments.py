"""Motor study as DAG jobs: run plan, period checkpoints and resume, tables, claims, figures."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from learndyn.checkpoints import CheckpointError, RunCheckpoints
from learndyn.claims import CLAIMS
from learndyn.io import read_provenance, read_table
from learndyn.job import Job
from learndyn.motor import checkpoints as ckpts
from learndyn.motor import experiments as ex
from learndyn.motor.claims import motor_claims
from learndyn.motor.jobs import collect_motor, render_motor
from learndyn.motor.plan import check_runs, group_configs, member_groups, motor_runs
from learndyn.motor.simulate import MotorConfig, run
from learndyn.train.store import MANIFEST

SECTION = {
    "seeds": [3, 4],
    "j_seed": 7,
    "seed_design": "shared_j",
    "scale": {"N": 40, "T": 20.0, "n_train": 10, "n_test": 5},  # S = 100
    "trace_points": 200,
    "checkpoint": {"every": 1, "keep": "all"},
    "experiments": {
        "task1": {"models": ["force", "supertrex"]},
        "task2": {"models": ["rmhl"], "variants": ["modified"]},
        "task2_3seg": {"models": ["supertrex"]},
        "task3": {"models": ["rmhl", "supertrex"], "arm_costs": ["default", "none"]},
        "parkinsons": {"task": "task2", "da_gains": [0.5, 0.0], "lesion_after": [2], "ldopa": [[0.5, 3]]},
    },
}


def job_for(root, name, cfg, rule="simulate_motor", group="shared"):
    out = root / "runs" / name
    return Job(
        rule=rule,
        inputs={},
        outputs={
            "manifest": str(out / "checkpoints.parquet"),
            "results": str(out / "results.parquet"),
            "traces": str(out / "traces.parquet"),
        },
        cfg=copy.deepcopy(cfg),
        wildcards={"run": name, "seedgroup": group},
    )


def test_plan_names_conditions_and_groups():
    runs = motor_runs(SECTION)
    assert list(runs) == [
        "task1-force-scripts",
        "task1-supertrex-scripts",
        "task2-rmhl-modified",
        "task2_3seg-supertrex-scripts",
        "task3-rmhl-scripts",
        "task3-rmhl-scripts-none",
        "task3-supertrex-scripts",
        "task3-supertrex-scripts-none",
        "pd-da",
        "pd-lesion",
        "pd-bgon",
        "pd-ldopa",
    ]
    assert runs["task3-supertrex-scripts-none"]["arm_cost"] == "none" and "arm_cost" not in runs["task2-rmhl-modified"]
    assert member_groups(runs["task3-supertrex-scripts"])[0]["members"][0][2].options.arm_cost == "default"
    assert [c["condition"] for c in runs["pd-da"]["conditions"]] == ["H", "DA(0.5)", "DA(0)"]
    (g,) = member_groups(runs["pd-ldopa"])
    assert g["j_seed"] == 7 and [m[0] for m in g["members"]] == [3, 4]
    assert g["members"][0][2].da_gain == (0.5,) * 3 + (1.0,) * 7
    per = member_groups({**runs["pd-da"], "seed_design": "per_seed"})
    assert [(b["j_seed"], len(b["members"])) for b in per] == [(3, 3), (4, 3)]
    # one DAG job per group; a per-seed job's config holds its own seed only (adding one reruns nothing else)
    assert list(group_configs(runs["pd-da"])) == ["shared"]
    jobs = group_configs({**runs["pd-da"], "seed_design": "per_seed"})
    assert list(jobs) == ["seed-3", "seed-4"] and jobs["seed-4"]["seeds"] == [4] and jobs["seed-4"]["j_seed"] == 4
    grown = group_configs({**runs["pd-da"], "seed_design": "per_seed", "seeds": [3, 4, 12], "j_seed": 99})
    assert grown["seed-4"] == jobs["seed-4"] and list(grown) == ["seed-3", "seed-4", "seed-12"]
    check_runs(runs)
    bad = copy.deepcopy(SECTION)
    bad["experiments"]["parkinsons"]["lesion_after"] = [12]
    with pytest.raises(ValueError, match="parkinsons.*LES\\(12\\)"):
        check_runs(motor_runs(bad))
    bad = copy.deepcopy(SECTION)
    bad["scale"]["n_train"] = 4
    with pytest.raises(ValueError, match="teacher forcing"):
        check_runs(motor_runs(bad))


def test_per_seed_member_equals_standard_run(tmp_path):
    cfg = {**motor_runs(SECTION)["task1-supertrex-scripts"], "seed_design": "per_seed", "seeds": [3]}
    ex.simulate_run(job_for(tmp_path, "t1", cfg))
    res = read_table(tmp_path / "runs/t1/results.parquet", ex.RESULTS)
    ref = run(MotorConfig(task="task1", model="supertrex", seed=3, N=40, T=20.0))
    assert res["deviation"].iloc[0] == ref["deviation"] and res["j_seed"].iloc[0] == 3


@pytest.mark.parametrize("name,design", [("pd-lesion", "shared_j"), ("task1-force-scripts", "per_seed")])
def test_killed_job_resumes_and_ends_identical(tmp_path, name, design):
    cfg = {**motor_runs(SECTION)[name], "seed_design": design}
    ex.simulate_run(job_for(tmp_path / "full", name, cfg))
    killed = job_for(tmp_path / "killed", name, cfg)
    ex.simulate_run(killed, stop_after_period=4)  # "killed" after period 4's checkpoint
    ckpt = tmp_path / "killed/runs" / name / "ckpt"
    assert sorted(ckpts.checkpoint_files(ckpt)) == [1, 2, 3, 4]
    assert not (tmp_path / "killed/runs" / name / "checkpoints.parquet").exists()
    (ckpt / "period=4.npz").write_bytes(b"truncated")  # killed mid-write: falls back to 3
    ex.simulate_run(killed)
    log = []
    assert ckpts.latest(ckpt, ex.run_identity(cfg), log.append)[0]["period"] == 15
    for table, kind in (("results", ex.RESULTS), ("traces", ex.TRACES)):
        a = read_table(tmp_path / "full/runs" / name / f"{table}.parquet", kind)
        b = read_table(tmp_path / "killed/runs" / name / f"{table}.parquet", kind)
        pd.testing.assert_frame_equal(a, b)
    _, sa = ckpts.load(tmp_path / "full/runs" / name / "ckpt/period=15.npz")
    _, sb = ckpts.load(ckpt / "period=15.npz")
    for ga, gb in zip(sa, sb):
        assert ga.keys() == gb.keys()
        for k in ga:
            assert np.array_equal(ga[k], gb[k], equal_nan=True), k
    man = read_table(tmp_path / "killed/runs" / name / "checkpoints.parquet", MANIFEST)
    assert man["step"].tolist() == [k * 100 for k in range(1, 16)] and man["final"].tolist() == [False] * 14 + [True]
    assert man["file"].iloc[-1] == "ckpt/period=15.npz"


def test_checkpoints_of_another_config_are_discarded(tmp_path):
    cfg = motor_runs(SECTION)["task2-rmhl-modified"]
    ex.simulate_run(job_for(tmp_path, "r", cfg), stop_after_period=2)
    changed = {**cfg, "seeds": [3, 5]}
    assert ex.fingerprint({**cfg, "trace_points": 999}) == ex.fingerprint(cfg)  # not part of the run
    ex.simulate_run(job_for(tmp_path, "r", {**changed, "checkpoint": {"every": 5, "keep": "last"}}))
    files = ckpts.checkpoint_files(tmp_path / "runs/r/ckpt")
    assert list(files) == [15]  # fresh start, only the newest kept
    assert read_table(tmp_path / "runs/r/results.parquet", ex.RESULTS)["seed"].tolist() == [3, 5]


@pytest.mark.parametrize("keep,on_disk", [("all", list(range(1, 16))), ("last", [15]), ("none", [])])
def test_retention_keeps_exactly_the_declared_periods(tmp_path, keep, on_disk):
    """No analysis reads motor checkpoints (only results and traces): ``none`` keeps the newest for
    a resume while the run goes on and deletes it once the manifest (no rows) is written; the
    manifest lists exactly the files left, and the outputs do not depend on the policy."""
    name = "task2-rmhl-modified"
    cfg = {**motor_runs(SECTION)[name], "checkpoint": {"every": 1, "keep": keep}}
    killed = job_for(tmp_path / keep, name, cfg)
    ex.simulate_run(killed, stop_after_period=4)
    ckpt = tmp_path / keep / "runs" / name / "ckpt"
    assert sorted(ckpts.checkpoint_files(ckpt)) == ([1, 2, 3, 4] if keep == "all" else [4])  # resume state
    ex.simulate_run(killed)
    assert sorted(ckpts.checkpoint_files(ckpt)) == on_disk
    man_path = tmp_path / keep / "runs" / name / "checkpoints.parquet"
    man = read_table(man_path, MANIFEST)
    assert man["step"].tolist() == [k * 100 for k in on_disk]
    assert read_provenance(man_path)["checkpoint_keep"] == keep
    if keep == "none":
        with pytest.raises(CheckpointError, match="no checkpoint at step 1500 .*keep: none"):
            RunCheckpoints(man_path).file(1500)
        ex.simulate_run(job_for(tmp_path / "ref", name, {**cfg, "checkpoint": {"every": 1, "keep": "all"}}))
        for table, kind in (("results", ex.RESULTS), ("traces", ex.TRACES)):
            ref = read_table(tmp_path / "ref/runs" / name / f"{table}.parquet", kind)
            pd.testing.assert_frame_equal(read_table(ckpt.parent / f"{table}.parquet", kind), ref)


def _results_frame():
    """A synthetic results table with the paper-scale orderings (claims logic, no simulation)."""
    rows = []

    def add(run, model, task, devs, experiment=None, cond="H", variant="scripts", cost=None, paths=(), **kw):
        for s, d in enumerate(devs):
            path = paths[s] if paths else (np.nan,) * 3
            rows.append(
                {
                    "run": run,
                    "experiment": experiment or task,
                    "task": task,
                    "model": model,
                    "variant": variant,
                    "arm_cost": cost,
                    "condition": cond,
                    "da_gain": kw.get("g", 1.0),
                    "lesion_after": kw.get("k", -1),
                    "bg_on_test": cond == "BGON",
                    "ldopa_until": kw.get("ku", -1),
                    "seed": s,
                    "j_seed": 7,
                    "N": 500,
                    "S": 20000,
                    "completed": bool(np.isfinite(d)),
                    "deviation": d,
                    "success": bool(d < 0.5),
                    "D_end_train": 0.05,
                    "gate_open_step": 100,
                    "w_cross_step": 500 if model == "supertrex" else -1,
                    "w1_norm_end": 2.0,
                    "w2_norm_end": 1.0,
                    "w1_fro_end": 2.0,
                    "w2_fro_end": 1.0,
                    "blowup_step": -1 if np.isfinite(d) else 4000,
                    "rls_updates": 10,
                    **{f"joint_path_{k + 1}": v for k, v in enumerate(path)},
                }
            )

    add("task1-force-scripts", "force", "task1", [0.01, 0.02, 0.015])
    add("task1-rmhl-scripts", "rmhl", "task1", [0.2, 0.25, 0.3])
    add("task1-supertrex-scripts", "supertrex", "task1", [0.03, 0.04, 0.035])
    add("task2-rmhl-scripts", "rmhl", "task2", [0.9, 1.2, 0.8])
    add("task2-supertrex-scripts", "supertrex", "task2", [0.03, 0.02, 0.04])
    # variant 2': scripts blows up on one seed, modified succeeds everywhere
    add("task2_3seg-supertrex-scripts", "supertrex", "task2_3seg", [0.04, np.nan, 0.9])
    add("task2_3seg-supertrex-modified", "supertrex", "task2_3seg", [0.03, 0.04, 0.05], variant="modified")
    # Task 3 joint usage (path_1, path_2, path_3): the cost moves usage from joint 1 to joint 3
    for cost, paths in (
        ("default", [(1, 2, 4), (2, 2, 4), (1, 1, 5)]),
        ("beta", [(1, 3, 3), (2, 3, 4), (1, 2, 4)]),
        ("none", [(3, 2, 2), (4, 2, 2), (2, 2, 3)]),
    ):
        add(
            "task3-supertrex-modified" + ("" if cost == "default" else f"-{cost}"),
            "supertrex",
            "task3",
            [0.1, 0.2, 0.3],
            variant="modified",
            cost=cost,
            paths=paths,
        )
    pd_kw = {"experiment": "parkinsons", "task": "task2", "model": "supertrex"}
    add("pd-da", devs=[0.03, 0.02, 0.04], **pd_kw)
    for g, d in ((0.5, 0.1), (0.1, 0.6), (0.0, 1.739)):
        add("pd-da", devs=[d] * 3, cond=f"DA({g:g})", g=g, **pd_kw)
    for k, d in ((1, 1.5), (5, 0.3)):
        add("pd-lesion", devs=[d] * 3, cond=f"LES({k})", k=k, **pd_kw)
    add("pd-bgon", devs=[0.2, 0.3, 0.1], cond="BGON", **pd_kw)
    add("pd-ldopa", devs=[0.1, 0.1, 0.1], cond="LDOPA(0.1,3)", g=0.1, ku=3, **pd_kw)
    return pd.DataFrame(rows)[[c for c, _ in ex.RESULTS.columns]]


def test_claims_from_tables():
    res = _results_frame()
    df = pd.DataFrame(motor_claims(res)).set_index("claim_id")
    CLAIMS.check_frame(df.reset_index())
    v = df["verdict"].to_dict()
    for cid in (
        "T1-force-succeeds",
        "T1-supertrex-succeeds",
        "T1-rmhl-worse",
        "T2-supertrex-all-seeds",
        "T2-rmhl-degrades-frozen",
        "AUTO-w1-takes-over",
        "PD-lesion-before-consolidation-fails",
        "PD-lesion-after-consolidation-survives",
        "PD-bg-on-test-worse",
        "PD-graded-depletion",
        "PD-ldopa-0.1-3",
    ):
        assert v[cid] == "reproduced", (cid, df.loc[cid].to_dict())
    assert (df.loc["T1-force-succeeds", "aggregate"], df.loc["T1-rmhl-worse", "aggregate"]) == ("all", "median")
    # 0/3 RMHL seeds succeed: "essentially all seeds" is a statement about the seeds run (share, exact)
    assert df.loc["T2-rmhl-fails", "value"] == 0 and v["T2-rmhl-fails"] == "reproduced"
    assert df.loc["T2-rmhl-fails", "ci_hi"] == 0 and df.loc["T2-rmhl-fails", "aggregate"] == "share"
    assert v["T3-supertrex-fragile"] == "not run" and "Task 3 needs N = 1000" in df.loc["T3-supertrex-fragile", "why"]
    # one of three scripts seeds blew up (a failure) and one failed: "not every seed succeeds"
    assert (
        v["T2prime-supertrex-fragile"] == "reproduced" and "1 blew up" in df.loc["T2prime-supertrex-fragile", "detail"]
    )
    better = df.loc["T2prime-modified-better"]  # paired by seed: 0, 1, 1; 3 seeds: interval from 0
    assert better["value"] == pytest.approx(2 / 3) and better["verdict"] == "inconclusive" and better["ci_lo"] == 0
    # paired by seed: (1/4)/(3/2), (2/4)/(4/2), (1/5)/(2/3) -> median 1/4
    use = df.loc["T3-cost-shapes-joint-usage-modified"]
    assert use["value"] == pytest.approx(0.25) and use["verdict"] == "reproduced" and use["n"] == 3
    assert "beta/none ratio median" in use["detail"] and "not yet independently confirmed" in use["detail"]
    assert v["T3-cost-shapes-joint-usage-scripts"] == "not run"  # scripts variant not in the frame
    assert "paper.yaml" in df.loc["T3-cost-shapes-joint-usage-scripts", "why"]
    flipped = res.copy()  # the cost shifts usage the other way
    m = flipped["arm_cost"] == "none"
    flipped.loc[m, "joint_path_1"] = 0.01
    assert (
        pd.DataFrame(motor_claims(flipped)).set_index("claim_id").loc["T3-cost-shapes-joint-usage-modified", "verdict"]
        == "not reproduced"
    )
    # per seed RMHL / max(FORCE, SUPERTREX): 0.2/0.03, 0.25/0.04, 0.3/0.035 -> median 0.2/0.03
    assert df.loc["T1-rmhl-worse", "value"] == pytest.approx(0.2 / 0.03)
    assert "first k that survives: 5" in df.loc["PD-lesion-before-consolidation-fails", "detail"]
    assert v["PD-DA0-rest-posture"] == "reproduced"  # rest-posture deviation ~1.739
    assert df["figure"].str.startswith("figures/motor/M").all()
    assert not df["detail"].str.contains("np.").any()
    sick = res.copy()
    sick.loc[(sick["run"] == "pd-da") & (sick["condition"] == "H"), ["deviation", "success"]] = (0.9, False)
    d2 = pd.DataFrame(motor_claims(sick)).set_index("claim_id")
    assert d2.loc["PD-graded-depletion", "verdict"] == "inconclusive"  # healthy model fails: vacuous
    assert "H seed 0 (deviation 0.9)" in d2.loc["PD-graded-depletion", "why"]
    assert d2.loc["PD-lesion-after-consolidation-survives", "verdict"] == "not reproduced"


def test_claims_readings_one_bad_seed():
    """One bad seed: 'every seed' rows fail, 'typical seed' rows hold; a blow-up is a failure for
    success claims and no evidence (inconclusive, named) for deviation statistics."""
    res = _results_frame()
    one = (res["run"] == "pd-da") & (res["condition"] == "H") & (res["seed"] == 1)
    res.loc[one, ["deviation", "success"]] = (0.7, False)  # one healthy seed fails
    early = res[(res["run"] == "pd-lesion") & (res["lesion_after"] == 1)]
    more = pd.concat([early.assign(seed=early["seed"] + 3 * k) for k in (1, 2)])  # 9 seeds of LES(1)
    res = pd.concat([res, more], ignore_index=True)
    les = (res["run"] == "pd-lesion") & (res["lesion_after"] == 1) & (res["seed"] == 2)
    res.loc[les, ["deviation", "success"]] = (0.2, True)  # one early lesion of 9 survives
    blow = (res["run"] == "task2-supertrex-scripts") & (res["seed"] == 0)
    res.loc[blow, ["completed", "deviation", "success"]] = (False, np.nan, False)
    bg = (res["run"] == "pd-bgon") & (res["seed"] == 2)
    res.loc[bg, ["completed", "deviation", "success"]] = (False, np.nan, False)
    df = pd.DataFrame(motor_claims(res)).set_index("claim_id")
    after = df.loc["PD-lesion-after-consolidation-survives"]
    assert after["verdict"] == "not reproduced" and after["n_failed"] == 1 and after["value"] == pytest.approx(0.7)
    before = df.loc["PD-lesion-before-consolidation-fails"]  # median of 8 x 1.5 and 0.2
    assert before["verdict"] == "reproduced" and before["value"] == 1.5 and before["n_failed"] == 1
    st2 = df.loc["T2-supertrex-all-seeds"]  # the blow-up is a failure
    assert st2["verdict"] == "not reproduced" and st2["n_failed"] == 1 and math.isinf(st2["value"])
    auto = df.loc["AUTO-w1-takes-over"]  # it never finished training
    assert auto["verdict"] == "inconclusive" and "task2-supertrex-scripts seed 0" in auto["why"]
    bgon = df.loc["PD-bg-on-test-worse"]  # no deviation: out of the median
    assert bgon["verdict"] == "inconclusive" and "BGON seed 2" in bgon["why"] and bgon["n"] == 2


def test_figures_render_from_tables(tmp_path):
    from learndyn.figures.motor import FIGURES
    from learndyn.io import write_table

    runs = motor_runs(SECTION)
    names = ["task1-force-scripts", "pd-da", "pd-lesion", "task3-rmhl-scripts-none"]
    for name in names:
        ex.simulate_run(job_for(tmp_path, name, runs[name]))
    collect_motor(
        Job(
            rule="collect",
            inputs={k: [str(tmp_path / "runs" / n / f"{k}.parquet") for n in names] for k in ("results", "traces")},
            outputs={k: str(tmp_path / "tables" / f"{k}.parquet") for k in ("results", "traces", "summary")},
        )
    )
    summ = read_table(tmp_path / "tables/summary.parquet", ex.SUMMARY)
    assert len(summ) == 1 + 3 + 1 + 1 and summ["n"].eq(2).all()
    res = read_table(tmp_path / "tables/results.parquet", ex.RESULTS).set_index("run")
    t3 = res.loc["task3-rmhl-scripts-none"]
    assert (t3["arm_cost"] == "none").all() and res.loc["task1-force-scripts", "arm_cost"].isna().all()
    paths = t3.loc[t3["completed"], list(ex.JOINT_PATH)].to_numpy()
    assert len(paths) and (paths > 0).all() and np.isfinite(paths).all()  # 3 joints (RMHL keeps W2 at test)
    assert res.loc["pd-da", "joint_path_3"].isna().all() and res.loc["task1-force-scripts", "joint_path_1"].isna().all()
    assert res.loc["pd-da", "joint_path_1"].notna().any()  # Task 2: two joints
    syn = tmp_path / "synthetic"
    write_table(_results_frame(), syn / "results.parquet", ex.RESULTS)
    write_table(ex.summary_frame(_results_frame()), syn / "summary.parquet", ex.SUMMARY)
    for fig, (_, inputs) in FIGURES.items():
        for tables in [tmp_path / "tables"] + ([syn] if "traces" not in inputs else []):
            out = tmp_path / tables.name / f"{fig}.png"
            render_motor(
                Job(
                    rule="r",
                    inputs={n: str(tables / f"{n}.parquet") for n in inputs},
                    outputs={"figure": str(out)},
                    cfg={"figure": fig, "seed_design": "shared_j"},
                )
            )
            assert out.stat().st_size > 5000
