"""Workflow tests of the kernel target: dry runs, the smoke DAG, no-op rerun, incremental rerun,
bad config, and the claims that must hold at smoke scale (fixed seeds)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from cli import copy_run
from learndyn.claims import VERDICTS
from learndyn.kernel.jobs import analysed_steps, render_kernel
from learndyn.train import RESUME, checkpoint_files
from smk import REPO, run_snakemake, snapshot, write_config

pytestmark = pytest.mark.workflow
FIGURES = {
    "A_one_step",
    "B_linear_loss",
    "C_linear_kernel_vectors",
    "D_linear_tracking",
    "E_loss_curves",
    "F_paired_delta",
    "G_embedding",
    "H_ari",
    "I_eigenvectors",
    "J_silhouette_vs_loss",
    "K_replicates",
    "L_scale_sweep",
    "M_splines_regime",
}


@pytest.mark.parametrize("config", ["smoke", "config", "paper"])
def test_dry_run_kernel_target(tmp_path, config):
    run_snakemake(tmp_path, REPO / "config" / f"{config}.yaml", targets=["kernel"], dryrun=True)


def test_splines_regime_job_only_with_both_studies(tmp_path):
    target = ["results/kernel/tables/splines_regime_stats.parquet"]
    run_snakemake(tmp_path, REPO / "config" / "smoke.yaml", targets=target, dryrun=True)
    alone = write_config(tmp_path / "alone.yaml", studies=["kernel"])
    run_snakemake(tmp_path, alone, targets=["kernel"], dryrun=True)  # schedules cleanly without splines
    with pytest.raises(Exception, match="splines_regime"):
        run_snakemake(tmp_path, alone, targets=target, dryrun=True)
    bad = write_config(tmp_path / "bad_pool.yaml", kernel__splines_regime__pool=["nope"])
    with pytest.raises(Exception, match=r"kernel\.splines_regime\.pool"):
        run_snakemake(tmp_path, bad, targets=["kernel"], dryrun=True)


def test_bad_kernel_config_names_the_key(tmp_path):
    cfg = write_config(tmp_path / "bad.yaml", kernel__schedules__LR__snapshot_every=30)
    with pytest.raises(Exception, match=r"kernel\.schedules\.LR\.snapshot_every"):
        run_snakemake(tmp_path, cfg, targets=["kernel"], dryrun=True)


# The kernel part of the shared smoke DAG (tests/conftest.py); the figures are also rendered
# in-process from its tables, one call each (a Snakemake job per figure pays ~3 s of imports).
SMOKE_TARGETS = ["results/kernel/claims.parquet", "results/figures/kernel/E_loss_curves.png"]


def test_kernel_smoke_outputs_and_claims(smoke_run):
    work, _ = smoke_run
    assert (work / SMOKE_TARGETS[1]).stat().st_size > 10_000
    assert (work / "results/benchmarks/train_kernel/LR-r0.tsv").read_text().count("\n") >= 2
    manifest = pd.read_parquet(work / "results/kernel/runs/LR-r0/checkpoints.parquet")
    # retention: the phase-1 snapshots and the end of phase 2 (what analyse_run reads), not the
    # phase-2 snapshots; the manifest lists exactly the files on disk, the resume state is gone
    assert manifest.step.tolist() == list(range(0, 201, 20)) + [400]
    for run in ("LR-r0", "LR-r1"):
        ckpt = work / f"results/kernel/runs/{run}/ckpt"
        listed = pd.read_parquet(ckpt.parent / "checkpoints.parquet").step.tolist()
        train = yaml.safe_load((REPO / "config/smoke.yaml").read_text())["kernel"]["schedules"][run[:2]]
        assert sorted(checkpoint_files(ckpt)) == listed == analysed_steps(train), run
        assert not (ckpt / RESUME).exists()
    claims = pd.read_parquet(work / "results/kernel/claims.parquet").set_index("claim_id")
    assert (claims.study == "kernel").all()
    # exact and validation claims hold at smoke scale
    for cid in ("O1a", "O1b", "O2a", "O2b", "O2c", "T4"):
        assert claims.loc[cid, "verdict"] == "reproduced", claims.loc[cid].to_dict()
    # Std > Large in both smoke pairs, but 2 pairs are below the share's minimum of 3 units
    assert claims.loc["O3", "value"] == 1.0 and claims.loc["O3", "verdict"] == "inconclusive"
    assert (
        "minimum 3" in claims.loc["O3", "why"]
        and claims.loc["O3", "figure"] == "figures/kernel/J_silhouette_vs_loss.png"
    )
    assert {"O4-LR", "O5-LR", "O6a", "O6b", "O7-task", "O7-input", "O8-multi-all", "O8-single-all"} <= set(claims.index)
    # init-scale sweep: 5 scales per run (Large reused at the sweep lr), structure falls with scale
    sweep = pd.read_parquet(work / "results/kernel/tables/sweep.parquet")
    assert sorted(sweep.w.unique()) == pytest.approx([0.05, 0.1, 0.2, 0.5, 1.0]) and (sweep.lr == 0.01).all()
    sw1 = claims.loc["SW1"]  # 2 replicates: below the mean's minimum of 3
    assert sw1["value"] <= -0.5 and sw1["verdict"] == "inconclusive" and len(sw1["values"]) == 2
    assert {"SW2-single", "SW2-multi"} <= set(claims.index)
    assert any(c.startswith("KR") for c in claims.index)  # both studies in this DAG: the splines-regime rows
    runs = pd.read_parquet(work / "results/kernel/tables/runs.parquet")
    assert set(runs.init) == {"std", "large"}  # the paper's pairs only
    assert set(claims.verdict) <= set(VERDICTS)


def test_every_figure_renders_from_the_smoke_tables(smoke_run, tmp_path):
    import yaml

    from learndyn.figures import kernel as fk
    from learndyn.job import Job

    work, cfg = smoke_run
    ker = yaml.safe_load(cfg.read_text())["kernel"]
    tables = {
        "runs": "runs",
        "curves": "curves",
        "ari": "ari",
        "correlations": "correlations",
        "sweep": "sweep",
        "sweep_curves": "sweep_curves",
        "sweep_stats": "sweep_stats",
        "relu1d": "relu1d",
        "onestep": "onestep",
        **{t: t for t in fk.TABLES if t.startswith("smg")},
    }
    paths = {t: work / f"results/kernel/tables/{f}.parquet" for t, f in tables.items()}
    run0 = f"{ker['ari']['schedule']}-r0"
    paths.update(
        {t: work / f"results/kernel/tables/runs/{run0}/{t}.parquet" for t in ("embedding", "eigvec", "groups")}
    )
    assert set(fk.FIGURES) == FIGURES
    for name, (_, needed) in fk.FIGURES.items():
        if name == "M_splines_regime":  # needs the splines study: rendered in test_splines_regime
            continue
        out = tmp_path / f"{name}.png"
        render_kernel(
            Job(
                rule=f"render_kernel_{name}",
                inputs={t: str(paths[t]) for t in needed},
                outputs={"figure": str(out)},
                cfg={"figure": name, "ari": ker["ari"]},
            )
        )
        assert out.stat().st_size > 10_000, name


def test_rerun_noop_and_claims_threshold_reruns_only_claims(smoke_run, tmp_path):
    work, cfg = copy_run(smoke_run[0], tmp_path / "work"), smoke_run[1]  # the shared run stays as it is
    before = snapshot(work)
    run_snakemake(work, cfg, targets=SMOKE_TARGETS)
    assert snapshot(work) == before
    changed_cfg = write_config(tmp_path / "changed.yaml", kernel__claims__ari_high=0.6)
    run_snakemake(work, changed_cfg, targets=SMOKE_TARGETS)
    after = snapshot(work)
    assert {k for k in after if before.get(k) != after[k]} == {"results/kernel/claims.parquet"}
