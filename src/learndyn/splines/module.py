"""Lightning module: batched full-batch GD on shallow ReLU nets, checkpointed at breakpoints.

One Lightning step runs an inner loop of plain GD steps (``chunk`` of them, or fewer so that
the loop stops exactly on the next breakpoint); ``progress_step`` reports GD steps, which is
what the breakpoint callback and checkpoint names count.  Per-run state (step sizes, previous
losses, convergence steps) lives in buffers and in the optimizer, so it is checkpointed and a
resumed run continues bit-identically.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn

from learndyn.splines.gd import PerRunGD, gd_chunk, loss_and_grads
from learndyn.splines.trajectory import PARAM_NAMES
from learndyn.train import next_breakpoint


class SplineGD(pl.LightningModule):
    def __init__(
        self,
        params0: dict,
        x,
        y,
        schedule: list[int],
        max_steps: int,
        tol: float = 1e-8,
        refresh: int = 2000,
        chunk: int = 1000,
        eta_scale: float = 0.5,
    ):
        super().__init__()
        self.automatic_optimization = False
        dt = torch.float64
        for name in PARAM_NAMES:
            setattr(self, name, nn.Parameter(torch.tensor(np.array(params0[name], dtype=np.float64))))
        n_runs = self.w.shape[0]
        self.register_buffer("x", torch.tensor(np.array(x, dtype=np.float64)))
        self.register_buffer("y", torch.tensor(np.array(y, dtype=np.float64)))
        self.register_buffer("step_count", torch.zeros((), dtype=torch.int64))
        self.register_buffer("loss", torch.full((n_runs,), float("inf"), dtype=dt))
        self.register_buffer("converged_step", torch.full((n_runs,), -1, dtype=torch.int64))
        self.schedule, self.max_steps = list(schedule), int(max_steps)
        self.tol, self.refresh, self.chunk = float(tol), int(refresh), int(chunk)
        self.eta_scale = float(eta_scale)

    # -- what the breakpoint callback reads --------------------------------------------------
    @property
    def progress_step(self) -> int:
        return int(self.step_count)

    @property
    def checkpoint_loss(self) -> float:
        """Worst run's loss (the manifest keeps one number per checkpoint)."""
        loss = self.loss if torch.isfinite(self.loss).all() else self._current_loss()
        return float(loss.max())

    def _current_loss(self):
        with torch.no_grad():
            return loss_and_grads(self.w, self.b, self.v, self.c, self.x, self.y)[0]

    @property
    def done(self) -> bool:
        return self.progress_step >= self.max_steps or bool((self.converged_step >= 0).all())

    # -- Lightning hooks --------------------------------------------------------------------
    def configure_optimizers(self):
        return PerRunGD([self.w, self.b, self.v, self.c], n_runs=self.w.shape[0])

    def train_dataloader(self):
        return itertools.repeat(torch.zeros(()))  # the data live in buffers: full batch

    def on_train_batch_start(self, batch, batch_idx):
        if self.done:
            return -1  # ends the (single, endless) epoch: nothing left to train

    @torch.no_grad()
    def training_step(self, batch, batch_idx):
        opt = self.optimizers().optimizer
        step = self.progress_step
        stop = min(next_breakpoint(self.schedule, step) or self.max_steps, self.max_steps)
        params = (self.w.data, self.b.data, self.v.data, self.c.data)
        step = gd_chunk(
            params,
            self.x,
            self.y,
            opt.param_groups[0]["eta"],
            self.loss,
            self.converged_step,
            step,
            min(self.chunk, stop - step),
            tol=self.tol,
            refresh=self.refresh,
            eta_scale=self.eta_scale,
        )
        self.step_count.fill_(step)
        if self.done:
            self.loss.copy_(self._current_loss())
            self.trainer.should_stop = True
