"""Runs, data tables, per-run analyses and across-run statistics of the kernel pipeline."""

import numpy as np
import pandas as pd
import pytest
import torch

from learndyn.kernel import analysis as an
from learndyn.kernel import multitask as mt
from learndyn.kernel import runs as kr
from learndyn.kernel import stats as ks

CFG = {
    "seed": 0,
    "data": {"n_train": 60, "n_test": 30},
    "schedules": {
        "LR": {"steps": 100, "snapshot_every": 25, "loss_every": 5, "replicates": 2},
        "ET": {"steps": 400, "snapshot_every": 100, "loss_every": 20, "replicates": 1},
    },
    "ari": {"schedule": "ET", "replicates": 1},
}


def test_run_names_and_seeds():
    assert kr.run_names(CFG) == ["LR-r0", "LR-r1", "ET-r0"]
    assert kr.run_seed(0, "LR-r1") == 1 and kr.run_seed(0, "ET-r0") == 1000
    assert kr.parse_run("ET-r12") == ("ET", 12)
    with pytest.raises(ValueError, match="run 'XX-r1'"):
        kr.parse_run("XX-r1")
    assert kr.config_problems(CFG) == []
    bad = {**CFG, "schedules": {"LR": {**CFG["schedules"]["LR"], "snapshot_every": 30}}}
    problems = kr.config_problems(bad)
    assert any("kernel.schedules.LR.snapshot_every" in p for p in problems)
    assert any("kernel.ari.schedule" in p for p in problems)


def test_datasets_roundtrip():
    df = kr.datasets_frame(CFG, "LR-r1")
    assert set(df.curriculum) == {"Single12All", "Multi12All"} and len(df) == 2 * (60 + 30)
    sets = kr.run_sets(df, "LR-r1")
    direct = kr.sample_run_data(kr.run_seed(0, "LR-r1"), 60, 30)
    for name, key in (("single_train", "Single12All/train"), ("multi_test", "Multi12All/test")):
        assert torch.equal(sets[name].x, direct[key].x) and torch.equal(sets[name].y, direct[key].y)
        assert (sets[name].features == direct[key].features).all()
        assert (sets[name].n_tasks == direct[key].n_tasks).all()
    assert (sets["single_train"].n_tasks == 1).all()
    with pytest.raises(KeyError, match="LR-r7"):
        kr.task_data(df, "LR-r7", "Single12All", "train")


def test_t0_structure_hidden_embedding_ari():
    train = kr.sample_run_data(3, 120, 10)["Single12All/train"]
    std, large = mt.paired_inits(3, n_hidden=32)
    eig, groups, sil = an.t0_structure("LR-r0", {"std": std, "large": large}, train, ["sorted", "authors"], 5)
    assert set(sil) == {(i, m) for i in ("std", "large") for m in ("sorted", "authors")}
    assert sil[("std", "sorted")] > sil[("large", "sorted")]  # O3 at one seed
    assert len(eig) == 2 * 2 * 9 * 120 and eig[eig["mode"] == "authors"].ill_posed.all()
    assert set(groups.grouping) == {"task", "input"} and set(groups.columns) == {c for c, _ in an.GROUPS.columns}
    h = an.hidden_averages(std, train)
    assert {k: v.shape for k, v in h.items()} == {
        "task": (12, 32),
        "input": (12, 32),
        "task_x_input": (36, 32),
        "output": (9, 32),
    }
    arr = np.stack([h["task"], h["task"] + 0.1])
    emb = an.embed(arr)
    assert emb.shape == (2, 12, 2) and np.isfinite(emb).all()
    # items cleanly grouped by input dimension give ARI 1; a missing item is skipped, not fatal
    pts = np.repeat(np.eye(4) * 10, 3, axis=0)
    assert an.ari_at(pts, "task", 0) == pytest.approx(1.0)
    pts[5] = np.nan
    assert an.ari_at(pts, "task", 0) == pytest.approx(1.0)
    w0 = {"W1": torch.ones(2, 2)}
    assert an.relative_weight_change(w0, {"W1": 2 * torch.ones(2, 2)}) == pytest.approx(1.0)


def _runs():
    rng = np.random.default_rng(0)
    rows = []
    for s in ("LR", "ET"):
        for rep in range(6):
            for init, sil in (("std", 0.8), ("large", 0.2)):
                noise = rng.normal(0, 0.02)
                rows.append(
                    {
                        "schedule": s,
                        "replicate": rep,
                        "init": init,
                        "silhouette": sil + noise,
                        "final_single_test": 10 - 5 * (sil + noise) + rng.normal(0, 0.1),
                        "final_multi_test": 10 + 5 * (sil + noise) + rng.normal(0, 0.1),
                    }
                )
    return pd.DataFrame(rows)


def test_correlations_and_sign_counts():
    runs = _runs()
    corr = ks.correlation_table(runs, n_boot=100)
    assert set(corr.pool) == {"pooled", "per_schedule", "paired_delta"}
    pooled = corr[(corr.pool == "pooled")].set_index("loss")
    assert pooled.loc["multi", "r"] > 0.9 and pooled.loc["single", "r"] < -0.9 and pooled.loc["multi", "n"] == 24
    assert corr[corr.pool == "paired_delta"].groupby("schedule").n.first().to_dict() == {"all": 12, "LR": 6, "ET": 6}
    ok = corr.dropna()
    assert ((ok.ci_lo <= ok.r) & (ok.r <= ok.ci_hi)).all()
    assert np.isnan(ks.pearson([1, 2], [3, 4])[0]) and np.isnan(ks.pearson([1, 1, 1], [1, 2, 3])[0])
    wins, n, p, delta = ks.sign_count(runs, "final_single_test", "LR", better="std")
    assert (wins, n) == (6, 6) and delta > 0  # Std has the lower single-task loss in this toy
    wins, n, p, delta = ks.sign_count(runs, "final_multi_test", "ET", better="large")
    assert (wins, n) == (6, 6) and p == pytest.approx(1 / 64)


def test_run_inits_reuse_the_pair_when_lr_matched():
    cfg = {
        **CFG,
        "net": {"w_std": 0.1, "large_scale": 10.0},
        "schedules": {
            "LR": {**CFG["schedules"]["LR"], "lr_std": 0.03, "lr_large": 0.01},
            "ET": {**CFG["schedules"]["ET"], "lr_std": 0.01, "lr_large": 0.01},
        },
        "sweep": {"schedule": "ET", "lr": 0.01, "w_multiples": [0.5, 1, 2, 5, 10]},
    }
    et = kr.run_inits(cfg, "ET")
    assert [i["init"] for i in et] == ["std", "large", "w0.05", "w0.2", "w0.5"] and all(i["sweep"] for i in et)
    assert [i["init"] for i in kr.run_inits(cfg, "LR")] == ["std", "large"]
    # on an lr-mismatched schedule Std (lr 0.03) is not a sweep point: a w = 0.1 net at lr 0.01 is trained
    lr = kr.run_inits({**cfg, "sweep": {**cfg["sweep"], "schedule": "LR"}}, "LR")
    assert [(i["init"], i["sweep"]) for i in lr][:3] == [("std", False), ("large", True), ("w0.05", True)]
    assert "w0.1" in [i["init"] for i in lr] and kr.run_config(cfg, "ET-r0")["inits"] == et
    bad = {**cfg, "sweep": {"schedule": "ET", "lr": 0.01, "w_multiples": [1, 1.0000000001, 2]}}
    assert any("kernel.sweep.w_multiples" in p for p in kr.config_problems(bad))


def test_sweep_table_per_replicate_mean_and_pooled():
    rng = np.random.default_rng(1)
    rows = [
        {
            "replicate": r,
            "w": w,
            "silhouette": 1 - w + rng.normal(0, 0.01),
            "final_single_test": 5 + 10 * w,
            "final_multi_test": 50 - 10 * w + rng.normal(0, 0.1),
        }
        for r in range(4)
        for w in (0.05, 0.1, 0.2, 0.5, 1.0)
    ]
    st = ks.sweep_table(pd.DataFrame(rows), n_boot=50).set_index(["x", "y", "level"])
    assert st.loc[("w", "silhouette", "mean"), "rho"] == pytest.approx(-1.0)
    assert st.loc[("silhouette", "final_single_test", "mean"), "rho"] == pytest.approx(-1.0)
    assert st.loc[("silhouette", "final_multi_test", "pooled"), "n"] == 20
    assert (st.xs("replicate", level="level").n == 5).all()
    m = st.loc[("silhouette", "final_multi_test", "mean")]
    assert m.rho > 0.9 and m.ci_lo <= m.rho <= m.ci_hi and m.p == pytest.approx(0.125)
