"""Hostile files on the cheap paths (direct calls, tiny runs): checkpoints, Parquet tables, data files
and run folders.  Every case asserts that the error names the file and the problem, and that nothing
that existed before changed (bytes and mtime of every file under the case's folder)."""

from __future__ import annotations

import multiprocessing as mp
import pickle
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from learndyn.checkpoints import (
    MANIFEST,
    CheckpointError,
    RunCheckpoints,
    run_identity,
    save_torch,
)
from learndyn.io import (
    FolderBusyError,
    Table,
    TableError,
    read_table,
    write_table,
    writer_lock,
)
from learndyn.motor import checkpoints as motor_ckpts
from learndyn.train import RESUME, breakpoint_schedule

X = np.array([-1, -0.6, -0.1, 0.2, 0.7, 1.0])
Y = np.array([0, 0.8, -0.5, 0.6, 1, 0.2])
STEPS = 60


def _fit(run_dir, fingerprint=None, seed=0, log=lambda s: None):
    from learndyn.splines.module import SplineGD
    from learndyn.train.factory import fit_with_breakpoints

    rng = np.random.default_rng(0)
    params = {
        "w": rng.uniform(-1, 1, (2, 8)),
        "b": rng.uniform(-1, 1, (2, 8)),
        "v": rng.normal(0, 0.2, (2, 8)),
        "c": np.zeros(2),
    }
    sched = breakpoint_schedule({"schedule": "log", "num": 4}, STEPS)
    module = SplineGD(params, X, Y, sched, STEPS, chunk=10, refresh=20)
    return fit_with_breakpoints(
        module,
        module.train_dataloader(),
        run_dir=run_dir,
        schedule=sched,
        seed=seed,
        fingerprint=fingerprint or {"run": "a"},
        provenance={"rule": "test"},
        precision="64-true",
        log=log,
    )


def _motor_run(run_dir: Path, run: dict, periods=3) -> None:
    for k in range(1, periods + 1):
        motor_ckpts.save(
            run_dir / "ckpt", k, [{"w": np.full(3, float(k))}], run=run, step=10 * k, loss=1.0 / k, final=k == periods
        )
    motor_ckpts.write_manifest(run_dir / "ckpt", run_dir / "checkpoints.parquet", {"rule": "test"}, run)


MOTOR_A, MOTOR_B = {"run": "motor-a", "seed": [1, 2]}, {"run": "motor-b", "seed": [1, 2]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny runs (a few seconds together): the run under attack and the sources of foreign files."""
    root = tmp_path_factory.mktemp("runs") / "results"  # tables record where they were written: the
    # copies below keep that path (results/<run>/...)
    _fit(root / "a")
    _fit(root / "other", fingerprint={"run": "b"})  # another run (config) of the same model
    _fit(root / "seed1", seed=1)  # the same config, another seed
    _fit(root / "old", fingerprint={"run": "a", "lr": 9})  # this run's folder under an earlier config
    _motor_run(root / "motor-a", MOTOR_A)
    _motor_run(root / "motor-b", MOTOR_B)
    return root


def snapshot(root: Path) -> dict:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()
    }


def refused(root: Path, call, error, *names) -> str:
    """``call()`` raises ``error`` naming every one of ``names``; every file under ``root`` unchanged."""
    before = snapshot(root)
    with pytest.raises(error) as err:
        call()
    for name in names:
        assert name in str(err.value), str(err.value)
    assert snapshot(root) == before, "a file that existed before the refusal changed"
    return str(err.value)


def _step(run: Path, i: int = -1) -> tuple[int, Path]:
    steps = RunCheckpoints(run / "checkpoints.parquet").steps
    return steps[i], run / "ckpt" / f"step={steps[i]}.ckpt"


# -- checkpoints -------------------------------------------------------------------------------------


def _foreign(runs, run):
    step, path = _step(run)
    shutil.copyfile(_step(runs / "other")[1], path)
    return step, path, ("run " + run_identity({"run": "b"}, 0)["run"], "run " + run_identity({"run": "a"}, 0)["run"])


def _other_seed(runs, run):
    step, path = _step(run)
    shutil.copyfile(_step(runs / "seed1")[1], path)
    return step, path, ("seed 1", "seed 0")


def _stale(runs, run):
    step, path = _step(run, 1)
    shutil.copyfile(_step(runs / "old", 1)[1], path)  # left from the run under its earlier config
    return step, path, (run_identity({"run": "a", "lr": 9}, 0)["run"], run_identity({"run": "a"}, 0)["run"])


def _tampered(runs, run):
    step, path = _step(run)
    ckpt = torch.load(path, weights_only=True)
    ckpt["state_dict"]["w"] = ckpt["state_dict"]["w"] + 1e-3  # identity kept: only the hash can tell
    save_torch(ckpt, path)
    return step, path, ("sha256", "changed since the manifest was written")


def _truncated(runs, run):
    step, path = _step(run)
    path.write_bytes(path.read_bytes()[:200])
    return step, path, ("truncated",)


def _wrong_step(runs, run):
    step, path = _step(run)
    shutil.copyfile(_step(run, 1)[1], path)  # an earlier breakpoint's file under the final step's name
    return step, path, (f"step {_step(run, 1)[0]}", "expected run", f"step {step}")


def _no_identity(runs, run):
    step, path = _step(run)
    torch.save({"state_dict": torch.load(path, weights_only=True)["state_dict"]}, path)
    return step, path, ("no run identity",)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _pickled(runs, run):
    step, path = _step(run)
    ckpt = torch.load(path, weights_only=True)
    ckpt["learndyn"]["payload"] = _Payload(run / "payload-ran")
    torch.save(ckpt, path)
    return step, path, ("weights-only",)


def _missing(runs, run):
    step, path = _step(run)
    path.unlink()
    return step, path, ("not found", "checkpoints.parquet")


def _motor_foreign(runs, run):
    path = run / "ckpt" / "period=3.npz"
    shutil.copyfile(runs / "motor-b" / "ckpt" / "period=3.npz", path)
    return 30, path, ("run motor-b", "run motor-a", "step 30")


def _motor_tampered(runs, run):
    path = run / "ckpt" / "period=2.npz"
    shutil.copyfile(run / "ckpt" / "period=1.npz", path)  # renamed period: its identity says step 10
    return 20, path, ("step 10", "expected run motor-a seed [1, 2] step 20")


def _motor_truncated(runs, run):
    path = run / "ckpt" / "period=3.npz"
    path.write_bytes(path.read_bytes()[:100])
    return 30, path, ("truncated",)


@pytest.mark.parametrize(
    "source, attack",
    [
        ("a", _foreign),
        ("a", _other_seed),
        ("a", _stale),
        ("a", _tampered),
        ("a", _truncated),
        ("a", _wrong_step),
        ("a", _no_identity),
        ("a", _pickled),
        ("a", _missing),
        ("motor-a", _motor_foreign),
        ("motor-a", _motor_tampered),
        ("motor-a", _motor_truncated),
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__.strip("_"),
)
def test_hostile_checkpoint_is_refused_naming_both_sides(runs, tmp_path, source, attack):
    run = tmp_path / "results" / source
    shutil.copytree(runs / source, run)
    step, path, names = attack(runs, run)
    refused(
        tmp_path, lambda: RunCheckpoints(run / "checkpoints.parquet").load(step), CheckpointError, str(path), *names
    )
    assert not (run / "payload-ran").exists()


def test_manifest_without_a_run_identity_is_refused(runs, tmp_path):
    run = tmp_path / "results" / "a"
    shutil.copytree(runs / "a", run)
    manifest = run / "checkpoints.parquet"
    write_table(read_table(manifest, MANIFEST), manifest, MANIFEST, {"rule": "test"})  # as before identities
    refused(tmp_path, lambda: RunCheckpoints(manifest), CheckpointError, str(manifest), "names no run identity")


def test_step_the_manifest_does_not_list_is_refused(runs, tmp_path):
    run = tmp_path / "results" / "a"
    shutil.copytree(runs / "a", run)
    shutil.copyfile(_step(run)[1], run / "ckpt" / "step=999.ckpt")  # an orphan file: not in the manifest
    refused(
        tmp_path,
        lambda: RunCheckpoints(run / "checkpoints.parquet").load(999),
        CheckpointError,
        "no checkpoint at step 999",
    )


@pytest.mark.parametrize("attack", ["foreign", "truncated", "pickled"])
def test_resume_skips_a_hostile_resume_file_logging_why_and_ends_identical(runs, tmp_path, attack):
    run = tmp_path / "results" / "a"
    ckpt = run / "ckpt"
    ckpt.mkdir(parents=True)
    shutil.copyfile(runs / "a" / "ckpt" / "run.json", ckpt / "run.json")  # this run's config: nothing else clears it
    (ckpt / RESUME).write_bytes(_step(runs / "other")[1].read_bytes())  # some other run's file
    if attack == "truncated":
        (ckpt / RESUME).write_bytes((ckpt / RESUME).read_bytes()[:300])
    elif attack == "pickled":
        state = torch.load(ckpt / RESUME, weights_only=True)
        state["learndyn"]["payload"] = _Payload(tmp_path / "payload-ran")
        torch.save(state, ckpt / RESUME)
    bystander = tmp_path / "results" / "other"
    shutil.copytree(runs / "other", bystander)
    before = snapshot(bystander)
    lines = []
    manifest = _fit(run, log=lines.append)
    text = "\n".join(lines)
    assert f"skipping {ckpt / RESUME}" in text and "starting fresh" in text, text
    assert {"foreign": "expected run", "truncated": "truncated", "pickled": "weights-only"}[attack] in text, text
    assert manifest["sha256"].tolist() == read_table(runs / "a" / "checkpoints.parquet", MANIFEST)["sha256"].tolist()
    assert snapshot(bystander) == before and not (tmp_path / "payload-ran").exists()


def test_motor_resume_skips_another_runs_newest_file(runs, tmp_path):
    run = tmp_path / "results" / "motor-a"
    shutil.copytree(runs / "motor-a", run)
    shutil.copyfile(runs / "motor-b" / "ckpt" / "period=3.npz", run / "ckpt" / "period=4.npz")
    lines = []
    meta, _ = motor_ckpts.latest(run / "ckpt", MOTOR_A, lines.append)
    assert meta["period"] == 3 and not (run / "ckpt" / "period=4.npz").exists()
    assert "skipping" in lines[0] and "period=4.npz" in lines[0] and "run motor-b" in lines[0], lines


def test_manifest_is_never_written_over_a_foreign_step_file(runs, tmp_path):
    run = tmp_path / "results" / "motor-a"
    shutil.copytree(runs / "motor-a", run)
    shutil.copyfile(runs / "motor-b" / "ckpt" / "period=2.npz", run / "ckpt" / "period=2.npz")
    refused(
        tmp_path,
        lambda: motor_ckpts.write_manifest(run / "ckpt", run / "checkpoints.parquet", {}, MOTOR_A),
        CheckpointError,
        "period=2.npz",
        "run motor-b",
        "writing the manifest",
    )


# -- Parquet tables ----------------------------------------------------------------------------------


def _retyped(path):
    t = pq.read_table(path)
    schema = pa.schema([f if f.name != "step" else pa.field("step", pa.float64()) for f in t.schema])
    pq.write_table(t.cast(schema).replace_schema_metadata(t.schema.metadata), path)
    return ("column 'step' has type double, expected int64",)


def _dropped(path):
    t = pq.read_table(path)
    pq.write_table(t.drop_columns(["sha256"]).replace_schema_metadata(t.schema.metadata), path)
    return ("column 'sha256' missing",)


def _extra(path):
    t = pq.read_table(path)
    pq.write_table(t.append_column("x", pa.array([0] * len(t))).replace_schema_metadata(t.schema.metadata), path)
    return ("unexpected columns ['x']",)


def _foreign_producer(path):
    pq.write_table(pq.read_table(path).replace_schema_metadata({}), path)  # same columns, no learndyn metadata
    return ("foreign Parquet file",)


def _other_kind(path):
    write_table(pd.DataFrame({"step": [0]}), path, Table("history", (("step", pa.int64()),)), {"rule": "x"})
    return ("expected a 'checkpoints' table, found history",)


def _truncated_table(path):
    path.write_bytes(path.read_bytes()[:-40])
    return ("not a readable Parquet file (truncated or foreign?)",)


def _empty(path):
    path.write_bytes(b"")
    return ("not a readable Parquet file",)


@pytest.mark.parametrize(
    "attack",
    [_retyped, _dropped, _extra, _foreign_producer, _other_kind, _truncated_table, _empty],
    ids=lambda f: f.__name__.strip("_"),
)
def test_hostile_parquet_is_refused_naming_file_and_problem(runs, tmp_path, attack):
    run = tmp_path / "results" / "a"
    shutil.copytree(runs / "a", run)
    path = run / "checkpoints.parquet"
    names = attack(path)
    refused(tmp_path, lambda: RunCheckpoints(path), TableError, str(path), *names)


# -- data files ---------------------------------------------------------------------------------------


class _Reduce:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _cifar(root: Path, payload=None) -> dict:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, size=(20, 3072), dtype=np.uint8), b"labels": list(range(10)) * 2}
        if payload is not None and name == "data_batch_3":
            batch[b"batch_label"] = payload
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return {
        "key": "perturb.datasets.c",
        "name": "cifar10",
        "root": str(root),
        "train_per_class": 1,
        "test_per_class": 1,
        "verify_md5": payload is None,
    }


@pytest.mark.parametrize(
    "payload, names",
    [
        (None, ("data_batch_1", "md5", "expected the published", "verify_md5")),  # bad checksum
        (_Reduce(eval, ("1",)), ("data_batch_3", "refused", "eval", "crafted")),  # crafted pickles
        (_Reduce(time.sleep, (0,)), ("data_batch_3", "refused time.sleep")),
        (_Reduce(np.load, ("x",)), ("data_batch_3", "refused numpy.load")),
        (_Reduce(shutil.rmtree, ("/nonexistent",)), ("data_batch_3", "refused shutil.rmtree")),
    ],
    ids=["bad-md5", "eval", "time.sleep", "numpy.load", "rmtree"],
)
def test_hostile_data_file_is_refused_before_anything_runs(tmp_path, payload, names):
    from learndyn.perturb.data import DatasetError, load_dataset

    cfg = _cifar(tmp_path / "data", payload)
    refused(tmp_path, lambda: load_dataset(cfg), DatasetError, *names)


# -- run folders --------------------------------------------------------------------------------------


def _hold(folder, ready):
    with writer_lock(folder):
        ready.set()
        time.sleep(120)  # until killed


@pytest.mark.parametrize("writer", ["lightning", "motor"])
def test_locked_run_folder_is_refused_naming_the_holder(runs, tmp_path, writer):
    from learndyn.job import Job
    from learndyn.motor.experiments import simulate_run

    run = tmp_path / "results" / "a"
    shutil.copytree(runs / ("a" if writer == "lightning" else "motor-a"), run)
    ready = mp.get_context("fork").Event()
    holder = mp.get_context("fork").Process(target=_hold, args=(run / "ckpt", ready))
    holder.start()
    try:
        assert ready.wait(30)
        call = (
            (lambda: _fit(run))
            if writer == "lightning"
            else (
                lambda: simulate_run(
                    Job(
                        rule="simulate_motor", inputs={}, outputs={"manifest": str(run / "checkpoints.parquet")}, cfg={}
                    )
                )
            )
        )
        refused(tmp_path, call, FolderBusyError, str(run / "ckpt"), f"pid {holder.pid}", "still writing")
    finally:
        holder.kill()
        holder.join(30)


def test_orphans_of_a_killed_writer_are_ignored(runs, tmp_path):
    """A lock file of a dead process, a temp file and an unlisted step file: the rerun resumes nothing
    from them, and the manifest lists only this run's own files."""
    run = tmp_path / "results" / "a"
    ckpt = run / "ckpt"
    ckpt.mkdir(parents=True)
    (ckpt / ".writer.lock").write_text("pid 999999 on gone-host")
    (ckpt / ".step=5.ckpt.1a2b3c4d.tmp").write_bytes(b"half a checkpoint")
    shutil.copyfile(_step(runs / "other")[1], ckpt / "step=7.ckpt")
    manifest = _fit(run)
    assert manifest["sha256"].tolist() == read_table(runs / "a" / "checkpoints.parquet", MANIFEST)["sha256"].tolist()
    assert not (ckpt / "step=7.ckpt").exists()
