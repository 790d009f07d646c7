"""The motor study's simulation and collection steps, run by :mod:`learndyn.motor.jobs`.

``simulate_run`` (rule simulate_motor) runs one group of a run of :mod:`.plan` (the seeds sharing a J, with all the
run's conditions) period by period, saving the batch's state at period boundaries and resuming
from the newest checkpoint after a kill (bit-identical: the simulator regenerates J, Q, x(0) and the noise from the
seeds), then writes the per-member results and thinned traces and, last, the checkpoint manifest.
``summary_frame`` is the per-condition summary that collect_motor writes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from learndyn.checkpoints import run_identity as store_identity
from learndyn.io import config_hash, write_table, writer_lock
from learndyn.job import Job

from . import checkpoints as ckpts
from .plan import NON_SIM_KEYS, member_groups
from .simulate import MotorSim, w_crossing_step
from .tables import _COND, _RUN, JOINT_PATH, JOINTS, RESULTS, SUMMARY, TRACES  # noqa: F401 (schemas: tables.py)
from .tasks import SUCCESS_THRESHOLD, butterfly, summarize


def fingerprint(run: dict) -> str:
    """Everything that determines the simulation (not trace thinning or checkpoint keeping)."""
    return config_hash({k: v for k, v in run.items() if k not in NON_SIM_KEYS})


def run_identity(run: dict) -> dict:
    """The identity every checkpoint of the run carries (:mod:`learndyn.checkpoints`)."""
    return store_identity(fingerprint(run), run["seeds"])


def _mean_D(sims) -> float:
    D = np.concatenate([np.sqrt(s.ops.to_numpy(s.s["edisp"]))[~s.blown] for s in sims])
    return float(D.mean()) if D.size else math.nan


def simulate_run(job: Job, *, stop_after_period: int | None = None) -> None:
    """Rule entry point: one group of a run (``job.cfg`` = that group's config, plan.group_configs).
    ``stop_after_period`` (tests only) returns right after saving that period's checkpoint, as a
    kill would, without writing the outputs."""
    with writer_lock(job.output("manifest").parent / "ckpt", "motor checkpoints"):
        _simulate_run(job, stop_after_period)


def _simulate_run(job: Job, stop_after_period: int | None) -> None:
    run = job.cfg
    name = job.wildcards.get("run", f"{run['task']}-{run['model']}-{run['variant']}")
    groups = member_groups(run)
    sims = [
        MotorSim([m[2] for m in g["members"]], j_seed=g["j_seed"], backend=run["backend"], device=run["device"])
        for g in groups
    ]
    sc, rid = run["scale"], run_identity(run)
    total, S = int(sc["n_train"]) + int(sc["n_test"]), sims[0].S
    manifest = job.output("manifest")
    ckpt_dir = manifest.parent / "ckpt"
    start = 0
    got = ckpts.latest(ckpt_dir, rid, job.log)
    if got is not None:
        meta, states = got
        for sim, sd in zip(sims, states, strict=True):
            sim.load_state_dict(sd)
        start = int(meta["period"])
        job.log(f"resumed from {ckpt_dir}/period={start}.npz")
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    every, keep = int(run["checkpoint"]["every"]), run["checkpoint"]["keep"]
    job.log(
        f"{name} {job.wildcards.get('seedgroup', '')}: {sum(s.B for s in sims)} members in {len(sims)} batch(es), "
        f"N={sc['N']}, S={S}, "
        f"{total} periods from period {start}"
    )
    for p in range(start, total):
        for sim in sims:
            sim.run_periods(1)
        k = p + 1
        if k % every == 0 or k == total:
            ckpts.save(
                ckpt_dir,
                k,
                [s.state_dict() for s in sims],
                run=rid,
                step=k * S,
                loss=_mean_D(sims),
                final=k == total,
                keep=keep,
            )
        job.log(f"period {k}/{total}: mean D {_mean_D(sims):.4g}, blown {sum(int(s.blown.sum()) for s in sims)}")
        if stop_after_period == k:
            return
    rows, traces = [], []
    for g, sim in zip(groups, sims):
        for (seed, cond, _), res in zip(g["members"], sim.results(), strict=True):
            rows.append(_result_row(name, run, cond, res, sim))
            traces.append(_trace_rows(name, cond, res, sim, run["trace_points"]))
    df = pd.DataFrame(rows)
    write_table(df[[c for c, _ in RESULTS.columns]], job.output("results"), RESULTS, job.provenance(seed=run["seeds"]))
    tr = pd.concat(traces, ignore_index=True)
    write_table(tr[[c for c, _ in TRACES.columns]], job.output("traces"), TRACES, job.provenance(seed=run["seeds"]))
    ckpts.write_manifest(ckpt_dir, manifest, job.provenance(seed=run["seeds"]), rid, keep=keep)
    ok = df[df["completed"]]
    job.log(
        f"{len(ok)}/{len(df)} completed; deviation by condition: "
        f"{ok.groupby('condition')['deviation'].median().round(4).to_dict()}"
    )


def _end_of_training(sim, res, key) -> float:
    i = sim.cfg.n_train * sim.S // sim.cfg.record_every - 1
    v = res["traces"][key]
    return float(v[i]) if res["completed"] and i < v.shape[0] else math.nan


def _joint_path(res, sim) -> dict:
    path = np.full(JOINTS, math.nan)
    if sim.task.lengths is not None:  # arms only: z are joint angles
        path[: sim.d] = np.mean(res["joint_path"], axis=0)  # NaN already when not completed
    return dict(zip(JOINT_PATH, path.tolist()))


def _result_row(name, run, cond, res, sim) -> dict:
    dev = res["deviation"]
    return {
        "run": name,
        "experiment": run["experiment"],
        "task": run["task"],
        "model": run["model"],
        "variant": run["variant"],
        "arm_cost": run.get("arm_cost"),
        **cond,
        "seed": res["seed"],
        "j_seed": res["j_seed"],
        "N": sim.cfg.N,
        "S": sim.S,
        "completed": res["completed"],
        "deviation": dev,
        "success": bool(res["completed"] and dev < SUCCESS_THRESHOLD),
        "D_end_train": res["D_end_train"],
        "gate_open_step": res["gate_open_step"],
        "w_cross_step": w_crossing_step(res) if run["model"] == "supertrex" else -1,
        **{f"{k}_end": _end_of_training(sim, res, k) for k in ("w1_norm", "w2_norm", "w1_fro", "w2_fro")},
        "blowup_step": res["blowup_step"],
        "rls_updates": res["rls_updates"],
        **_joint_path(res, sim),
    }


def _trace_rows(name, cond, res, sim, trace_points: int) -> pd.DataFrame:
    tr, steps = res["traces"], res["steps"]
    thin = max(1, math.ceil(steps.size / trace_points))
    idx = np.arange(thin - 1, steps.size, thin)  # ends on each period's last sample
    st = steps[idx]
    f = butterfly(sim.S, sim.opts.normaliser)[(st - 1) % sim.S]
    z = np.full((idx.size, 3), np.nan)
    z[:, : tr["z"].shape[1]] = tr["z"][idx]
    out = {
        "run": name,
        "condition": cond["condition"],
        "seed": res["seed"],
        "step": st,
        "phase": np.where(st <= sim.cfg.n_train * sim.S, "train", "test"),
        **{k: tr[k][idx] for k in ("e", "D", "ebar", "w1_norm", "w2_norm", "w1_fro", "w2_fro")},
        "hand_x": tr["hand"][idx, 0],
        "hand_y": tr["hand"][idx, 1],
        "target_x": f[:, 0],
        "target_y": f[:, 1],
        "z0": z[:, 0],
        "z1": z[:, 1],
        "z2": z[:, 2],
    }
    return pd.DataFrame(out)


def summary_frame(results: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c, _ in _RUN + _COND]
    rows = []
    for key, grp in results.groupby(keys, sort=False, dropna=False):
        rows.append({**dict(zip(keys, key)), **summarize(grp["deviation"], grp["completed"])})
    return pd.DataFrame(rows, columns=[c for c, _ in SUMMARY.columns])
