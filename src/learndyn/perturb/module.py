"""Lightning module of the perturb study: CE, SGD with momentum and weight decay, lr 0.3^floor(e/4).

Mini-batches are drawn by the module itself from data held in (non-persistent) buffers: the batch
of global step s is slice s mod I of a permutation seeded by (seed, epoch s // I), I = iterations
per epoch.  The order is therefore a pure function of the step, and a run killed mid-epoch resumes
bit-identically (Lightning would restart a sized loader at the start of the epoch).  The LambdaLR
is stepped after every update with a factor that depends only on the epoch s // I, i.e. the
authors' per-epoch schedule.  The history (per checkpoint: loss, eval accuracy on a fixed subset,
test accuracy at epoch ends) travels inside every checkpoint, so it resumes with the weights.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from learndyn.perturb.runs import iters_per_epoch, lr_factor

EVAL_CHUNK = 1000


class PerturbClassifier(pl.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        *,
        model_id: str,
        in_shape: tuple,
        data: dict,
        lr: float,
        momentum: float,
        weight_decay: float,
        batch_size: int,
        epochs: int,
        lr_decay: float,
        lr_decay_every: int,
        lr_period: int = 0,
        schedule: list[int],
        seed: int,
        eval_images: int,
        pad_mode: str = "exact",
        n_classes: int = 10,
    ):
        super().__init__()
        self.automatic_optimization = False
        self.net = net
        self.meta = {
            "model": model_id,
            "in_shape": [int(s) for s in in_shape],
            "n_classes": int(n_classes),
            "pad_mode": pad_mode,
        }
        for name in ("x_train", "y_train", "x_test", "y_test"):
            self.register_buffer(name, torch.as_tensor(np.array(data[name])), persistent=False)
        self.n_eval = min(int(eval_images), len(data["y_test"]))  # fixed eval subset: first test images
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.ipe = iters_per_epoch(len(data["y_train"]), self.batch_size)
        self.max_steps = self.ipe * int(epochs)
        self.decay = (float(lr_decay), int(lr_decay_every), int(lr_period))
        self.schedule = set(int(s) for s in schedule)
        self.history: list[dict] = []
        self._loss_sum, self._loss_n = 0.0, 0

    # -- data and schedule ----------------------------------------------------------------------
    def batch_indices(self, step: int) -> torch.Tensor:
        epoch, b = divmod(int(step), self.ipe)
        if getattr(self, "_perm", (None,))[0] != epoch:  # one permutation per epoch, a pure function of it
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = (epoch, torch.randperm(len(self.y_train), generator=g))
        return self._perm[1][b * self.batch_size : (b + 1) * self.batch_size]

    def factor(self, step: int) -> float:
        """lr factor of the update that takes the weights from ``step`` to ``step + 1``."""
        return lr_factor(int(step) // self.ipe, *self.decay)

    def train_dataloader(self):
        return itertools.repeat(torch.zeros(()))  # the module draws its own batches (see docstring)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.net.parameters(), lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: self.factor(s))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # -- evaluation -----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """(accuracy, mean CE) in eval mode (BatchNorm running statistics), chunked."""
        was_training = self.net.training
        self.net.eval()
        correct, loss = 0, 0.0
        for i in range(0, len(y), EVAL_CHUNK):
            out = self.net(x[i : i + EVAL_CHUNK])
            correct += int((out.argmax(1) == y[i : i + EVAL_CHUNK]).sum())
            loss += float(F.cross_entropy(out, y[i : i + EVAL_CHUNK], reduction="sum"))
        self.net.train(was_training)
        return correct / max(len(y), 1), loss / max(len(y), 1)

    def _record(self, step: int) -> None:
        eval_acc, eval_loss = self.evaluate(self.x_test[: self.n_eval], self.y_test[: self.n_eval])
        epoch_end = step % self.ipe == 0
        test_acc = self.evaluate(self.x_test, self.y_test)[0] if epoch_end else math.nan
        last = max(step - 1, 0)
        self.history.append(
            {
                "step": step,
                "epoch": last // self.ipe if step else 0,
                "batch": last % self.ipe if step else -1,
                "epoch_float": step / self.ipe,
                "lr": self.lr * self.factor(last),
                "train_loss": self._loss_sum / self._loss_n if self._loss_n else math.nan,
                "eval_loss": eval_loss,
                "eval_acc": eval_acc,
                "test_acc": test_acc,
                "checkpoint": step in self.schedule or step == self.max_steps,
            }
        )
        self._loss_sum, self._loss_n = 0.0, 0

    @property
    def checkpoint_loss(self) -> float:
        return float(self.history[-1]["train_loss"]) if self.history else math.nan

    # -- Lightning hooks --------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        # runs after a resume restored the history (on_load_checkpoint) and before the step-0 save
        if not self.history:
            self._record(0)

    def on_train_batch_start(self, batch, batch_idx):
        if self.trainer.global_step >= self.max_steps:
            return -1

    def training_step(self, batch, batch_idx):
        step = int(self.trainer.global_step)
        idx = self.batch_indices(step).to(self.x_train.device)
        x, y = self.x_train[idx], self.y_train[idx]
        opt, sched = self.optimizers(), self.lr_schedulers()
        loss = F.cross_entropy(self.net(x), y)
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        sched.step()
        self._loss_sum += float(loss.detach())
        self._loss_n += 1
        done = step + 1
        # record before the checkpoint callback (on_train_batch_end) saves, so the row is in the file
        if done in self.schedule or done % self.ipe == 0 or done == self.max_steps:
            self._record(done)
        if done >= self.max_steps:
            self.trainer.should_stop = True

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["perturb"] = {
            **self.meta,
            "history": [dict(r) for r in self.history],
            "loss_acc": [self._loss_sum, self._loss_n],
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        saved = checkpoint.get("perturb", {})
        self.history = [dict(r) for r in saved.get("history", [])]
        self._loss_sum, self._loss_n = saved.get("loss_acc", [0.0, 0])
