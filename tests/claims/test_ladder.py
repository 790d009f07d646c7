"""The claims ladder: lining claims up across scale rungs, the trend, the rungs file, the figure."""

import pandas as pd
import pytest

from learndyn.claims import claim, claims_frame
from learndyn.figures.ladder import ladder_html, plot_ladder
from learndyn.ladder import diagnosed, ladder_table, load_rungs, margin, trend


def rung(values_a, values_b):
    return claims_frame(
        [
            claim("s", "A", "a", "m", values=values_a, threshold=0.5, direction="<", aggregate="median", reading="r"),
            claim("s", "B", "b", "m", values=values_b, threshold=0.5, direction="<", aggregate="median", reading="r"),
        ]
    )


def test_margin_and_trend():
    assert margin(0.2, 0.5, "<") == pytest.approx(0.3) and margin(2.0, 1.0, ">=") == pytest.approx(1.0)
    assert (
        trend([-1.0, -0.5, 0.2], ["not reproduced", "inconclusive", "reproduced"]) == "reproduces at the largest rung"
    )
    assert trend([-1.0, -0.5], ["not reproduced", "not reproduced"]) == "moves toward reproduction"
    assert trend([-0.2, -0.5], ["not reproduced", "not reproduced"]) == "moves away from reproduction"
    assert trend([float("nan"), -0.5], ["not run", "not reproduced"]) == "too few rungs with a value"
    # the two largest rungs decide: smoke far below, then default -> step falling, is "away"
    assert trend([-3.0, -0.1, -0.4], ["not reproduced", "inconclusive", "not reproduced"]) == (
        "moves away from reproduction"
    )
    assert trend([-2.0, 0.3, -0.1], ["not reproduced", "reproduced", "inconclusive"]) == (
        "no longer reproduced at the largest rung"
    )
    assert trend([-1.0, float("-inf"), float("-inf")], ["not reproduced"] * 3) == "flat"


def test_ladder_table_and_diagnosed(tmp_path):
    small = rung([0.9, 0.8, 1.0, 0.95, 0.85, 0.9], [0.1] * 6)  # A not reproduced, B reproduced
    large = rung([0.1, 0.2, 0.15, 0.12, 0.1, 0.2, 0.1], [0.1] * 7)  # A reproduces at scale
    table = ladder_table([("smoke", small, 10.0), ("step", large, 100.0)])
    assert len(table) == 4 and set(table["rung"]) == {"smoke", "step"}
    diag = diagnosed(table)
    assert set(diag["claim_id"]) == {"A"}
    assert set(diag["trend"]) == {"reproduces at the largest rung"}
    plot_ladder(diag, "s", tmp_path / "s.png")
    plot_ladder(diag.iloc[0:0], "t", tmp_path / "t.png")  # nothing to diagnose: an explicit empty panel
    assert (tmp_path / "s.png").stat().st_size > 1000 and (tmp_path / "t.png").exists()
    page = ladder_html(diag, ["smoke", "step"])
    assert "reproduces at the largest rung" in page and "<td>A</td>" in page


def test_rungs_file_is_checked(tmp_path):
    (tmp_path / "a.yaml").write_text("studies: [motor]\n")
    good = tmp_path / "rungs.yaml"
    good.write_text("rungs:\n  - {name: a, configfiles: [a.yaml]}\n  - {name: b, configfiles: [a.yaml]}\n")
    assert [r["name"] for r in load_rungs(good, tmp_path)] == ["a", "b"]
    for text, msg in (
        ("rungs:\n  - {name: a, configfiles: [a.yaml]}\n", "at least two"),
        ("rungs:\n  - {name: a, configfiles: [a.yaml]}\n  - {name: a, configfiles: [a.yaml]}\n", "unique"),
        ("rungs:\n  - {name: a, configfiles: [a.yaml]}\n  - {name: b, configfiles: [x.yaml]}\n", "x.yaml not found"),
        ("rungs:\n  - {name: a, configfiles: [a.yaml]}\n  - {name: b/c, configfiles: [a.yaml]}\n", "unique word"),
        ("rungs:\n  - {name: a, configfiles: [a.yaml]}\n  - {name: b, files: [a.yaml]}\n", "exactly"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(ValueError, match=msg):
            load_rungs(bad, tmp_path)


def test_default_rungs_file_parses():
    from smk import REPO

    rungs = load_rungs(REPO / "config" / "ladder" / "rungs.yaml", REPO)
    assert [r["name"] for r in rungs][:2] == ["smoke", "default"] and len(rungs) >= 3


def test_empty_frame_roundtrip():
    assert ladder_table([("a", claims_frame([]), 1.0)]).empty and isinstance(ladder_table([]), pd.DataFrame)


@pytest.mark.workflow
def test_ladder_runs_rungs_and_reruns_nothing(tmp_path):
    """Two tiny rungs (motor Task 1 at N = 40, then with two more seeds) through the real rules; a second run
    plans nothing."""
    import yaml

    from smk import run_snakemake, snapshot, write_config

    tiny = {  # a few seconds of motor per rung: the ladder's mechanics, not the science
        "motor__scale": {"N": 40, "T": 20.0, "n_train": 10, "n_test": 5},
        "motor__experiments": {"task1": {"models": ["force", "rmhl", "supertrex"]}},
    }
    rung_a = write_config(tmp_path / "a.yaml", studies=["motor"], **tiny)
    seeds = yaml.safe_load(rung_a.read_text())["motor"]["seeds"]
    rung_b = tmp_path / "b.yaml"
    rung_b.write_text(yaml.safe_dump({"motor": {"seeds": seeds + [max(seeds) + 1, max(seeds) + 2]}}))
    rungs = tmp_path / "rungs.yaml"
    rungs.write_text(
        yaml.safe_dump(
            {
                "rungs": [
                    {"name": "tiny", "configfiles": [str(rung_a)]},
                    {"name": "more_seeds", "configfiles": [str(rung_a), str(rung_b)]},
                ]
            }
        )
    )
    cfg = write_config(tmp_path / "main.yaml", studies=["motor"], ladder={"rungs": str(rungs)}, **tiny)
    work = tmp_path / "work"
    run_snakemake(work, cfg, targets=["claims_ladder"])
    table = pd.read_parquet(work / "results/claims_ladder.parquet")
    assert set(table["rung"]) == {"tiny", "more_seeds"}
    n = table.groupby("rung")["n"].max()
    assert n["more_seeds"] > n["tiny"]  # the second rung really ran more seeds
    assert (work / "results/figures/ladder/motor.png").exists() and (work / "results/claims_ladder.html").exists()
    before = snapshot(work)
    run_snakemake(work, cfg, targets=["claims_ladder"])
    assert snapshot(work) == before
