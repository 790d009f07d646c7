"""Workflow tests of the motor target: dry runs, the motor target on a small config, no-op rerun,
one job per seed (adding a seed runs only that seed)."""

from __future__ import annotations

import pytest

from learndyn.checkpoints import MANIFEST
from learndyn.claims import CLAIMS, VERDICTS
from learndyn.io import read_table
from learndyn.motor.tables import RESULTS
from smk import REPO, run_snakemake, snapshot, write_config

pytestmark = pytest.mark.workflow

# smoke.yaml's motor section with a shorter period (S = 1000) and fewer runs so the test stays cheap
# (jobs cost mostly process start-up); every rule still runs. Task 3 here checks the plumbing of the
# joint costs only: at this N it fails (motor.md, 'Expected outcomes and where to check them'), and its claims say what
# they measured.
SMALL = {
    "studies": ["motor"],
    "motor__scale": {"N": 100, "T": 200.0, "n_train": 10, "n_test": 5},
    "motor__experiments": {
        "task1": {"models": ["force", "supertrex"]},
        "task3": {"models": ["supertrex"], "arm_costs": ["default", "none"]},  # plumbing only
        "parkinsons": {
            "task": "task2",
            "manipulations": ["da", "lesion"],
            "da_gains": [0.0],
            "lesion_after": [1],
            "ldopa": [],
        },
    },
}


@pytest.mark.parametrize("config", ["smoke", "config", "paper"])
def test_dry_run_of_motor_target(tmp_path, config):
    cfg = write_config(tmp_path / "c.yaml", config, studies=["motor"])
    run_snakemake(tmp_path, cfg, targets=["motor"], dryrun=True)


def test_invalid_motor_config_names_the_key(tmp_path):
    cfg = write_config(tmp_path / "c.yaml", "smoke", studies=["motor"], motor__seed_design="magic")
    with pytest.raises(Exception, match="seed_design"):
        run_snakemake(tmp_path, cfg, targets=["motor"], dryrun=True)


def test_motor_target_and_noop_rerun(tmp_path):
    cfg = write_config(tmp_path / "c.yaml", "smoke", **SMALL)
    run_snakemake(tmp_path, cfg, targets=["motor"])
    claims = read_table(tmp_path / "results/motor/claims.parquet", CLAIMS)
    assert len(claims) >= 12 and set(claims["verdict"]) <= set(VERDICTS)
    figures = sorted(p.name for p in (tmp_path / "results/figures/motor").glob("*.png"))
    assert len(figures) == 7, figures
    runs = sorted(p.name for p in (tmp_path / "results/motor/runs").iterdir())
    assert {"pd-da", "task1-force-scripts", "task3-supertrex-scripts", "task3-supertrex-scripts-none"} <= set(runs)
    usage = claims.set_index("claim_id").loc["T3-cost-shapes-joint-usage-scripts"]
    assert "not run: needs" not in usage["detail"] and "none: median path_1/path_3" in usage["detail"]  # measured
    # shared_j: one group; retention (checkpoint.keep: none): no analysis reads the period states, so
    # the finished run keeps none and its manifest lists none
    done = tmp_path / "results/motor/runs/pd-da/shared"
    assert (done / "results.parquet").exists() and not list((done / "ckpt").glob("period=*.npz"))
    assert read_table(done / "checkpoints.parquet", MANIFEST).empty
    before = snapshot(tmp_path)
    run_snakemake(tmp_path, cfg, targets=["motor"])
    assert snapshot(tmp_path) == before
    assert all((REPO / f"workflow/report/motor/{f.removesuffix('.png')}.rst").exists() for f in figures)


def test_adding_a_seed_runs_only_that_seeds_jobs(tmp_path):
    """seed_design per_seed: one job per (run, seed); a new seed leaves the other seeds' files alone."""
    small = {
        "studies": ["motor"],
        "motor__seed_design": "per_seed",
        "motor__scale": {"N": 40, "T": 20.0, "n_train": 10, "n_test": 5},
        "motor__experiments": {"task1": {"models": ["force"]}},
    }
    target = ["results/motor/tables/results.parquet"]
    run_snakemake(tmp_path, write_config(tmp_path / "a.yaml", "smoke", motor__seeds=[1, 2], **small), targets=target)
    before = snapshot(tmp_path)
    run_snakemake(tmp_path, write_config(tmp_path / "b.yaml", "smoke", motor__seeds=[1, 2, 3], **small), targets=target)
    after = snapshot(tmp_path)
    changed = {k for k in after if before.get(k) != after[k]}
    run = "results/motor/runs/task1-force-scripts"
    assert {f"{run}/seed-3/{t}.parquet" for t in ("results", "traces", "checkpoints")} <= changed
    assert not {k for k in changed if k.startswith((f"{run}/seed-1/", f"{run}/seed-2/"))}
    assert {k for k in changed if not k.startswith(f"{run}/seed-3/")} == {
        f"results/motor/tables/{t}.parquet" for t in ("results", "traces", "summary")
    }
    res = read_table(tmp_path / target[0], RESULTS)
    assert sorted(res["seed"]) == [1, 2, 3] and (res["j_seed"] == res["seed"]).all()  # each seed its own J
