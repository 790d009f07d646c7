"""Breakpoint schedules, checkpoint-at-breakpoint training, kill/resume, safe loading."""

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from learndyn.checkpoints import RunCheckpoints
from learndyn.io import read_provenance, read_table
from learndyn.splines.module import SplineGD
from learndyn.train import (
    MANIFEST,
    RESUME,
    BreakpointError,
    CheckpointError,
    breakpoint_schedule,
    checkpoint_files,
    load_checkpoint,
    resume_step,
)
from learndyn.train.factory import fit_with_breakpoints

X = np.array([-1, -0.6, -0.1, 0.2, 0.7, 1.0])
Y = np.array([0, 0.8, -0.5, 0.6, 1, 0.2])


def _params(runs=3, width=20, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "w": rng.uniform(-1, 1, (runs, width)),
        "b": rng.uniform(-1, 1, (runs, width)),
        "v": rng.normal(0, (3 * width) ** -0.5, (runs, width)),
        "c": np.zeros(runs),
    }


def _fit(run_dir, max_steps=600, callbacks=(), chunk=50, keep="all", log=lambda s: None):
    sched = breakpoint_schedule({"schedule": "log", "num": 8}, max_steps)
    module = SplineGD(_params(), X, Y, sched, max_steps, chunk=chunk, refresh=100)
    manifest = fit_with_breakpoints(
        module,
        module.train_dataloader(),
        run_dir=run_dir,
        schedule=sched,
        seed=0,
        fingerprint={"test": 1},
        provenance={"rule": "test"},
        precision="64-true",
        log=log,
        extra_callbacks=callbacks,
        keep=keep,
    )
    return module, manifest, sched


def test_log_schedule_dense_early_and_includes_init():
    s = breakpoint_schedule({"schedule": "log", "num": 30}, 10_000)
    assert s[0] == 0 and s[-1] == 10_000 and s[1:6] == [1, 2, 3, 4, 5]
    assert np.all(np.diff(s) > 0)
    assert breakpoint_schedule([5, 1, 1, 99], 50) == [0, 1, 5]


@pytest.mark.parametrize(
    "spec",
    [
        [],
        [-1],
        [1.5],
        {"schedule": "cubic"},
        {"schedule": "log", "num": 1},
        {"schedule": "linear", "every": 0},
        "1,2,3",
    ],
)
def test_malformed_schedule_is_rejected(spec):
    with pytest.raises(BreakpointError):
        breakpoint_schedule(spec, 100)


def test_checkpoints_at_every_breakpoint_and_manifest(tmp_path):
    module, manifest, sched = _fit(tmp_path / "run")
    assert list(manifest["step"]) == sched
    assert manifest["final"].sum() == 1 and manifest["final"].iloc[-1]
    assert (tmp_path / "run" / "ckpt" / "step=0.ckpt").exists()
    on_disk = read_table(tmp_path / "run" / "checkpoints.parquet", MANIFEST)
    assert on_disk.equals(manifest)
    ck = load_checkpoint(tmp_path / "run" / manifest["file"].iloc[-1].replace("ckpt/", "ckpt/"))
    assert torch.equal(ck["state_dict"]["w"], module.w.detach())


class Killed(Exception):
    pass


class _Kill(pl.Callback):
    """Simulate a SIGKILL mid-run: abort the process's fit after a given step."""

    def __init__(self, at):
        self.at = at

    def on_train_batch_end(self, trainer, pl_module, *args):
        if pl_module.progress_step >= self.at:
            raise Killed


def test_resume_after_kill_is_bit_identical(tmp_path):
    ref, ref_manifest, _ = _fit(tmp_path / "ref")
    with pytest.raises(Killed):
        _fit(tmp_path / "killed", callbacks=[_Kill(300)])
    assert not (tmp_path / "killed" / "checkpoints.parquet").exists()
    resumed, manifest, _ = _fit(tmp_path / "killed")
    for name in ("w", "b", "v", "c"):
        assert torch.equal(getattr(ref, name), getattr(resumed, name)), name
    assert list(manifest["step"]) == list(ref_manifest["step"])
    assert np.array_equal(manifest["loss"], ref_manifest["loss"])


def test_pickled_object_checkpoint_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "step=1.ckpt"
    torch.save({"state_dict": {}, "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match="weights-only"):
        load_checkpoint(path)


def test_truncated_and_foreign_checkpoints_are_named(tmp_path):
    _fit(tmp_path / "run", max_steps=50)
    good = tmp_path / "run" / "ckpt" / "step=50.ckpt"
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="bad.ckpt"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="another model"):
        load_checkpoint(good, expected_keys={"weight", "bias"})


# ---- retention: each training rule keeps the breakpoints its analyses read (+ resume state) ----


def _on_disk(run_dir):
    return sorted(checkpoint_files(run_dir / "ckpt"))


@pytest.mark.parametrize("keep,expected", [("all", None), ("last", [600]), ([1, 6, 77], [1, 6, 600])])
def test_retention_keeps_exactly_the_declared_steps(tmp_path, keep, expected):
    sched = breakpoint_schedule({"schedule": "log", "num": 8}, 600)
    assert {1, 6}.issubset(sched) and 77 not in sched  # a kept step off the schedule is simply never reached
    module, manifest, _ = _fit(tmp_path / "run", keep=keep)
    expected = sched if expected is None else expected
    assert _on_disk(tmp_path / "run") == expected
    assert manifest["step"].tolist() == expected  # the manifest lists exactly the files that exist
    assert manifest["final"].tolist() == [False] * (len(expected) - 1) + [True]
    assert not (tmp_path / "run" / "ckpt" / RESUME).exists()  # resume state goes once the manifest is written
    for f in manifest["file"]:
        ck = load_checkpoint(tmp_path / "run" / f)
        assert "optimizer_states" not in ck and "state_dict" in ck  # weights only: analyses read nothing else
    last = load_checkpoint(tmp_path / "run" / manifest["file"].iloc[-1])["state_dict"]
    assert torch.equal(last["w"], module.w.detach())


def test_keep_none_writes_no_step_file_and_an_empty_manifest_but_resumes(tmp_path):
    """keep: none (a rule whose readers use its history only): while training, resume.ckpt alone
    holds the state, so a killed run still resumes bit-identical; at the end nothing is left but a
    manifest without rows that records the run and its policy."""
    ref, _, _ = _fit(tmp_path / "ref")
    with pytest.raises(Killed):
        _fit(tmp_path / "killed", callbacks=[_Kill(300)], keep="none")
    ckpt = tmp_path / "killed" / "ckpt"
    at_kill = resume_step(ckpt)
    assert _on_disk(tmp_path / "killed") == [] and at_kill is not None and 0 < at_kill < 600
    lines = []
    resumed, manifest, _ = _fit(tmp_path / "killed", keep="none", log=lines.append)
    assert f"resuming from step={at_kill}.ckpt" in "\n".join(lines)
    for name in ("w", "b", "v", "c"):
        assert torch.equal(getattr(ref, name), getattr(resumed, name)), name
    assert manifest.empty and _on_disk(tmp_path / "killed") == [] and not (ckpt / RESUME).exists()
    path = tmp_path / "killed" / "checkpoints.parquet"
    assert read_table(path, MANIFEST).empty and read_provenance(path)["checkpoint_keep"] == "none"
    with pytest.raises(CheckpointError, match="no checkpoint at step 600 .*keep: none"):
        RunCheckpoints(path).load(600)


def test_resume_only_state_is_left_out_of_step_files_but_resumes(tmp_path, monkeypatch):
    """A module's ``resume_only_state`` (kernel: its loss curves, written to curves.parquet) is in
    resume.ckpt, not in the kept step files; a killed run still ends bit-identical."""
    ref, _, _ = _fit(tmp_path / "ref")
    monkeypatch.setattr(SplineGD, "resume_only_state", ("loss", "converged_step"), raising=False)
    with pytest.raises(Killed):
        _fit(tmp_path / "killed", callbacks=[_Kill(300)])
    assert {"loss", "converged_step"} <= set(load_checkpoint(tmp_path / "killed/ckpt" / RESUME)["state_dict"])
    resumed, manifest, _ = _fit(tmp_path / "killed")
    for f in manifest["file"]:
        state = load_checkpoint(tmp_path / "killed" / f)["state_dict"]
        assert "w" in state and not {"loss", "converged_step"} & set(state), f
    for name in ("w", "b", "v", "c"):
        assert torch.equal(getattr(ref, name), getattr(resumed, name)), name


def test_kept_weights_do_not_depend_on_the_policy(tmp_path):
    _, all_m, _ = _fit(tmp_path / "all")
    _, some, _ = _fit(tmp_path / "some", keep=[6])
    ref = all_m.set_index("step")
    for row in some.itertuples():
        assert row.sha256 == ref.loc[row.step, "sha256"], row.step


def test_resume_after_kill_with_a_retention_policy(tmp_path):
    keep = [1, 2, 6]
    ref, ref_manifest, sched = _fit(tmp_path / "ref", keep=keep)
    with pytest.raises(Killed):
        _fit(tmp_path / "killed", callbacks=[_Kill(300)], keep=keep)
    ckpt = tmp_path / "killed" / "ckpt"
    at_kill = resume_step(ckpt)
    assert at_kill is not None and 6 < at_kill < 600 and at_kill in sched  # newest breakpoint, not kept
    assert _on_disk(tmp_path / "killed") == keep  # unkept breakpoints were never written
    assert "optimizer_states" in load_checkpoint(ckpt / RESUME)  # what resume needs
    lines = []
    resumed, manifest, _ = _fit(tmp_path / "killed", keep=keep, log=lines.append)
    assert f"resuming from step={at_kill}.ckpt" in "\n".join(lines)
    for name in ("w", "b", "v", "c"):
        assert torch.equal(getattr(ref, name), getattr(resumed, name)), name
    assert manifest.drop(columns="file").equals(ref_manifest.drop(columns="file"))


def test_kill_between_resume_file_and_step_file_is_repaired(tmp_path):
    _, ref_manifest, _ = _fit(tmp_path / "ref")
    with pytest.raises(Killed):
        _fit(tmp_path / "killed", callbacks=[_Kill(300)])
    ckpt = tmp_path / "killed" / "ckpt"
    step = resume_step(ckpt)
    (ckpt / f"step={step}.ckpt").unlink()  # as if killed right after resume.ckpt was replaced
    _, manifest, _ = _fit(tmp_path / "killed")
    assert manifest["step"].tolist() == ref_manifest["step"].tolist()
    assert manifest["sha256"].tolist() == ref_manifest["sha256"].tolist()


def test_rerun_of_a_finished_run_starts_fresh_without_stale_files(tmp_path):
    _fit(tmp_path / "run")
    stale = tmp_path / "run" / "ckpt" / "step=123456.ckpt"
    stale.write_bytes(b"from an older run")
    lines = []
    _, manifest, _ = _fit(tmp_path / "run", keep="last", log=lines.append)
    assert any(line.startswith("starting fresh") for line in lines)
    assert _on_disk(tmp_path / "run") == [600] and manifest["step"].tolist() == [600]


def test_killed_run_resumed_under_a_wider_policy_starts_fresh(tmp_path):
    _, ref_manifest, _ = _fit(tmp_path / "ref")
    with pytest.raises(Killed):
        _fit(tmp_path / "killed", callbacks=[_Kill(300)], keep="last")
    lines = []
    _, manifest, sched = _fit(tmp_path / "killed", keep="all", log=lines.append)
    assert any("kept now but were not written; starting fresh" in line for line in lines)
    assert manifest["step"].tolist() == sched and manifest["sha256"].tolist() == ref_manifest["sha256"].tolist()


@pytest.mark.parametrize("keep", ["some", 5, None])
def test_malformed_keep_is_rejected(tmp_path, keep):
    with pytest.raises(CheckpointError, match="keep must be"):
        _fit(tmp_path / "run", max_steps=50, keep=keep)
