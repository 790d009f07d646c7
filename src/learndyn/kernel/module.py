"""Lightning module: the nets of one run (Std, Large and any init-scale sweep nets, one draw),
single-task phase then multitask fine-tuning.

Full-batch plain GD on the summed squared error (pseudo_kernel.md, 'Training protocol'), weights only (biases are
buffers at −2, never updated).  Progress is counted in GD steps: steps 0..T are phase 1 (Single12All),
T..2T phase 2 (Multi12All), so one fit covers both phases and breakpoints every
``snapshot_every`` steps give the 2 × 101 snapshots.  The nets never interact: each has its own
param group (its lr), so adding sweep nets leaves Std and Large bit-identical.  One Lightning step runs GD steps up to
the next breakpoint (a Lightning step per GD step would cost more than the GD step itself).

State for a bit-identical resume: the weights, the step counter and the loss curves are in the
state dict; the learning rates are the optimiser's param groups.  The data are
non-persistent buffers (rebuilt from the datasets table, hashed into the run fingerprint).
"""

from __future__ import annotations

import itertools

import pytorch_lightning as pl
import torch
from torch import nn

from learndyn.kernel import multitask as mt
from learndyn.kernel.runs import SETS
from learndyn.train import next_breakpoint


@torch.no_grad()
def sse_and_grads(net: mt.TaskNet, x: torch.Tensor, y: torch.Tensor):
    """Summed SSE and its gradients wrt (W1, W2), by hand (≈ 1.6× faster than autograd here).

    f = σ(W2 [h; x_T] + b2), h = σ(W1 x + b1); with q = 2 (f − y) f (1 − f):
    ∂L/∂W2 = qᵀ z, ∂L/∂W1 = ((q W2[:, :H]) ⊙ h (1 − h))ᵀ x.
    """
    h = torch.sigmoid(torch.addmm(net.b1, x, net.W1.T))
    z = torch.cat([h, x[:, mt.N_STIM :]], dim=1)
    f = torch.sigmoid(torch.addmm(net.b2, z, net.W2.T))
    r = f - y
    q = 2 * r * f * (1 - f)
    g2 = q.T @ z
    g1 = ((q @ net.W2[:, : net.n_hidden]) * h * (1 - h)).T @ x
    return (r * r).sum(), g1, g2


class TaskNetsGD(pl.LightningModule):
    """nets[0] is Std (its loss names the checkpoints), nets[1] Large, then the sweep nets."""

    def __init__(
        self,
        nets: list[mt.TaskNet],
        lrs: list[float],
        sets: dict[str, mt.TaskData],
        *,
        phase_steps: int,
        schedule: list[int],
        loss_every: int,
    ):
        super().__init__()
        if phase_steps % loss_every:
            raise ValueError(f"loss_every={loss_every} must divide the phase length {phase_steps}")
        if len(nets) != len(lrs) or not nets:
            raise ValueError(f"need one lr per net, got {len(nets)} nets and {len(lrs)} lrs")
        self.automatic_optimization = False
        self.nets = nn.ModuleList(nets)
        for name in SETS:
            self.register_buffer(f"x_{name}", sets[name].x.float(), persistent=False)
            self.register_buffer(f"y_{name}", sets[name].y.float(), persistent=False)
        self.T, self.loss_every, self.schedule = int(phase_steps), int(loss_every), list(schedule)
        self.lrs = tuple(float(lr) for lr in lrs)
        self.register_buffer("step_count", torch.zeros((), dtype=torch.int64))
        # curves[i, net, set]: SSE of each net on each set at step i * loss_every (NaN = not yet)
        n_rec = 2 * self.T // self.loss_every + 1
        self.register_buffer("curves", torch.full((n_rec, len(nets), len(SETS)), float("nan"), dtype=torch.float64))

    # resume needs the curves; a kept step file does not (curves.parquet carries them): 1/5 of its bytes
    resume_only_state = ("curves",)

    # -- read by the breakpoint callback and the analysis ---------------------------------------
    @property
    def progress_step(self) -> int:
        return int(self.step_count)

    @property
    def max_steps(self) -> int:
        return 2 * self.T

    @property
    def checkpoint_loss(self) -> float:
        """Std net's SSE on the current phase's training set at the last recorded step."""
        done = torch.isfinite(self.curves[:, 0, 0])
        if not done.any():
            return float("nan")
        i = int(done.nonzero().max())
        return float(self.curves[i, 0, 0 if i * self.loss_every <= self.T else 2])

    def data(self, name: str):
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    @torch.no_grad()
    def _record(self, step: int) -> None:
        for n, net in enumerate(self.nets):
            for s, name in enumerate(SETS):
                x, y = self.data(name)
                self.curves[step // self.loss_every, n, s] = float(mt.sse(net(x), y))

    # -- Lightning hooks ---------------------------------------------------------------------
    def configure_optimizers(self):
        # plain SGD (no momentum, no decay); one param group per net carries its lr
        return torch.optim.SGD(
            [{"params": list(net.parameters()), "lr": lr} for net, lr in zip(self.nets, self.lrs)], lr=self.lrs[0]
        )

    def train_dataloader(self):
        return itertools.repeat(torch.zeros(()))  # data live in buffers: full batch

    def on_train_batch_start(self, batch, batch_idx):
        if self.progress_step >= self.max_steps:
            return -1

    @torch.no_grad()
    def training_step(self, batch, batch_idx):
        opt = self.optimizers().optimizer
        step = self.progress_step
        stop = min(next_breakpoint(self.schedule, step) or self.max_steps, self.max_steps)
        for s in range(step, stop):
            if s % self.loss_every == 0:
                self._record(s)
            x, y = self.data("single_train" if s < self.T else "multi_train")
            for net in self.nets:
                _, g1, g2 = sse_and_grads(net, x, y)
                net.W1.grad, net.W2.grad = g1, g2
            opt.step()
        self.step_count.fill_(stop)
        if stop >= self.max_steps:
            self._record(stop)
            self.trainer.should_stop = True
