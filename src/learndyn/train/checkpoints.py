"""Checkpoints at breakpoints, their manifest, and safe loading.

The checkpoint folder is deliberately *not* a Snakemake output (Snakemake deletes outputs
before rerunning a job, which would defeat resuming).  The declared output is the manifest
``checkpoints.parquet`` (step, file, sha256, loss, final), written last, after training ends.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pytorch_lightning as pl
import torch

from learndyn.io import Table, atomic_path, write_table

MANIFEST = Table("checkpoints", (
    ("step", pa.int64()), ("file", pa.string()), ("sha256", pa.string()),
    ("loss", pa.float64()), ("final", pa.bool_()),
))
_STEP_FILE = re.compile(r"^step=(\d+)\.ckpt$")


class CheckpointError(RuntimeError):
    """A checkpoint is unreadable, unsafe, or belongs to another model or config."""


def progress_step(trainer: pl.Trainer, module: pl.LightningModule) -> int:
    """The training step a module reports (e.g. inner GD steps), else Lightning's global step."""
    step = getattr(module, "progress_step", None)
    return int(step) if step is not None else int(trainer.global_step)


def checkpoint_files(ckpt_dir: str | os.PathLike) -> dict[int, Path]:
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return {}
    found = {}
    for p in ckpt_dir.iterdir():
        m = _STEP_FILE.match(p.name)
        if m:
            found[int(m.group(1))] = p
    return dict(sorted(found.items()))


def load_checkpoint(path: str | os.PathLike, expected_keys: set[str] | None = None) -> dict:
    """Load a checkpoint with weights-only unpickling; nothing on disk runs as code.

    ``expected_keys`` (state-dict keys of the model it should belong to) turns a checkpoint of
    another model into a clear error instead of a confusing one downstream.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, foreign file, or a pickled object
        raise CheckpointError(
            f"{path}: cannot be loaded as a weights-only checkpoint "
            f"(truncated, foreign, or carrying pickled objects): {type(err).__name__}: {err}"
        ) from err
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no state_dict)")
    if expected_keys is not None and set(ckpt["state_dict"]) != set(expected_keys):
        raise CheckpointError(
            f"{path}: checkpoint of another model: has {sorted(ckpt['state_dict'])}, "
            f"expected {sorted(expected_keys)}"
        )
    return ckpt


def latest_checkpoint(ckpt_dir: str | os.PathLike) -> Path | None:
    files = checkpoint_files(ckpt_dir)
    return files[max(files)] if files else None


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class BreakpointCheckpoint(pl.Callback):
    """Save ``step=<n>.ckpt`` at each breakpoint, at step 0, and at the end of training.

    The step is :func:`progress_step`, so a module that runs many inner steps per Lightning
    step (full-batch GD) is checkpointed at its own step count; such a module must stop its
    inner loop at the next breakpoint.  Writes are atomic (temp file, then rename), so a kill
    never leaves a half-written checkpoint that a resume would trust.
    """

    def __init__(self, ckpt_dir: str | os.PathLike, schedule: list[int],
                 log: Callable[[str], None] = print):
        self.ckpt_dir = Path(ckpt_dir)
        self.schedule = set(int(s) for s in schedule)
        self.emit = log

    def _save(self, trainer: pl.Trainer, module: pl.LightningModule, final: bool = False) -> None:
        step = progress_step(trainer, module)
        path = self.ckpt_dir / f"step={step}.ckpt"
        if path.exists() and not final:
            return
        self._pending = {"step": step, "final": final,
                         "loss": float(getattr(module, "checkpoint_loss", float("nan")))}
        tmp = atomic_path(path)
        try:
            trainer.save_checkpoint(tmp, weights_only=False)  # full state: resume needs it
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        checkpoint["learndyn"] = dict(getattr(self, "_pending", {}))

    def on_train_start(self, trainer, pl_module) -> None:
        if 0 in self.schedule and progress_step(trainer, pl_module) == 0:
            self._save(trainer, pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if progress_step(trainer, pl_module) in self.schedule:
            self._save(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        self._save(trainer, pl_module, final=True)


class ProgressLog(pl.Callback):
    """One line per ``every_s`` seconds of wall time: long jobs show they are alive."""

    def __init__(self, every_s: float = 10.0, log: Callable[[str], None] = print):
        self.every_s, self.emit, self._last = every_s, log, 0.0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            loss = getattr(pl_module, "checkpoint_loss", float("nan"))
            self.emit(f"step {progress_step(trainer, pl_module)}  loss {loss:.3e}")


def write_manifest(ckpt_dir: str | os.PathLike, manifest_path: str | os.PathLike, prov: dict) -> pd.DataFrame:
    """Hash every checkpoint and write the manifest (the job's declared output) last."""
    manifest_path = Path(manifest_path)
    rows = []
    for step, path in checkpoint_files(ckpt_dir).items():
        meta = load_checkpoint(path).get("learndyn", {})
        rows.append({"step": step, "file": os.path.relpath(path, manifest_path.parent),
                     "sha256": sha256(path), "loss": float(meta.get("loss", float("nan"))),
                     "final": bool(meta.get("final", False))})
    if not rows:
        raise CheckpointError(f"{ckpt_dir}: no checkpoints to list in the manifest")
    df = pd.DataFrame(rows)
    write_table(df, manifest_path, MANIFEST, prov)
    return df
