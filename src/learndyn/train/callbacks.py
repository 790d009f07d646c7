"""Lightning callbacks: checkpoints at breakpoints, and progress lines for long jobs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl

from learndyn.checkpoints import identity
from learndyn.io import atomic_write
from learndyn.train.store import RESUME, keep_policy, write_weights


def progress_step(trainer: pl.Trainer, module: pl.LightningModule) -> int:
    """The training step a module reports (e.g. inner GD steps), else Lightning's global step."""
    step = getattr(module, "progress_step", None)
    return int(step) if step is not None else int(trainer.global_step)


class BreakpointCheckpoint(pl.Callback):
    """At each breakpoint, at step 0 and at the end of training: the full state to ``resume.ckpt``,
    and, for the breakpoints ``keep`` retains (:func:`learndyn.train.store.keep_policy`), the
    weights to ``step=<n>.ckpt``.

    The step is :func:`progress_step`, so a module that runs many inner steps per Lightning
    step (full-batch GD) is checkpointed at its own step count; such a module must stop its
    inner loop at the next breakpoint.  Writes are atomic (temp file, then rename), so a kill
    never leaves a half-written checkpoint that a resume would trust.  The resume file is
    replaced before the step file is written; a kill in between is repaired on resume
    (:func:`learndyn.train.factory.fit_with_breakpoints`).
    """

    def __init__(
        self,
        ckpt_dir: str | os.PathLike,
        schedule: list[int],
        log: Callable[[str], None] = print,
        keep="all",
        run: dict | None = None,
    ):
        self.ckpt_dir = Path(ckpt_dir)
        self.run = run  # learndyn.checkpoints.run_identity: stamped into every file
        self.schedule = {int(s) for s in schedule}
        self.emit = log
        self.keeps = keep_policy(keep)

    def _save(self, trainer: pl.Trainer, module: pl.LightningModule, final: bool = False) -> None:
        step = progress_step(trainer, module)
        path = self.ckpt_dir / f"step={step}.ckpt"
        self._pending = {"step": step, "final": final, "loss": float(getattr(module, "checkpoint_loss", float("nan")))}
        if self.run is not None:
            self._pending["identity"] = identity(self.run, step)
        with atomic_write(self.ckpt_dir / RESUME) as tmp:
            trainer.save_checkpoint(tmp, weights_only=False)  # full state: resume needs it
        resume = self.ckpt_dir / RESUME
        # a kept step file is written once (a resumed run reaches the same weights): its bytes,
        # hash and mtime stay those of the first write; the final one is rewritten to say final
        if self.keeps(step, final) and (final or not path.exists()):
            write_weights(resume, path, getattr(module, "resume_only_state", ()))

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
