"""R1 and R6 rows on synthetic tables: the verdicts the numbers imply (learndyn.perturb.attack_claims)."""

import numpy as np
import pandas as pd
import pytest

from learndyn.perturb.attack_claims import claims_rows

STEPS = np.array([0, 1, 3, 10, 20, 40, 60])  # 10 steps per epoch: epoch 0 ends at step 10
EPOCH = STEPS / 10
BASE = {"dataset": "d", "seed": 0, "eps": 0.1, "n_images": 10}


def _summary(n_kept_linf):
    rows = []
    for run in ("d/m/s0", "d/m/s1"):
        for s, e, nk in zip(STEPS, EPOCH, n_kept_linf):
            rows.append(
                {
                    **BASE,
                    "run": run,
                    "model": "m",
                    "step": s,
                    "epoch_float": e,
                    "attack": "linf",
                    "kind": "linf_pgd",
                    "n_correct": 5,
                    "n_kept": nk,
                    "success_rate": nk / 5,
                    "l2_mean": 1.0,
                    "l2_median": 1.0,
                    "linf_mean": 0.1,
                    "seconds": 0.1,
                }
            )
    return pd.DataFrame(rows)


def _boundary(dist_of_step, n_img=20, reasons=None, runs=("d/m/s0", "d/m/s1", "d/k/s0")):
    """Boundary table: per image a distance dist_of_step(step) times a per-image factor."""
    rows = []
    factor = np.linspace(0.8, 1.2, n_img)
    for run in runs:
        for s, e in zip(STEPS, EPOCH):
            for i in range(n_img):
                reason = (reasons or {}).get((int(s), i), "ok")
                d = np.nan if reason in ("flat", "attack_failed") else dist_of_step(s) * factor[i]
                rows.append(
                    {
                        "run": run,
                        "dataset": "d",
                        "model": run.split("/")[1],
                        "seed": int(run[-1]),
                        "step": s,
                        "epoch_float": e,
                        "attack": "l2",
                        "kind": "ddn",
                        "norm": "l2",
                        "image": i,
                        "label": i % 10,
                        "pred": 0,
                        "correct": i % 10 == 0,
                        "gap": 0.1,
                        "dist": d,
                        "dist_x": d / 10,
                        "dist_nn": d / 5,
                        "x_norm": 10.0,
                        "nn_other": 5.0,
                        "reason": reason,
                    }
                )
    return pd.DataFrame(rows)


def _cps(taus, accepted, series="success", reading="B", attack="linf", kind="linf_pgd"):
    return pd.DataFrame(
        [
            {
                "run": f"d/m/s{i}",
                "dataset": "d",
                "model": "m",
                "seed": i,
                "reading": reading,
                "series": series,
                "attack": attack,
                "kind": kind,
                "tau_step": 10 * t,
                "tau_epoch": t,
                "ci_low_step": 5 * t,
                "ci_high_step": 20 * t,
                "ci_low_epoch": t / 2,
                "ci_high_epoch": 2 * t,
                "bic_gain": 5.0 if a else -3.0,
                "accepted": a,
                "gamma": -1.0,
                "n_levels": 7,
                "n_images": 10,
                "label": "reconstruction",
            }
            for i, (t, a) in enumerate(zip(taus, accepted))
        ]
    )


def _rows(**tables):
    return {r["claim_id"]: r for r in claims_rows(tables, {})}


def test_r1_fixed_eps_row_is_labelled_and_all_runs_decide():
    rows = _rows(attack_summary=_summary([0, 1, 3, 5, 5, 5, 5]))
    r = rows["R1-success-fixed-eps"]
    assert r["verdict"] == "reproduced" and r["n"] == 2 and r["aggregate"] == "all"
    assert r["value"] == pytest.approx(1.0) and "weak reading" in r["reading"]
    worse = _rows(attack_summary=_summary([5, 5, 5, 1, 1, 1, 1]))["R1-success-fixed-eps"]
    assert worse["verdict"] == "not reproduced"  # success falls from 1.0 at step 0 to 0.2 at the end of epoch 0


def test_r1_boundary_far_at_init_reproduces():
    rows = _rows(boundary=_boundary(lambda s: 3.0 if s == 0 else 1.0))  # 3x farther at step 0
    for key in ("epoch0", "final"):
        r = rows[f"R1-dmin-l2-init-vs-{key}"]
        assert r["verdict"] == "reproduced" and r["value"] == pytest.approx(3.0)
        assert r["unit"] == "image x run" and r["n"] == 60 and r["ci_lo"] >= 2.0
        assert r["figure"] == "figures/perturb/dynamics.png"
    late = rows["R1-dmin-l2-late"]
    assert late["verdict"] == "reproduced" and late["value"] == pytest.approx(1.0)  # constant after epoch 0: at 1


def test_r1_boundary_close_at_init_is_not_reproduced_and_growth_late_is_seen():
    rows = _rows(boundary=_boundary(lambda s: 1.0 + s / 10))  # grows from step 0 on: closest at init
    assert rows["R1-dmin-l2-init-vs-epoch0"]["verdict"] == "not reproduced"
    assert rows["R1-dmin-l2-init-vs-epoch0"]["value"] == pytest.approx(0.5)  # 1 / (1 + 10/10)
    assert rows["R1-dmin-l2-late"]["verdict"] == "not reproduced"  # 7 / 2 > 1


def test_r1_boundary_straddle_is_inconclusive():
    # half the runs 4x farther at init, half 1x: the order-statistics interval straddles 2
    b = _boundary(lambda s: 1.0, runs=("d/m/s0", "d/m/s1"))
    b.loc[(b["run"] == "d/m/s0") & (b["step"] == 0), "dist"] *= 4.0
    r = _rows(boundary=b)["R1-dmin-l2-init-vs-epoch0"]
    assert r["ci_lo"] < 2.0 < r["ci_hi"] and r["verdict"] == "inconclusive"


def test_r1_flat_and_failed_images_are_counted_not_silent():
    reasons = {(0, 0): "flat", (0, 1): "attack_failed", (10, 2): "attack_failed"}
    rows = _rows(boundary=_boundary(lambda s: 3.0 if s == 0 else 1.0, reasons=reasons))
    r = rows["R1-dmin-l2-init-vs-epoch0"]
    # flat at step 0 = no reachable boundary = inf ratio (kept); a failed attack drops that unit (per run)
    assert r["n"] == 60 - 2 * 3 and np.isinf(max(r["values"]))
    assert "at step 0 (attack_failed)" in r["detail"] and "at step 0 (flat)" in r["detail"]


def test_r6_median_over_runs_counts_runs_without_a_hinge():
    cps = _cps([0.3, 0.5, 0.8, 1.5, 4.0], [True] * 5)
    rows = _rows(changepoints=cps)
    r = rows["R6-B"]
    assert r["aggregate"] == "median" and r["value"] == pytest.approx(0.8) and r["n"] == 5
    assert r["verdict"] == "inconclusive"  # [min, max] interval at n = 5 straddles 1 epoch
    assert rows["R6-B-early"]["value"] == pytest.approx(4 / 5)  # tau <= 2 epochs in 4 of 5 runs
    many = _cps([0.2, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7, 0.8, 0.9, 0.9], [True] * 10)
    assert _rows(changepoints=many)["R6-B"]["verdict"] == "reproduced"
    # runs whose BIC accepts no hinge count as tau = inf: a majority of them makes R6 not reproduced
    none = _rows(changepoints=many.assign(accepted=[True] + [False] * 9))
    assert none["R6-B"]["n"] == 10 and none["R6-B"]["verdict"] == "not reproduced"
    assert "9 without a change point" in none["R6-B"]["detail"]
    assert none["R6-B-early"]["value"] == pytest.approx(0.1) and none["R6-B-early"]["verdict"] == "not reproduced"
    # 8 of 10 without: the interval [x_(2), x_(9)] = [0.3, inf] straddles 1 epoch
    assert _rows(changepoints=many.assign(accepted=[True] * 2 + [False] * 8))["R6-B"]["verdict"] == "inconclusive"


def test_r6_at_the_threshold_counts_as_within():
    """tau = 1.0000000000000002 epochs (rounding of 'end of epoch 0') is at the <= 1 threshold."""
    cps = _cps([1.0000000000000002] * 10, [True] * 10)
    assert _rows(changepoints=cps)["R6-B"]["verdict"] == "reproduced"


def test_r6_dmin_series_and_missing_readings():
    cps = pd.concat(
        [
            _cps([0.5] * 6, [True] * 6, series="dmin", attack="l2", kind="ddn"),
            _cps([0.5] * 6, [True] * 6, series="density_fixed", reading="A"),
        ]
    )
    rows = _rows(changepoints=cps)
    assert rows["R6-B-dmin-l2"]["verdict"] == "reproduced" and rows["R6-A"]["verdict"] == "reproduced"
    assert rows["R6-B"]["verdict"] == "not run"  # no linf_pgd success series in these tables


def test_every_perturb_row_is_a_core_claim_with_reading_unit_and_figure():
    """build_claims: no legacy point-value rows; every row states its reading, unit and figure."""
    from learndyn.perturb.claims import build_claims

    training = pd.DataFrame(
        [
            {
                "run": f"d/m/s{s}",
                "dataset": "d",
                "model": "m",
                "seed": s,
                "condition": "clean",
                "step": st,
                "epoch": 0,
                "batch": st,
                "epoch_float": ef,
                "lr": 0.01,
                "train_loss": 1.0,
                "eval_loss": 1.0,
                "eval_acc": acc,
                "test_acc": acc,
                "checkpoint": True,
            }
            for s in (0, 1)
            for st, ef, acc in ((0, 0.0, 0.1), (10, 1.0, 0.7))
        ]
    )
    df = build_claims(
        {
            "training": training,
            "attack_summary": _summary([0, 1, 3, 5, 5, 5, 5]),
            "boundary": _boundary(lambda s: 1.0),
            "changepoints": _cps([0.5] * 4, [True] * 4),
        }
    )
    assert not df["reading"].str.contains("not yet moved").any()
    assert (df["reading"].str.len() > 0).all() and (df["unit"].str.len() > 0).all()
    assert df["figure"].str.startswith("figures/perturb/").all()
    assert {
        "TR-chance-at-init",
        "TR-learned-in-epoch0",
        "R1-success-fixed-eps",
        "R1-dmin-l2-init-vs-epoch0",
        "R6-B",
        "R6-B-early",
    } <= set(df["claim_id"])
    assert not df["detail"].str.contains("np.").any()  # plain numbers, never numpy reprs
