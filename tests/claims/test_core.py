"""The common claim-evaluation rule (learndyn.claims) on synthetic per-unit values."""

import math

import numpy as np
import pytest

from learndyn.claims import CLAIMS, claim, claims_frame, fmt, median_interval, side, verdict_counts
from learndyn.claims_page import claims_html


def row(values=None, **kw):
    cid = kw.pop("claim_id", "X")
    base = dict(threshold=1.0, direction="<=", aggregate="median", reading="test")
    base.update(kw)
    return claim("s", cid, "stmt", "metric", values=values, **base)


@pytest.mark.parametrize("direction", ["<", "<=", ">", ">="])
@pytest.mark.parametrize("aggregate", ["value", "all", "any"])
def test_rounding_at_threshold_does_not_flip(direction, aggregate):
    t = 1.0
    verdicts = set()
    for v in (t - 1e-12, t, t + 1e-12, 1.0000000000000002):
        if aggregate == "value":
            r = row(value=v, threshold=t, direction=direction, aggregate="value")
        else:
            r = row([v, v, v], threshold=t, direction=direction, aggregate=aggregate)
        verdicts.add(r["verdict"])
    assert len(verdicts) == 1
    # at the threshold the non-strict comparisons hold and the strict ones do not
    assert verdicts == ({"reproduced"} if direction in ("<=", ">=") else {"not reproduced"})


def test_rounding_near_zero_threshold():
    assert side(1e-13, 0.0, "<=") == 1 and side(-1e-13, 0.0, ">=") == 1
    assert side(1e-6, 0.0, "<=") == -1


def test_r6b_rounding_case_reproduces():
    # the case: 1.0000000000000002 against <= 1.0 was "not reproduced"
    assert row(value=1.0000000000000002, aggregate="value")["verdict"] == "reproduced"


def test_interval_straddling_is_inconclusive():
    x = np.linspace(0.5, 1.5, 11)  # median 1.0 region, interval around the threshold
    r = row(x, threshold=1.0, direction="<", aggregate="median")
    assert r["ci_lo"] < 1.0 < r["ci_hi"] and r["verdict"] == "inconclusive"
    assert "straddles" in r["why"]
    r = row(x, threshold=1.0, direction="<", aggregate="mean")
    assert r["ci_lo"] < 1.0 < r["ci_hi"] and r["verdict"] == "inconclusive"


def test_median_and_mean_clear_cases():
    x = np.array([0.1, 0.2, 0.15, 0.3, 0.25, 0.12, 0.18])
    r = row(x, threshold=0.5, direction="<", aggregate="median")
    assert r["value"] == pytest.approx(np.median(x)) and r["verdict"] == "reproduced"
    assert r["ci_lo"] <= r["value"] <= r["ci_hi"]
    r = row(x + 1, threshold=0.5, direction="<", aggregate="mean")
    assert r["value"] == pytest.approx(np.mean(x) + 1) and r["verdict"] == "not reproduced"


def test_typically_is_not_every_seed():
    # one bad seed out of nine: "typically" (median) holds, "every seed" (all) does not
    x = [0.1] * 8 + [0.9]
    assert row(x, threshold=0.5, direction="<", aggregate="median")["verdict"] == "reproduced"
    r = row(x, threshold=0.5, direction="<", aggregate="all")
    assert r["verdict"] == "not reproduced" and r["n_failed"] == 1 and r["value"] == 0.9
    r = row(x, threshold=0.5, direction="<", aggregate="any")
    assert r["verdict"] == "reproduced" and r["value"] == 0.1


def test_all_and_any():
    assert row([2, 3, 4], threshold=1, direction=">", aggregate="all")["verdict"] == "reproduced"
    r = row([0, 0.5], threshold=1, direction=">", aggregate="any")
    assert r["verdict"] == "not reproduced" and r["n_failed"] == 2


def test_median_interval_order_statistics():
    lo, hi, how = median_interval(np.arange(1.0, 11.0))  # n = 10: [x_(2), x_(9)], coverage 97.9%
    assert (lo, hi) == (2.0, 9.0) and "97.9%" in how
    lo, hi, how = median_interval(np.array([3.0, 1.0, 2.0]))
    assert (lo, hi) == (1.0, 3.0) and "75%" in how


def test_bootstrap_is_seeded():
    x = np.random.default_rng(1).normal(size=20)
    a = row(x, aggregate="mean", claim_id="A")
    b = row(x, aggregate="mean", claim_id="A")
    assert (a["ci_lo"], a["ci_hi"]) == (b["ci_lo"], b["ci_hi"])


def test_fraction_exact_interval():
    r = row([1] * 9 + [0], threshold=0.5, direction=">", aggregate="fraction")
    assert r["value"] == 0.9 and r["verdict"] == "reproduced"
    assert r["ci_lo"] == pytest.approx(0.5549839, abs=1e-6) and "Clopper" in r["interval"]
    r = row([0] * 11, threshold=0.1, direction="<=", aggregate="fraction")  # 0/11 cannot bound below 0.1
    assert r["ci_hi"] == pytest.approx(0.2849, abs=1e-4) and r["verdict"] == "inconclusive"
    with pytest.raises(ValueError, match="0/1"):
        row([0.5, 1], aggregate="fraction")


def test_unconverged_runs_are_not_evidence():
    r = row(
        [0.1, 0.1, 0.1, 0.1, 0.1], threshold=0.5, direction="<", aggregate="median", unconverged=["seed 3", "seed 4"]
    )
    assert r["verdict"] == "inconclusive" and r["n_unconverged"] == 2
    assert "2/5 runs did not converge (seed 3, seed 4)" in r["why"]
    assert row([0.1] * 5, threshold=0.5, direction="<", unconverged=1)["verdict"] == "inconclusive"


def test_n_below_minimum_and_not_run():
    r = row([0.1, 0.2], threshold=0.5, direction="<", aggregate="median")
    assert r["verdict"] == "inconclusive" and "minimum 3" in r["why"]
    assert row([0.1, 0.2], threshold=0.5, direction="<", n_min=2)["verdict"] == "reproduced"
    r = row([], threshold=0.5, direction="<", not_run="needs task3 runs (paper.yaml)")
    assert r["verdict"] == "not run" and "paper.yaml" in r["why"]
    assert row([], threshold=0.5, direction="<")["verdict"] == "inconclusive"


def test_value_with_given_interval():
    r = row(value=0.6, interval=(0.2, 0.9), threshold=0.5, direction=">=", aggregate="value")
    assert r["verdict"] == "inconclusive"
    r = row(
        value=0.8,
        interval=(0.6, 0.9),
        threshold=0.5,
        direction=">=",
        aggregate="value",
        interval_method="bootstrap over replicates",
    )
    assert r["verdict"] == "reproduced" and r["interval"] == "bootstrap over replicates"
    with pytest.raises(ValueError, match="computed here"):
        row([1.0], value=1.0, aggregate="median")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="direction"):
        row([1.0], direction="=<")
    with pytest.raises(ValueError, match="aggregate"):
        row([1.0], aggregate="worst")
    with pytest.raises(ValueError, match="duplicate claim ids"):
        claims_frame([row([1.0], claim_id="A"), row([1.0], claim_id="A")])


def test_fmt_has_no_numpy_repr():
    assert fmt([np.int64(10), np.float64(0.5), 3]) == "[10, 0.5, 3]"


def test_table_schema_and_page():
    rows = [
        row([0.1, 0.2, 0.3], threshold=0.5, direction="<", claim_id="A", figure="figures/s/F1.png"),
        row([], threshold=0.5, direction="<", claim_id="B", not_run="needs paper scale"),
    ]
    df = claims_frame(rows)
    CLAIMS.check_frame(df)
    counts = verdict_counts(df)
    assert counts.loc["s", "reproduced"] == 1 and counts.loc["s", "not run"] == 1
    page = claims_html(df)
    assert "figures/s/F1.png" in page and "not run" in page and "np." not in page
    assert math.isnan(df.set_index("claim_id").loc["B", "value"])


def test_share_is_an_exact_count_of_the_units_run():
    # "fails on essentially all seeds" (successes at most 10%): 1 success of 5 is 20%, 0 of 11 is 0%
    r = row([1, 0, 0, 0, 0], threshold=0.1, direction="<=", aggregate="share", unit="seed")
    assert r["verdict"] == "not reproduced" and r["value"] == 0.2 and "1 of 5 seeds" in r["interval"]
    r = row([0] * 11, threshold=0.1, direction="<=", aggregate="share")
    assert r["verdict"] == "reproduced" and r["ci_lo"] == r["ci_hi"] == 0.0
    r = row([1] * 9 + [0], threshold=0.9, direction=">=", aggregate="share")  # 9/10 = 0.9, at the threshold
    assert r["verdict"] == "reproduced"


def test_precondition_makes_a_row_inconclusive_with_its_reason():
    r = row([2.0, 3.0, 4.0], threshold=1.0, direction=">", precondition="the healthy model H fails (2/3 seeds)")
    assert r["verdict"] == "inconclusive" and r["why"] == "precondition not met: the healthy model H fails (2/3 seeds)"


def test_all_names_the_unit_in_why():
    r = row([0.1, 0.9], threshold=0.5, direction="<", aggregate="all", unit="network")
    assert r["why"] == "1/2 networks on the other side of the threshold"
