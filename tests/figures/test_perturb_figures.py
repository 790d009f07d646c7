"""Perturb figures at default-config crowding (7 models x 2 seeds, two attacks, 13 checkpoints),
from synthetic tables with the DAG's schemas: every figure is readable at its saved size
(learndyn.figures.layout), and F2's change-point panel is a per-model summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from learndyn.figures import perturb_dynamics as pdy
from learndyn.figures import perturb_training as ptr
from learndyn.figures.layout import layout_problems
from learndyn.perturb import tables as pt
from learndyn.perturb.contamination import family
from learndyn.perturb.tables import ATTACK_SUMMARY as SUMMARY
from learndyn.perturb.tables import BREAKPOINTS, CHANGEPOINTS, SERIES_A, SERIES_B

MODELS = [
    "fc_lin_l1",
    "fc_relu",
    "conv_lin_l1_k3_c8",
    "conv_lin_l1_k11_c8",
    "conv_lin_l1_k28_c8",
    "conv_relu_l1_k3_c8",
    "lc_relu_k3_c8",
]
SEEDS = (0, 1)
STEPS = [0, 1, 2, 3, 5, 8, 12, 18, 27, 40, 80, 120, 160, 200]
IPE = 40
ATTACKS = {"linf": "linf_pgd", "l2": "l2_pgd"}
RUNS = [f"fmnist/{m}/s{s}" for m in MODELS for s in SEEDS]


def _frame(table, rows) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    return df[[c for c, _ in table.columns]]


@pytest.fixture(scope="module")
def changepoints():
    return synthetic_changepoints()


@pytest.fixture(scope="module")
def breakpoints():
    return synthetic_breakpoints()


def synthetic_changepoints():
    rng = np.random.default_rng(0)
    rows = []
    for run in RUNS:
        _, model, s = run.split("/")
        for reading, series in (("A", SERIES_A), ("B", SERIES_B)):
            for name in series:
                for attack, kind in ATTACKS.items():
                    tau = float(np.exp(rng.normal(np.log(0.4), 0.8)))
                    rows.append(
                        {
                            "run": run,
                            "dataset": "fmnist",
                            "model": model,
                            "seed": int(s[1:]),
                            "reading": reading,
                            "series": name,
                            "attack": attack,
                            "kind": kind,
                            "tau_step": tau * IPE,
                            "tau_epoch": tau,
                            "ci_low_step": tau * IPE / 2,
                            "ci_high_step": tau * IPE * 2,
                            "ci_low_epoch": tau / 2,
                            "ci_high_epoch": tau * 2,
                            "bic_gain": 5.0,
                            "accepted": bool(rng.random() < 0.8),
                            "gamma": 1.0,
                            "n_levels": len(STEPS),
                            "n_images": 100,
                            "label": "reconstruction",
                        }
                    )
    return _frame(CHANGEPOINTS, rows)


def synthetic_breakpoints():
    rng = np.random.default_rng(1)
    rows = []
    for run in RUNS:
        for step in STEPS:
            for attack, kind in ATTACKS.items():
                for image in range(6):
                    ok = step > 2
                    rows.append(
                        {
                            "run": run,
                            "step": step,
                            "epoch_float": step / IPE,
                            "attack": attack,
                            "kind": kind,
                            "image": image,
                            "correct": ok,
                            "success": ok,
                            "kept": ok,
                            "method": "exact",
                            "delta_l2": 1.0,
                            "n_bp": float(rng.poisson(3 + step / 20)),
                            "t1": rng.random(),
                            "t1_l2": rng.random(),
                            "t_cross": rng.random(),
                            "same_region": bool(rng.random() < 0.5),
                            "density": rng.random() * 10,
                            "density_fixed": rng.random() * 10,
                            "density_random": rng.random() * 5,
                            "probe_l2": 1.0,
                            "maxlog": rng.random() * 3,
                            "hff": rng.random(),
                            "hoyer": rng.random() * 0.3,
                            "label": "reconstruction",
                        }
                    )
    return _frame(BREAKPOINTS, rows)


def _expected_tau(cps, model, reading, attack):
    g = cps[(cps["model"] == model) & (cps["reading"] == reading) & (cps["attack"] == attack) & cps["accepted"]]
    return float(np.median(g["tau_epoch"])), len(g)


def test_tau_summary_is_one_row_per_model_reading_attack(changepoints):
    summ = pdy.tau_summary(changepoints, n_boot=400)
    assert len(summ) == len(MODELS) * 2 * len(ATTACKS)
    for r in summ.itertuples():
        tau, n = _expected_tau(changepoints, r.model, r.reading, r.attack)
        assert r.tau == pytest.approx(tau) and r.n_accepted == n and r.runs == len(SEEDS)
        assert r.n_fitted == len(SEEDS) * len(SERIES_A if r.reading == "A" else SERIES_B)
        assert r.low <= r.tau <= r.high
    again = pdy.tau_summary(changepoints, n_boot=400)
    assert again.equals(summ)  # seeded: the same table renders the same intervals


def test_tau_summary_counts_runs_without_an_accepted_hinge(changepoints):
    none = changepoints.assign(accepted=changepoints["model"].ne("fc_relu") & changepoints["accepted"])
    summ = pdy.tau_summary(none, n_boot=100).set_index(["model", "reading", "attack"])
    row = summ.loc[("fc_relu", "A", "linf")]
    assert row["n_accepted"] == 0 and row["n_fitted"] > 0 and np.isnan(row["tau"])


def test_f2_is_readable_and_summarises_tau_per_model(breakpoints, changepoints):
    fig = pdy.fig_breakpoints(breakpoints, changepoints)
    assert layout_problems(fig) == []
    tau_ax = next(ax for ax in fig.axes if ax.get_title().startswith("change points"))
    labels = [t.get_text() for t in tau_ax.get_yticklabels()]
    assert labels == MODELS  # one row per model, not one per (run, series, attack) hinge


def _history():
    rows = []
    for run in RUNS:
        _, model, s = run.split("/")
        for step in STEPS:
            end = step % IPE == 0
            rows.append(
                {
                    "run": run,
                    "dataset": "fmnist",
                    "model": model,
                    "seed": int(s[1:]),
                    "condition": "clean",
                    "step": step,
                    "epoch": step // IPE,
                    "batch": step % IPE,
                    "epoch_float": step / IPE,
                    "lr": 0.01,
                    "train_loss": np.nan if step == 0 else 2.3 / (1 + step / 20),
                    "eval_loss": 2.3 / (1 + step / 25),
                    "eval_acc": 0.1 + 0.7 * step / (step + 20),
                    "test_acc": 0.1 + 0.7 * step / (step + 20) if end else np.nan,
                    "checkpoint": True,
                }
            )
    return _frame(pt.HISTORY, rows)


def _contamination():
    rows = []
    for clean, dirty in (
        ("synth", "synth_fourier"),
        ("synth", "synth_fourier_x4"),
        ("fmnist", "fmnist_fourier"),
        ("fmnist", "fmnist_fourier_x4"),
    ):
        for m in ("fc_lin_l1", "fc_relu", "conv_lin_l1_k3_c8", "conv_relu_l1_k3_c8"):
            rows.append(
                {
                    "dataset": clean,
                    "contaminated_dataset": dirty,
                    "eps": 0.25,
                    "p": 0.2,
                    "model": m,
                    "family": family(m),
                    "seeds": 3,
                    "clean_mean": 0.8,
                    "clean_sd": 0.01,
                    "contaminated_mean": 0.85,
                    "contaminated_sd": 0.02,
                    "gain_mean": 0.05,
                    "gain_sd": 0.02,
                }
            )
    return _frame(pt.CONTAMINATION, rows)


def test_training_figure_is_readable():
    assert layout_problems(ptr.fig_training(_history(), _contamination())) == []


def _summary():
    rows = []
    for run in RUNS:
        _, model, s = run.split("/")
        for step in STEPS:
            for attack, kind in ATTACKS.items():
                rows.append(
                    {
                        "run": run,
                        "dataset": "fmnist",
                        "model": model,
                        "seed": int(s[1:]),
                        "step": step,
                        "epoch_float": step / IPE,
                        "attack": attack,
                        "kind": kind,
                        "eps": 0.1,
                        "n_images": 100,
                        "n_correct": 50,
                        "n_kept": 40,
                        "success_rate": 0.8 * step / (step + 5),
                        "l2_mean": 1.0,
                        "l2_median": 0.9,
                        "linf_mean": 0.1,
                        "seconds": 1.0,
                    }
                )
    return _frame(SUMMARY, rows)


def _perturbations(n_images=12, side=28):
    rng = np.random.default_rng(4)
    rows = []
    for step in STEPS:
        for attack in (*ATTACKS, "saliency"):
            for image in range(n_images):
                ok = step > 2 and image % 3 != 0
                d = rng.normal(size=side * side).astype(np.float32) * (0.05 if ok or attack == "saliency" else 0)
                rows.append(
                    {
                        "step": step,
                        "image": image,
                        "attack": attack,
                        "label": image % 10,
                        "correct": ok,
                        "success": ok,
                        "l2": float(np.linalg.norm(d)),
                        "linf": float(np.abs(d).max()),
                        "delta": d,
                    }
                )
    return pd.DataFrame(rows)


def _boundary():

    rng = np.random.default_rng(5)
    rows = []
    for run in RUNS:
        _, model, s = run.split("/")
        for step in STEPS:
            for image in range(20):
                d = float(np.exp(rng.normal(np.log(0.2 + step / 40), 0.3)))
                rows.append(
                    {
                        "run": run,
                        "dataset": "fmnist",
                        "model": model,
                        "seed": int(s[1:]),
                        "step": step,
                        "epoch_float": step / IPE,
                        "attack": "l2",
                        "kind": "deepfool",
                        "norm": "l2",
                        "image": image,
                        "label": image % 10,
                        "pred": image % 10,
                        "correct": True,
                        "gap": 0.1,
                        "dist": d,
                        "dist_x": d / 10,
                        "dist_nn": d / 5,
                        "x_norm": 10.0,
                        "nn_other": 5.0,
                        "reason": "ok",
                    }
                )
    return _frame(pt.BOUNDARY, rows)


def test_f1_dynamics_is_readable(breakpoints):
    # the whole F1 at its saved size: 8 image rows of one run, then the five curve panels over 14 runs
    rng = np.random.default_rng(6)
    data = {"shape": (1, 28, 28), "x_train": rng.random((12, 1, 28, 28)).astype(np.float32)}
    fig = pdy.fig_dynamics(_perturbations(), data, _summary(), breakpoints, run=RUNS[0], rows=8, boundary=_boundary())
    assert layout_problems(fig) == []


# ---- spectral figures (F3, F4, F5, theory) from synthetic spectra / theory tables ----


def _spectra_tables():
    from learndyn.perturb import spectra as sp

    rng = np.random.default_rng(2)
    side = 28
    summ, final = [], []
    for run in RUNS:
        _, model, s = run.split("/")
        targets = [("delta", "l2", "l2_pgd"), ("delta", "linf", "linf_pgd"), ("delta", "saliency", "saliency")]
        if "_lin" in model:
            targets.append(("target", "beta", "beta"))
        if model.startswith(("conv", "lc")):
            targets.append(("target", "filter", "lc" if model.startswith("lc") else "conv"))
        for step in STEPS:
            for source, name, kind in targets:
                row = {
                    "run": run,
                    "dataset": "fmnist",
                    "model": model,
                    "seed": int(s[1:]),
                    "step": step,
                    "epoch_float": step / IPE,
                    "final": step == STEPS[-1],
                    "source": source,
                    "name": name,
                    "kind": kind,
                    "n": 40,
                    "position_var": rng.random(),
                    "weight_departure": rng.random() * 0.5,
                }
                row.update({c: rng.random() for c in sp.METRIC_COLUMNS})
                row.update({f"{c}_sem": rng.random() * 0.02 for c in ("hff", "hoyer", "centroid", "f_half")})
                summ.append(row)
        for source, name, kind in targets:
            radial = np.sort(rng.random(21))
            final.append(
                {
                    "run": run,
                    "dataset": "fmnist",
                    "model": model,
                    "seed": int(s[1:]),
                    "step": STEPS[-1],
                    "source": source,
                    "name": name,
                    "kind": kind,
                    "n": 40,
                    "side": side,
                    "log_power": rng.normal(size=side * side).tolist(),
                    "radial_power": radial[::-1].tolist(),
                    "radial_cumulative": (np.cumsum(radial) / radial.sum()).tolist(),
                }
            )
    return _frame(pt.SPECTRA_SUMMARY, summ), _frame(pt.SPECTRA_FINAL, final)


def _theory_tables():
    rng = np.random.default_rng(3)
    betas = [
        {
            "method": m,
            "index": i,
            "beta": rng.normal(),
            "beta_unit": rng.normal() / 4,
            "fourier_modulus": abs(rng.normal()) / 4,
        }
        for m in ("conv", "l1", "fc", "svm", "teacher")
        for i in range(16)
    ]
    summary = [{"key": k, "value": rng.random()} for k in ("cos_conv_l1", "cos_fc_svm", "hoyer_conv", "hoyer_fc")]
    kernels = [
        {
            "side": n,
            "kernel": k,
            "band": band,
            "lambda_max": min(1.0, k / 12 if band.startswith("r<=") else 0.99),
            "ds_bound": int(np.ceil(n * n / k / k)),
            "random_fourier_support": n * n - 1,
        }
        for n in (28, 32)
        for k in (1, 2, 3, 5, 7, 9, 11, 15, 21, 28, 32)
        if k <= n
        for band in (f"r<={n // 8}", f"r>{n // 4}")
    ]
    return _frame(pt.THEORY_BETAS, betas), _frame(pt.THEORY_SUMMARY, summary), _frame(pt.KERNEL_THEORY, kernels)


@pytest.fixture(scope="module")
def spectra():
    return _spectra_tables()


@pytest.mark.parametrize("name", ["fc_vs_conv", "lc_vs_conv", "kernel_sweep", "theory"])
def test_spectral_figures_are_readable(spectra, name):
    from learndyn.figures import perturb_spectra as ps

    summary, final = spectra
    t1, t1_summary, kernels = _theory_tables()
    tables = {
        "spectra_final": final,
        "spectra_summary": summary,
        "theory_t1": t1,
        "theory_summary": t1_summary,
        "kernel_theory": kernels,
    }
    func, inputs = ps.FIGURES[name]
    assert layout_problems(func(*(tables[t] for t in inputs))) == []


def test_every_figure_reads_known_tables_and_has_a_caption():
    """The rules' figure list is learndyn.figures.perturb.FIGURES: each input is a study table (or the
    perturbations / images of the figure's run) and each figure has its report caption."""
    from pathlib import Path

    from learndyn.figures import perturb as fp

    repo = Path(__file__).resolve().parents[2]
    assert set(fp.FIGURES) == {
        "dynamics",
        "breakpoints",
        "fc_vs_conv",
        "lc_vs_conv",
        "kernel_sweep",
        "theory",
        "training",
    }
    for name, (_, inputs) in fp.FIGURES.items():
        assert set(inputs) <= set(pt.SCHEMAS) | {"perturbations", "images"}, name
        assert (repo / "workflow" / "report" / "perturb" / f"{name}.rst").is_file(), name
