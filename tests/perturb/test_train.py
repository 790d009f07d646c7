"""Perturb training (adversarial.md, 'Training and checkpoints'): schedule, lr factor, history, checkpoints, load_model,
kill/resume."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from learndyn.io import read_table
from learndyn.job import Job
from learndyn.perturb.data import load_dataset
from learndyn.perturb.models import load_model
from learndyn.perturb.module import fit_run
from learndyn.perturb.runs import checkpoint_schedule, checkpoint_steps, lr_factor
from learndyn.train import MANIFEST, load_checkpoint

TRAIN = dict(
    batch_size=32,
    epochs=2,
    momentum=0.9,
    weight_decay=1e-4,
    lr_decay=0.3,
    lr_decay_every=1,
    pad_mode="exact",
    eval_images=50,
    checkpoints={"epoch0": [1, 2, 4], "per_epoch": 2},
)


def test_checkpoint_schedule_dense_early():
    assert checkpoint_schedule({"epoch0": "every", "per_epoch": 1}, 100, 32, 2) == [0, 1, 2, 3, 4, 8]
    assert checkpoint_schedule({"epoch0": [1, 3, 99], "per_epoch": 2}, 100, 32, 3) == [0, 1, 3, 4, 6, 8, 10, 12]
    log = checkpoint_schedule({"epoch0": 6, "per_epoch": 1}, 10000, 128, 5)
    assert log[:7] == [0, 1, 2, 6, 14, 33, 79] and 79 in log and log[-1] == 395
    # authors' CIFAR grid: after updates 1, 31, ..., 391 -> 14 per 391-iteration epoch
    grid = checkpoint_schedule({"epoch0": [1], "grid": 30, "per_epoch": 1}, 50000, 128, 1)
    assert len([s for s in grid if s > 0 and s % 30 == 1]) == 14


def test_lr_factor_authors_schedules():
    assert [lr_factor(e, 0.3, 4) for e in (0, 3, 4, 8)] == pytest.approx([1, 1, 0.3, 0.09])
    assert lr_factor(21, 0.3, 4, period=20) == pytest.approx(1.0) and lr_factor(39, 0.3, 4, 20) == pytest.approx(0.3**4)


@pytest.fixture(scope="module")
def data():
    d = load_dataset({"name": "synthetic", "size": 8, "train_per_class": 10, "test_per_class": 10, "seed": 0})
    return {k: d[k] for k in ("x_train", "y_train", "x_test", "y_test")}  # 100 images: 4 iterations/epoch


class Killed(RuntimeError):
    pass


class _Kill(pl.Callback):
    def __init__(self, at):
        self.at = at

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.at:
            raise Killed


def _fit(run_dir, data, callbacks=()):
    job = Job("train_perturb", {}, {}, cfg={})
    job.log = lambda msg: None
    return fit_run(
        job,
        data,
        run_dir=run_dir,
        dataset="synth",
        model="conv_relu_l1_k3_c2",
        seed=4,
        lr=0.05,
        train=TRAIN,
        extra_callbacks=callbacks,
    )


def test_history_checkpoints_and_load_model(tmp_path, data):
    hist = _fit(tmp_path / "run", data)
    assert hist["step"].tolist() == [0, 1, 2, 4, 6, 8]
    assert hist["checkpoint"].all() and checkpoint_steps(tmp_path / "run") == [0, 1, 2, 4, 6, 8]
    ends = hist.dropna(subset=["test_acc"])
    assert ends["step"].tolist() == [0, 4, 8]  # step 0 and every epoch end
    assert hist["lr"].tolist() == pytest.approx([0.05] * 4 + [0.015] * 2)  # epoch 1: x 0.3
    assert hist["train_loss"].isna().tolist() == [True] + [False] * 5
    manifest = read_table(tmp_path / "run" / "checkpoints.parquet", MANIFEST)
    assert manifest["step"].tolist() == [0, 1, 2, 4, 6, 8]
    model = load_model(tmp_path / "run", 4)
    assert not model.training
    state = load_checkpoint(tmp_path / "run" / "ckpt" / "step=4.ckpt")
    assert torch.equal(model[0].weight, state["state_dict"]["net.0.weight"])
    x = torch.as_tensor(data["x_test"][:50])
    assert (model(x).argmax(1).numpy() == data["y_test"][:50]).mean() == pytest.approx(hist.loc[3, "eval_acc"])


def test_resume_after_kill_equals_uninterrupted_run(tmp_path, data):
    ref = _fit(tmp_path / "ref", data)
    with pytest.raises(Killed):
        _fit(tmp_path / "killed", data, callbacks=[_Kill(5)])  # mid-epoch 1, after the step-4 checkpoint
    assert checkpoint_steps(tmp_path / "killed") == [0, 1, 2, 4]
    resumed = _fit(tmp_path / "killed", data)
    assert resumed.drop(columns="train_loss").equals(ref.drop(columns="train_loss"))
    assert resumed["train_loss"].iloc[:4].equals(ref["train_loss"].iloc[:4])
    a = load_checkpoint(tmp_path / "ref" / "ckpt" / "step=8.ckpt")["state_dict"]
    b = load_checkpoint(tmp_path / "killed" / "ckpt" / "step=8.ckpt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-identical weights


def test_contamination_claim_compares_conv_and_fc_gains():
    import pandas as pd

    from learndyn.perturb.claims import contamination_claims

    def table(gains):
        return pd.DataFrame(
            [
                {
                    "dataset": "s",
                    "contaminated_dataset": "s_f",
                    "eps": 0.25,
                    "p": 0.2,
                    "model": m,
                    "family": f,
                    "seeds": 3,
                    "clean_mean": 0.5,
                    "clean_sd": 0.01,
                    "contaminated_mean": 0.5 + g,
                    "contaminated_sd": 0.01,
                    "gain_mean": g,
                    "gain_sd": 0.01,
                }
                for m, f, g in gains
            ]
        )

    crit = {"contamination_t": 2.0}
    good = table(
        [
            ("fc_lin_l1", "fc_lin", 0.01),
            ("conv_lin_l1_k3_c8", "conv_lin", 0.2),
            ("fc_relu", "fc_relu", 0.0),
            ("conv_relu_l1_k3_c8", "conv_relu", 0.05),
        ]
    )
    (row,) = contamination_claims(good, crit)
    # Welch t of the ReLU pair: 0.05 / sqrt(2 * 0.01^2 / 3)
    assert row["claim_id"] == "R5-s_f" and row["verdict"] == "reproduced"
    assert row["value"] == pytest.approx(0.05 / (0.01 * (2 / 3) ** 0.5))
    noisy = good.assign(gain_sd=0.2)  # same means, seed noise larger than the effect
    (row,) = contamination_claims(noisy, crit)
    assert row["verdict"] == "not reproduced"
    bad = table([("fc_lin_l1", "fc_lin", 0.03), ("conv_lin_l1_k3_c8", "conv_lin", 0.01)])
    (row,) = contamination_claims(bad, crit)
    assert row["verdict"] == "not reproduced" and "relu: pair not trained" in row["detail"]
    (row,) = contamination_claims(table([("fc_lin_l1", "fc_lin", 0.03)]), crit)
    assert row["verdict"] == "not run"  # no pair trained: the config lacks the runs
    (row,) = contamination_claims(good[good["family"].str.endswith("lin")], crit)
    assert row["verdict"] == "inconclusive"  # the linear pair passes, the ReLU pair is missing
