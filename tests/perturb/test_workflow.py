"""Workflow tests of the perturb target: dry runs of the three configs, bad configs, and the smoke DAG."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from learndyn.claims import VERDICTS
from learndyn.io import read_provenance, read_table
from learndyn.perturb.runs import contamination_runs
from learndyn.train import MANIFEST, RESUME, checkpoint_files
from smk import REPO, run_snakemake, write_config

pytestmark = pytest.mark.workflow


@pytest.mark.parametrize("config", ["smoke", "config", "paper"])
def test_dry_run_perturb_target(tmp_path, config):
    run_snakemake(tmp_path, REPO / "config" / f"{config}.yaml", targets=["perturb"], dryrun=True)


@pytest.mark.parametrize(
    "change,match",
    [
        ({"perturb__dynamics__datasets": ["nope"]}, r"perturb\.dynamics\.datasets: 'nope'"),
        ({"perturb__contamination__pairs": {"synth": "fmnist"}}, r"perturb\.datasets\.fmnist: paired as contaminated"),
        ({"perturb__dynamics__models": ["conv_k3"]}, r"perturb"),
        (
            {"perturb__train__overrides": {"linear": {"lr": 0.1}}},
            r"perturb\.train\.overrides\.linear: unknown keys \['lr'\]",
        ),
        ({"perturb__attack__boundary_images": 500}, r"perturb\.attack\.boundary_images = 500: more than the"),
    ],
)
def test_bad_perturb_config_names_the_key(tmp_path, change, match):
    cfg = write_config(tmp_path / "bad.yaml", **change)
    with pytest.raises(Exception, match=match):
        run_snakemake(tmp_path, cfg, targets=["perturb"], dryrun=True)


def test_perturb_smoke_dag(smoke_run):
    """The perturb part of the shared smoke DAG (tests/conftest.py): tables, retention, claims."""
    work, cfg = smoke_run
    res = work / "results"
    assert (res / "figures/perturb/training.png").stat().st_size > 10_000
    hist = pd.read_parquet(res / "perturb/tables/training.parquet")
    assert set(hist["model"]) == {"linear", "conv_lin_l1_k3_c4", "conv_relu_l1_k3_c4"}
    assert (hist.groupby("run")["step"].min() == 0).all()
    # retention: a dynamics run keeps every breakpoint (attacks read them all), a contamination run
    # none (its table reads the history); manifests list exactly the files on disk
    runs = {
        "dynamics": sorted((res / "perturb/runs").rglob("checkpoints.parquet")),
        "contamination": sorted((res / "perturb/contamination/runs").rglob("checkpoints.parquet")),
    }
    expected = contamination_runs(yaml.safe_load(cfg.read_text())["perturb"])
    assert len(runs["dynamics"]) == hist["run"].nunique() and len(runs["contamination"]) == len(expected)
    for kind, manifests in runs.items():
        for manifest in manifests:
            ckpt = manifest.parent / "ckpt"
            on_disk = sorted(checkpoint_files(ckpt))
            assert read_table(manifest, MANIFEST)["step"].tolist() == on_disk and not (ckpt / RESUME).exists()
            if kind == "dynamics":
                run = "/".join(manifest.parent.parts[-3:])
                assert on_disk == hist[(hist["run"] == run) & hist["checkpoint"]]["step"].tolist(), run
            else:
                assert on_disk == [] and read_provenance(manifest)["checkpoint_keep"] == "none", manifest
    contamination = pd.read_parquet(res / "perturb/tables/contamination.parquet")
    assert set(contamination["family"]) == {"fc_lin", "conv_lin"}
    claims = pd.read_parquet(res / "perturb/claims.parquet").set_index("claim_id")
    assert (claims["study"] == "perturb").all()
    assert {"TR-chance-at-init", "TR-learned-in-epoch0", "R5-synth_fourier"} <= set(claims.index)
    assert claims.loc["TR-chance-at-init", "verdict"] == "reproduced"
    assert {c[:2] for c in claims.index} >= {"R1", "R2", "R3", "R4", "R5", "R6"}
    assert set(claims["verdict"]) <= set(VERDICTS)
