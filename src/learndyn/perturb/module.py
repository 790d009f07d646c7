"""Lightning module of the perturb study: CE, SGD with momentum and weight decay, lr 0.3^floor(e/4); and
:func:`fit_run`, one training run through the trainer factory (resumable, checkpoints at breakpoints).

Mini-batches are drawn by the module itself from data held in (non-persistent) buffers: the batch
of global step s is slice s mod I of a permutation seeded by (seed, epoch s // I), I = iterations
per epoch.  The order is therefore a pure function of the step, and a run killed mid-epoch resumes
bit-identically (Lightning would restart a sized loader at the start of the epoch).  The LambdaLR
is stepped after every update with a factor that depends only on the epoch s // I, i.e. the
authors' per-epoch schedule.  The history (per checkpoint: loss, eval accuracy on a fixed subset,
test accuracy at epoch ends) travels inside every checkpoint, so it resumes with the weights.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from learndyn.perturb.runs import checkpoint_schedule, iters_per_epoch, lr_factor, run_name
from learndyn.perturb.tables import HISTORY

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


def _digest(data: dict) -> str:
    h = hashlib.sha256()
    for k in ("x_train", "y_train", "x_test", "y_test"):
        h.update(np.ascontiguousarray(data[k]).tobytes())
    return h.hexdigest()[:16]


def fit_run(
    job,
    data: dict,
    *,
    run_dir: Path,
    dataset: str,
    model: str,
    seed: int,
    lr: float,
    train: dict,
    condition: str = "clean",
    write_history=None,
    extra_callbacks=(),
    keep="all",
) -> pd.DataFrame:
    """Train one run (resuming if killed) on ``job.accelerator`` and return its history rows.

    ``write_history(frame)`` writes the job's history output before the manifest (written last);
    ``keep`` is the retention policy (:func:`learndyn.train.store.keep_policy`)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS when on a GPU
    from learndyn.perturb.models import build_model
    from learndyn.train.factory import fit_with_breakpoints

    shape = tuple(data["x_train"].shape[1:])
    n_train = len(data["y_train"])
    schedule = checkpoint_schedule(train["checkpoints"], n_train, train["batch_size"], train["epochs"])
    net = build_model(model, shape, pad_mode=train["pad_mode"], seed=seed)
    module = PerturbClassifier(
        net,
        model_id=model,
        in_shape=shape,
        data=data,
        lr=lr,
        momentum=train["momentum"],
        weight_decay=train["weight_decay"],
        batch_size=train["batch_size"],
        epochs=train["epochs"],
        lr_decay=train["lr_decay"],
        lr_decay_every=train["lr_decay_every"],
        lr_period=train.get("lr_period", 0),
        schedule=schedule,
        seed=seed,
        eval_images=train["eval_images"],
        pad_mode=train["pad_mode"],
    )
    job.log(
        f"{run_name(dataset, model, seed)} [{condition}]: {n_train} images, {module.ipe} it/epoch x "
        f"{train['epochs']}, {len(schedule)} checkpoints, lr {lr}"
    )
    # the parameter names and shapes too: checkpoints of an older architecture are discarded, not resumed
    layout = {k: list(v.shape) for k, v in module.state_dict().items()}
    fingerprint = {"model": model, "seed": seed, "lr": lr, "train": train, "data": _digest(data), "layout": layout}
    out = {}

    def finish():
        out["history"] = _history_frame(module.history, dataset, model, seed, condition)
        if write_history is not None:
            write_history(out["history"])

    fit_with_breakpoints(
        module,
        module.train_dataloader(),
        run_dir=run_dir,
        schedule=schedule,
        seed=seed,
        fingerprint=fingerprint,
        provenance=job.provenance(seed=seed),
        threads=job.threads,
        max_steps=module.max_steps,
        accelerator=job.accelerator,
        precision=train.get("precision", "32-true"),
        log=job.log,
        before_manifest=finish,
        extra_callbacks=extra_callbacks,
        keep=keep,
    )
    hist = out["history"]
    ends = hist.dropna(subset=["test_acc"])
    best = ends.loc[ends["test_acc"].idxmax()]
    job.log(
        f"  test acc: step 0 {ends['test_acc'].iloc[0]:.3f}, final {ends['test_acc'].iloc[-1]:.3f}, "
        f"best {best['test_acc']:.3f} at epoch {int(best['epoch'])} (selected on the test set, as the authors)"
    )
    return hist


def _history_frame(history: list[dict], dataset: str, model: str, seed: int, condition: str) -> pd.DataFrame:
    hist = pd.DataFrame(history)
    hist.insert(0, "condition", condition)
    for col, val in (("seed", seed), ("model", model), ("dataset", dataset), ("run", run_name(dataset, model, seed))):
        hist.insert(0, col, val)
    return hist[[c for c, _ in HISTORY.columns]]
