"""Spectral metrics on signals with known spectra (adversarial.md, 'Frequency analysis', check T4 "metrics")."""

import numpy as np
import pytest
import torch

from learndyn.perturb import spectra as sp
from learndyn.perturb.spectra_targets import class_difference, filter_spectra, linear_predictor


def _grid(n):
    i = np.arange(n)
    return i[:, None], i[None, :]


@pytest.mark.parametrize("n", [28, 32])
def test_white_noise_hff_and_hoyer(n):
    x = np.random.default_rng(0).standard_normal((400, 1, n, n))
    m = sp.spectral_metrics(x).mean()
    assert m["hff"] == pytest.approx(0.81, abs=0.02)
    assert m["hoyer"] == pytest.approx(0.12, abs=0.02)


@pytest.mark.parametrize("n", [28, 32])
def test_single_cosine_is_fourier_sparse(n):
    a, b = _grid(n)
    x = np.cos(2 * np.pi * (3 * a + 5 * b) / n)[None, None]
    m = sp.spectral_metrics(x).iloc[0]
    n_k0 = n * n - 1
    assert m["hoyer"] > 0.98
    assert m["entropy"] == pytest.approx(np.log(2) / np.log(n_k0), rel=1e-9)
    assert m["top1"] == pytest.approx(1.0)


def test_checkerboard_is_all_high_frequency_with_peak_at_corner():
    a, b = _grid(28)
    x = ((-1.0) ** (a + b))[None, None]
    assert sp.spectral_metrics(x).iloc[0]["hff"] == pytest.approx(1.0, abs=1e-12)
    P = sp.power_spectrum(x)[0]
    assert np.unravel_index(P.argmax(), P.shape) == (0, 0)  # k = (-N/2, -N/2) after fftshift
    assert P[14, 14] == pytest.approx(0.0, abs=1e-9)  # DC sits at (N/2, N/2)


@pytest.mark.parametrize("mode", ["gray", "sum"])
def test_parseval(mode):
    x = np.random.default_rng(1).standard_normal((5, 3, 32, 32))
    P = sp.power_spectrum(x, channel_mode=mode)
    if mode == "gray":
        energy = (sp.luminance(x) ** 2).sum(axis=(1, 2))
    else:
        energy = (x**2).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(P.sum(axis=(1, 2)), 32 * 32 * energy, rtol=1e-12)


def test_luminance_weights():
    x = np.zeros((1, 3, 4, 4))
    x[0, 0], x[0, 1], x[0, 2] = 1.0, 2.0, 3.0
    assert sp.luminance(x)[0, 0, 0] == pytest.approx(0.2989 + 2 * 0.5870 + 3 * 0.1140)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        sp.luminance(np.zeros((1, 2, 4, 4)))


def test_grating_near_one_and_blob_near_zero():
    a, b = _grid(28)
    grating = np.cos(2 * np.pi * 12 * a / 28 + 0 * b)[None, None]
    blob = np.exp(-((a - 14.0) ** 2 + (b - 14.0) ** 2) / (2 * 2.0**2))[None, None]
    m = sp.spectral_metrics(np.concatenate([grating, blob]))
    assert m["hff"][0] > 0.99
    assert m["hff"][1] < 0.01
    assert m["centroid"][0] > m["centroid"][1]


@pytest.mark.parametrize("n", [16, 27, 28])
def test_power_spectrum_matches_direct_fft(n):
    x = np.random.default_rng(2).standard_normal((3, 1, n, n))
    direct = np.fft.fftshift(np.abs(np.fft.fft2(x[:, 0])) ** 2, axes=(-2, -1))
    np.testing.assert_allclose(sp.power_spectrum(x), direct, rtol=1e-10, atol=1e-9)
    x32 = x.astype(np.float32)  # the fast float32 path agrees to float32 precision
    np.testing.assert_allclose(sp.power_spectrum(x32), direct, rtol=1e-4, atol=1e-3)


def test_vectorised_equals_per_image_definitions():
    rng = np.random.default_rng(3)
    a, b = _grid(28)
    x = np.concatenate(
        [
            rng.standard_normal((3, 1, 28, 28)),
            np.cos(2 * np.pi * (2 * a + b) / 28)[None, None] + 0.1 * rng.standard_normal((1, 1, 28, 28)),
        ]
    )
    df = sp.spectral_metrics(x)
    for i in range(len(x)):
        ref = sp.reference_metrics(x[i, 0])
        for col in sp.METRIC_COLUMNS:
            assert df[col][i] == pytest.approx(ref[col], rel=1e-9, abs=1e-12), col


def test_flat_spectrum_of_a_delta():
    x = np.zeros((1, 1, 32, 32))
    x[0, 0, 5, 7] = 1.0
    m = sp.spectral_metrics(x).iloc[0]
    assert m["hoyer"] == pytest.approx(0.0, abs=1e-12)
    assert m["gini"] == pytest.approx(0.0, abs=1e-12)
    assert m["entropy"] == pytest.approx(1.0)
    share = (sp.frequency_radius(32) > 8).sum() / (32 * 32 - 1)
    assert m["hff"] == pytest.approx(share)


def test_zero_image_gives_nan_metrics_and_finite_maxlog():
    m = sp.spectral_metrics(np.zeros((2, 1, 8, 8)))
    assert m["hff"].isna().all() and m["hoyer"].isna().all()
    assert np.isfinite(m["maxlog"]).all() and (m["l2"] == 0).all()


def test_radial_profile_and_half_power_radius():
    x = np.random.default_rng(4).standard_normal((6, 1, 28, 28))
    P = sp.power_spectrum(x)
    rho, prof, cum = sp.radial_profile(P)
    assert rho[0] == 0 and rho[-1] == int(np.ceil(28 / np.sqrt(2)))
    np.testing.assert_allclose(cum[:, -1], 1.0)
    assert (np.diff(cum, axis=1) >= -1e-12).all()
    f_half = sp.spectral_metrics(x)["f_half"].to_numpy()
    np.testing.assert_array_equal(f_half, rho[np.argmax(cum >= 0.5, axis=1)])
    flat = sp.radial_profile(np.ones((1, 28, 28)))[1]
    np.testing.assert_allclose(flat, 1.0)


def test_mean_spectrum_averages_power_before_the_log():
    P = np.stack([np.full((4, 4), 1.0), np.full((4, 4), 3.0)])
    np.testing.assert_allclose(sp.mean_log_power(P), np.log(2.0 + 1e-12))
    np.testing.assert_allclose(sp.mean_log_magnitude(P), 0.25 * np.log(3.0), rtol=1e-9)


def test_linear_predictor_equals_composed_map():
    from learndyn.perturb.models import build_model

    model = build_model("conv_lin_l3_k3_c2", (1, 8, 8), seed=0).double()
    beta = linear_predictor(model, (1, 8, 8))
    with torch.no_grad():
        basis = torch.eye(64, dtype=torch.float64).reshape(64, 1, 8, 8)
        composed = (model(basis) - model(torch.zeros(1, 1, 8, 8, dtype=torch.float64))).T.numpy()
    np.testing.assert_allclose(beta.reshape(10, -1), composed, atol=1e-12)


def test_class_difference_is_the_minimal_l2_direction_of_a_linear_model():
    rng = np.random.default_rng(5)
    W, c = rng.standard_normal((4, 1, 3, 3)), rng.standard_normal(4)
    x = rng.standard_normal((6, 1, 3, 3))
    logits = x.reshape(6, -1) @ W.reshape(4, -1).T + c
    labels = logits.argmax(axis=1)
    d = class_difference(W, logits, labels)
    for i in range(6):
        dist = [
            (logits[i, labels[i]] - logits[i, k]) / np.linalg.norm(W[labels[i]] - W[k]) if k != labels[i] else np.inf
            for k in range(4)
        ]
        np.testing.assert_allclose(d[i], W[labels[i]] - W[int(np.argmin(dist))])


def test_filter_spectra_conv_and_lc():
    from learndyn.perturb.models import build_model

    conv = build_model("simple", (1, 16, 16), seed=0)
    with torch.no_grad():
        conv[0].weight.zero_()
        conv[0].weight[:, :, 1, 1] = 1.0  # a delta kernel: flat spectrum
    row = filter_spectra(conv, 16).iloc[0]
    assert row["kind"] == "conv" and row["kernel"] == 3
    assert row["hoyer"] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(row["power"], 1.0)

    lc = build_model("lc_lin_k3_c2_convinit", (1, 10, 10), seed=0)
    f = filter_spectra(lc, 10).iloc[0]
    assert f["kind"] == "lc" and f["weight_departure"] == pytest.approx(0.0, abs=1e-12)
    assert f["position_var"] == pytest.approx(0.0, abs=1e-12)
    lc_rand = filter_spectra(build_model("lc_lin_k3_c2", (1, 10, 10), seed=0), 10).iloc[0]
    assert lc_rand["weight_departure"] > 0.5  # independent positions: far from shared weights
    with pytest.raises(ValueError, match="image side"):
        filter_spectra(conv)


def test_lambda_max_band_errors():
    with pytest.raises(ValueError, match="kernel size"):
        sp.lambda_max(40, 32)
    with pytest.raises(ValueError, match="band operator"):
        sp.lambda_max(3, 32, ("near", 4))


# ---- the analyse_spectra / collect / theory jobs and the claims rows ------------------------------


def _fake_run(root, model_id, seed=0, side=8, n_img=6, steps=(0, 5)):
    """A run as the upstream jobs leave it: images, history, checkpoints, perturbations table."""
    import pandas as pd

    from learndyn.checkpoints import identity, run_identity, save_torch
    from learndyn.io import write_table
    from learndyn.perturb.data import write_images
    from learndyn.perturb.models import build_model
    from learndyn.perturb.tables import HISTORY, perturbations_table
    from learndyn.train.store import write_manifest

    rng = np.random.default_rng(seed)
    images = root / "toy.parquet"
    if not images.exists():
        x = rng.uniform(0, 1, (20, 1, side, side)).astype(np.float32)
        write_images(
            {
                "x_train": x,
                "y_train": np.arange(20) % 10,
                "index_train": np.arange(20),
                "x_test": x[:10],
                "y_test": np.arange(10) % 10,
                "index_test": np.arange(10),
            },
            images,
            {},
        )
    run = f"toy/{model_id}/s{seed}"
    run_dir = root / "runs" / run
    (run_dir / "ckpt").mkdir(parents=True)
    ident = run_identity({"run": run}, seed)  # load_model reads through the manifest and these identities
    for st in steps:
        net = build_model(model_id, (1, side, side), seed=seed + st)
        save_torch(
            {
                "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()},
                "perturb": {"model": model_id, "in_shape": [1, side, side], "n_classes": 10, "pad_mode": "exact"},
                "learndyn": {"identity": identity(ident, st), "step": st, "loss": 1.0, "final": st == steps[-1]},
            },
            run_dir / "ckpt" / f"step={st}.ckpt",
        )
    write_manifest(run_dir / "ckpt", run_dir / "checkpoints.parquet", {"rule": "test"}, ident)
    hist = pd.DataFrame(
        {
            "run": run,
            "dataset": "toy",
            "model": model_id,
            "seed": seed,
            "condition": "clean",
            "step": list(steps),
            "epoch": 0,
            "batch": list(steps),
            "epoch_float": [s / 10 for s in steps],
            "lr": 0.01,
            "train_loss": 1.0,
            "eval_loss": 1.0,
            "eval_acc": 0.5,
            "test_acc": 0.5,
            "checkpoint": True,
        }
    )
    write_table(hist, run_dir / "history.parquet", HISTORY, {})
    rows = []
    for st in steps:
        for attack in ("l2", "linf", "saliency"):
            d = 0.3 * rng.standard_normal((n_img, side * side)).astype(np.float32)
            rows.append(
                pd.DataFrame(
                    {
                        "step": st,
                        "image": np.arange(n_img),
                        "attack": attack,
                        "label": np.arange(n_img) % 10,
                        "correct": np.arange(n_img) % 3 != 0,
                        "success": True,
                        "l2": np.linalg.norm(d, axis=1),
                        "linf": np.abs(d).max(axis=1),
                        "delta": list(d),
                    }
                )
            )
    pert = root / "attacks" / f"{run}.parquet"
    write_table(pd.concat(rows, ignore_index=True), pert, perturbations_table(side * side), {})
    return {
        "run": run,
        "images": images,
        "manifest": run_dir / "checkpoints.parquet",
        "history": run_dir / "history.parquet",
        "perturbations": pert,
    }


def test_spectra_jobs_end_to_end(tmp_path):
    from learndyn.io import read_table
    from learndyn.job import Job
    from learndyn.perturb import jobs
    from learndyn.perturb import tables as st
    from learndyn.perturb.spectra_claims import claims_rows

    outs = []
    for model in ("linear", "conv_lin_l1_k3_c2", "lc_relu_k3_c2"):
        info = _fake_run(tmp_path, model)
        out = {
            k: str(tmp_path / "spectra" / info["run"] / f"{k}.parquet")
            for k in ("metrics", "mean_spectrum", "radial", "predictor")
        }
        jobs.analyse_spectra(
            Job(
                "analyse_spectra",
                {k: str(info[k]) for k in ("images", "manifest", "history", "perturbations")},
                out,
                cfg={
                    "run": info["run"],
                    "spectra": {"channel_mode": "gray"},
                    "kinds": {"l2": "l2_pgd", "linf": "linf_pgd"},
                },
            )
        )
        outs.append(out)
    m = read_table(outs[0]["metrics"], st.METRICS)
    assert len(m) == 2 * 3 * 6 and m["kept"].sum() == 2 * 3 * 4
    assert set(m["kind"]) == {"l2_pgd", "linf_pgd", "saliency"}
    pred = read_table(outs[0]["predictor"], st.TARGETS)
    assert set(pred["target"]) == {"beta", "beta_class", "beta_diff"}  # linear model: no filters
    lc = read_table(outs[2]["predictor"], st.TARGETS)
    assert list(lc["layer_kind"]) == ["lc", "lc"] and (lc["weight_departure"] > 0).all()
    collected = {k: str(tmp_path / f"{k}.parquet") for k in ("summary", "final")}
    jobs.collect_perturb_spectra(Job("collect", {k: [o[k] for o in outs] for k in outs[0]}, collected))
    summary = read_table(collected["summary"], st.SPECTRA_SUMMARY)
    assert summary.groupby("run")["final"].sum().gt(0).all()
    final = read_table(collected["final"], st.SPECTRA_FINAL)
    assert {"beta", "filter_l0", "l2", "saliency"} <= set(final["name"])
    rows = claims_rows({"spectra_summary": summary}, {})
    ids = {r["claim_id"]: r for r in rows}
    assert set(ids) == {"R2-toy", "R3-toy", "R4-sharing-toy", "R4-locality-toy", "E1-linf-flatter-toy"}
    assert ids["R2-toy"]["verdict"] in ("reproduced", "not reproduced")
    assert ids["R4-sharing-toy"]["verdict"] == "inconclusive"  # no conv_relu k3 to pair the LC model with


def _summary(rows):
    import pandas as pd

    base = {"run": "", "dataset": "d", "step": 10, "epoch_float": 1.0, "final": True, "n": 5}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_claims_rows_verdicts_follow_the_numbers():
    from learndyn.perturb.spectra_claims import claims_rows

    rows = []
    for seed in (0, 1):
        for model, hoyer_l2, hff_l2, hoyer_beta in (
            ("fc_lin_l1", 0.1, 0.5, 0.1),
            ("conv_lin_l1_k3_c8", 0.3, 0.8, 0.5),
            ("conv_lin_l1_k11_c8", 0.3, 0.6, 0.5),
            ("conv_lin_l1_k28_c8", 0.3, 0.7, 0.5),
        ):
            rows += [
                {
                    "model": model,
                    "seed": seed,
                    "source": "delta",
                    "name": "l2",
                    "kind": "l2_pgd",
                    "hoyer": hoyer_l2,
                    "hff": hff_l2,
                    "centroid": 0.5,
                    "f_half": 5.0,
                },
                {
                    "model": model,
                    "seed": seed,
                    "source": "delta",
                    "name": "linf",
                    "kind": "linf_pgd",
                    "hoyer": hoyer_l2 - 0.05,
                    "hff": hff_l2 + 0.05,
                    "centroid": 0.5,
                    "f_half": 5.0,
                },
                {
                    "model": model,
                    "seed": seed,
                    "source": "target",
                    "name": "beta",
                    "kind": "",
                    "hoyer": hoyer_beta,
                    "hff": 0.5,
                    "centroid": 0.5,
                    "f_half": 5.0,
                },
            ]
    got = {r["claim_id"]: r for r in claims_rows({"spectra_summary": _summary(rows)}, {"spectra_margin": 0.0})}
    assert got["R2-d"]["verdict"] == "reproduced" and got["R2-d"]["value"] == pytest.approx(0.2)
    assert got["R3-d"]["verdict"] == "not reproduced"  # k11 (0.6) < full width (0.7)
    assert got["R3-d"]["value"] == pytest.approx(-0.1)
    assert got["E1-linf-flatter-d"]["verdict"] == "reproduced"
    assert got["R4-locality-d"]["verdict"] == "reproduced"  # conv k3 HFF 0.8 > FC 0.5
    assert got["R4-sharing-d"]["verdict"] == "inconclusive"


def test_theory_job_tables(tmp_path):
    from learndyn.io import read_table
    from learndyn.job import Job
    from learndyn.perturb import jobs
    from learndyn.perturb import spectra_claims as sc
    from learndyn.perturb import tables as pt

    out = {k: str(tmp_path / f"{k}.parquet") for k in ("t1", "summary", "kernels")}
    jobs.perturb_theory(Job("perturb_theory", {}, out, cfg={"t1": {"steps": 2000}, "sides": [32], "kernels": [2, 3]}))
    k = read_table(out["kernels"], pt.KERNEL_THEORY)
    low = k[k["band"] == "r<=4"].set_index("kernel")["lambda_max"]
    assert low[2] == pytest.approx(0.18, abs=0.01) and low[32] == pytest.approx(1.0)
    s = read_table(out["summary"], pt.THEORY_SUMMARY)
    rows = sc.claims_rows({"theory_summary": s}, {})
    assert {r["claim_id"] for r in rows} == {"T1-conv-l1", "T1-fc-svm"}
    assert set(read_table(out["t1"], pt.THEORY_BETAS)["method"]) == {"conv", "fc", "l1", "svm", "teacher"}
