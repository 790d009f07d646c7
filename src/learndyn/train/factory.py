"""The one Lightning trainer factory, and fit-with-resume around it.

Every gradient-trained model of every study goes through :func:`make_trainer`: CPU by
default, deterministic, seeded, torch threads = the rule's threads, our own breakpoint
checkpointing instead of Lightning's ModelCheckpoint, no logger folders.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.environments import LightningEnvironment

from learndyn.checkpoints import KEEP_KEY, check_identity, decode, identity, run_identity
from learndyn.io import clear_folder, config_hash, writer_lock
from learndyn.train.callbacks import BreakpointCheckpoint, ProgressLog
from learndyn.train.store import (
    RESUME,
    CheckpointError,
    checkpoint_files,
    describe_keep,
    keep_policy,
    keeps_none,
    load_checkpoint,
    write_manifest,
    write_weights,
)

FINGERPRINT = "run.json"


def make_trainer(
    *,
    ckpt_dir: str | os.PathLike,
    schedule: list[int],
    seed: int,
    threads: int = 1,
    max_steps: int = -1,
    accelerator: str = "cpu",
    precision: str = "32-true",
    log: Callable[[str], None] = print,
    progress_every_s: float = 10.0,
    callbacks: Iterable[pl.Callback] = (),
    keep: Any = "all",
    run: dict | None = None,
) -> pl.Trainer:
    # Lightning's banner lines (accelerator list, logger tips) would drown the job logs.
    logging.getLogger("pytorch_lightning.utilities.rank_zero").setLevel(logging.WARNING)
    # Lightning probes for SLURM auto-resume at every fresh fit and warns when `srun` exists but
    # the process was not started by it.  Our jobs are single-process by design (Snakemake or its
    # SLURM executor launches them; resume is ours), so that hint never applies.
    warnings.filterwarnings("ignore", message="The `srun` command is available on your system")
    torch.set_num_threads(max(1, int(threads)))
    pl.seed_everything(seed, workers=True, verbose=False)
    return pl.Trainer(
        accelerator=accelerator,
        devices=1,
        precision=precision,
        deterministic=True,
        max_steps=max_steps,
        max_epochs=-1 if max_steps > 0 else 1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        # One process, one device per job: Snakemake (or its SLURM executor) does the scheduling,
        # so Lightning must not try to act as a SLURM/multi-node launcher (nor warn about srun).
        plugins=[LightningEnvironment()],
        callbacks=[
            BreakpointCheckpoint(ckpt_dir, schedule, log=log, keep=keep, run=run),
            ProgressLog(progress_every_s, log=log),
            *callbacks,
        ],
    )


def _prepare_run_dir(ckpt_dir: Path, fingerprint: dict, log: Callable[[str], None]) -> None:
    """Discard checkpoints written under another config: resuming from them would be wrong."""
    marker = ckpt_dir / FINGERPRINT
    want = config_hash(fingerprint)
    if ckpt_dir.exists():
        have = None
        if marker.exists():
            try:
                have = json.loads(marker.read_text()).get("hash")
            except (json.JSONDecodeError, OSError):
                have = None
        if have != want and (checkpoint_files(ckpt_dir) or (ckpt_dir / RESUME).exists()):
            log(f"{ckpt_dir}: checkpoints belong to another config ({have} != {want}); starting fresh")
            clear_folder(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"hash": want, "config": fingerprint}, sort_keys=True, default=str))


def _own(path: Path, run: dict, step: int | None, log: Callable[[str], None]) -> dict | None:
    """``path``'s content if it is a readable checkpoint of ``run`` (at ``step`` when given); else
    None, after logging why and deleting it: a foreign, stale or broken file is never resumed from."""
    try:
        ckpt, found = decode(path)
        check_identity(path, found, dict(run) if step is None else identity(run, step))
        return ckpt
    except CheckpointError as err:
        log(f"skipping {err}")
        path.unlink()
        return None


def _resume_point(
    ckpt_dir: Path, keeps, schedule: list[int], log: Callable[[str], None], run: dict, drop=()
) -> Path | None:
    """``resume.ckpt`` if training can continue from it, else None after clearing the folder.

    Without a valid resume file (never started; finished: it is deleted after the manifest; or
    skipped: unreadable or another run's, logged) the run starts fresh and old step files go, so
    that no file of an earlier run is taken for this one's; so does a killed run whose policy now
    keeps a passed breakpoint it did not write (or whose step file was skipped).  A kill between
    replacing the resume file and writing its kept step file is repaired.
    """
    resume = ckpt_dir / RESUME
    ckpt = _own(resume, run, None, log) if resume.exists() else None
    if ckpt is not None:
        meta = ckpt.get("learndyn", {})
        step, final = int(meta.get("step", -1)), bool(meta.get("final", False))
        files = {s: p for s, p in checkpoint_files(ckpt_dir).items() if _own(p, run, s, log) is not None}
        lost = [s for s in schedule if s < step and keeps(s, False) and s not in files]
        if not lost:
            if keeps(step, final) and (final or step not in files):
                write_weights(resume, ckpt_dir / f"step={step}.ckpt", drop)
            return resume
        log(f"{ckpt_dir}: breakpoints {lost} are kept now but were not written; starting fresh")
        resume.unlink()
    for path in checkpoint_files(ckpt_dir).values():
        path.unlink()
    return None


def fit_with_breakpoints(
    module: pl.LightningModule,
    train_data: Any,
    *,
    run_dir: str | os.PathLike,
    schedule: list[int],
    seed: int,
    fingerprint: dict,
    provenance: dict,
    threads: int = 1,
    max_steps: int = -1,
    accelerator: str = "cpu",
    precision: str = "32-true",
    log: Callable[[str], None] = print,
    manifest_name: str = "checkpoints.parquet",
    extra_callbacks: Iterable[pl.Callback] = (),
    before_manifest: Callable[[], None] | None = None,
    keep: Any = "all",
):
    """Fit ``module`` with checkpoints at ``schedule``; resume from ``resume.ckpt`` if any.

    ``keep`` is the rule's retention policy (:func:`learndyn.train.store.keep_policy`): the
    breakpoints its analyses read; the others are never written as step files (``"none"``: no
    step file, only the resume state while training, and a manifest without rows).
    ``fingerprint`` is everything that determines the run (config sub-dict, data hash...);
    checkpoints written under another fingerprint are discarded rather than resumed; its hash and
    ``seed`` are the run identity every checkpoint carries (:mod:`learndyn.checkpoints`).  ``keep``
    is not part of it: a killed run resumes under a narrower policy (a wider one that needs a
    breakpoint already passed starts fresh).
    ``before_manifest`` writes the job's other outputs once training has ended, so that the
    manifest really is the last file written.  Returns the manifest DataFrame.
    """
    run_dir = Path(run_dir)
    with writer_lock(run_dir / "ckpt"):  # in the checkpoint folder: not among the job's outputs
        return _fit(
            module,
            train_data,
            run_dir,
            schedule=schedule,
            seed=seed,
            fingerprint=fingerprint,
            provenance=provenance,
            threads=threads,
            max_steps=max_steps,
            accelerator=accelerator,
            precision=precision,
            log=log,
            manifest_name=manifest_name,
            extra_callbacks=extra_callbacks,
            before_manifest=before_manifest,
            keep=keep,
        )


def _fit(
    module,
    train_data,
    run_dir: Path,
    *,
    schedule,
    seed,
    fingerprint,
    provenance,
    threads,
    max_steps,
    accelerator,
    precision,
    log,
    manifest_name,
    extra_callbacks,
    before_manifest,
    keep,
):
    ckpt_dir = run_dir / "ckpt"
    keeps = keep_policy(keep)
    run = run_identity(fingerprint, seed)
    _prepare_run_dir(ckpt_dir, fingerprint, log)
    resume = _resume_point(ckpt_dir, keeps, schedule, log, run, getattr(module, "resume_only_state", ()))
    if resume is not None:
        expected = set(module.state_dict())
        ckpt = load_checkpoint(resume, expected_keys=expected)  # clear error before Lightning's
        log(f"resuming from step={ckpt.get('learndyn', {}).get('step')}.ckpt ({resume}: full training state)")
    else:
        log(f"starting fresh in {ckpt_dir}")
    trainer = make_trainer(
        ckpt_dir=ckpt_dir,
        schedule=schedule,
        seed=seed,
        threads=threads,
        max_steps=max_steps,
        accelerator=accelerator,
        precision=precision,
        log=log,
        callbacks=extra_callbacks,
        keep=keep,
        run=run,
    )
    try:
        trainer.fit(module, train_dataloaders=train_data, ckpt_path=str(resume) if resume else None, weights_only=True)
    except (RuntimeError, KeyError) as err:
        if resume is not None and "state_dict" in str(err):
            raise CheckpointError(f"{resume}: does not match this model: {err}") from err
        raise
    if before_manifest is not None:
        before_manifest()
    manifest = write_manifest(
        ckpt_dir,
        run_dir / manifest_name,
        {**provenance, KEEP_KEY: describe_keep(keep)},
        run,
        empty_ok=keeps_none(keep),
    )
    (ckpt_dir / RESUME).unlink(missing_ok=True)  # only a resume reads it, and training has ended
    return manifest
