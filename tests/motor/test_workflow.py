"""Workflow tests of the motor target: dry runs, the motor target on a small config, no-op rerun."""
from __future__ import annotations

import pytest
from smk import REPO, run_snakemake, snapshot, write_config

from learndyn.claims import CLAIMS
from learndyn.io import read_table

pytestmark = pytest.mark.workflow

# smoke.yaml's motor section with a shorter period (S = 1000) and fewer runs so the test stays cheap
# (jobs cost mostly process start-up); every rule still runs.
SMALL = {"studies": ["motor"], "motor__scale": {"N": 100, "T": 200.0, "n_train": 10, "n_test": 5},
         "motor__experiments": {"task1": {"models": ["force", "supertrex"]},
                                "parkinsons": {"task": "task2", "manipulations": ["da", "lesion"], "da_gains": [0.0],
                                               "lesion_after": [1], "ldopa": []}}}


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
    assert len(claims) >= 12 and set(claims["verdict"]) <= {"reproduced", "not reproduced", "inconclusive"}
    figures = sorted(p.name for p in (tmp_path / "results/figures/motor").glob("*.png"))
    assert len(figures) == 6, figures
    runs = sorted(p.name for p in (tmp_path / "results/motor/runs").iterdir())
    assert "pd-da" in runs and "task1-force-scripts" in runs
    assert (tmp_path / "results/motor/runs/pd-da/ckpt/period=15.npz").exists()
    before = snapshot(tmp_path)
    run_snakemake(tmp_path, cfg, targets=["motor"])
    assert snapshot(tmp_path) == before
    assert (REPO / "workflow/report/motor/M6_parkinsons.rst").exists()
