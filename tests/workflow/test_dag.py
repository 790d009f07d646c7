"""Workflow tests: dry run, smoke DAG, no-op rerun, incremental rerun, bad configs."""

from __future__ import annotations

import pytest

from smk import REPO, run_snakemake, snapshot, write_config

pytestmark = pytest.mark.workflow


@pytest.mark.parametrize("config", ["smoke", "config", "paper"])
def test_dry_run_of_every_shipped_config(tmp_path, config):
    run_snakemake(tmp_path, REPO / "config" / f"{config}.yaml", dryrun=True)


def test_given_configfile_is_used_alone_not_merged_into_the_default(tmp_path):
    """config.yaml has kernel schedules (ET) and splines sweeps that smoke.yaml lacks: a run with
    --configfile smoke.yaml must not inherit them (Snakemake would deep-merge it into the
    Snakefile's `configfile:`)."""
    from cli import command, run

    cfg = write_config(tmp_path / "smoke.yaml")
    out = run(command(tmp_path, cfg, [], "-n", "--cores", "1"), timeout=300).stdout
    assert "wildcards: krun=LR-r0" in out and "krun=ET-" not in out
    out = run(command(tmp_path, REPO / "config" / "config.yaml", [], "-n", "--cores", "1"), timeout=300).stdout
    assert "krun=ET-" in out


def test_smoke_dag_produces_every_output(smoke_run):
    work, _ = smoke_run
    for rel in ["results/claims.parquet", "results/claims.html", "results/splines/claims.parquet"]:
        assert (work / rel).exists(), rel
    figures = sorted(p.name for p in (work / "results/figures/splines").glob("*.png"))
    assert len(figures) == 8, figures
    for bench in (work / "results/benchmarks/train_splines").glob("*.tsv"):
        assert bench.read_text().count("\n") >= 2


def test_second_run_has_nothing_to_do(smoke_run):
    work, cfg = smoke_run
    before = snapshot(work)
    run_snakemake(work, cfg)
    assert snapshot(work) == before


def test_changing_one_sweep_reruns_only_its_jobs_and_descendants(smoke_run, tmp_path):
    work, _ = smoke_run
    before = snapshot(work)
    cfg = write_config(tmp_path / "changed.yaml", splines__sweeps__rho__log10=[-2, 0, 0.5])
    run_snakemake(work, cfg)
    after = snapshot(work)
    changed = {k for k in after if before.get(k) != after[k]}
    expected = {
        "results/splines/runs/rho-H50/checkpoints.parquet",
        "results/splines/runs/rho-H50/runs.parquet",
        "results/splines/tables/groups/rho-H50/trajectory.parquet",
        "results/splines/tables/groups/rho-H50/metrics.parquet",
        "results/splines/tables/implicit_regularisation.parquet",
    }
    assert expected <= changed
    # only the rho group's files, the tables that aggregate them, claims and the F7 figure
    allowed_prefixes = ("results/splines/runs/rho-H50/", "results/splines/tables/groups/rho-H50/")
    allowed = expected | {
        "results/splines/claims.parquet",
        "results/claims.parquet",
        "results/claims.html",
        "results/claims_summary.rst",
        "results/figures/splines/F7_implicit_regularisation.png",
    }
    # the kernel study's pseudo-kernel of the splines nets reads the rho sweep's runs (kernel.splines_regime.pool)
    allowed |= {
        "results/kernel/tables/splines_regime.parquet",
        "results/kernel/tables/splines_regime_stats.parquet",
        "results/kernel/claims.parquet",
        "results/figures/kernel/M_splines_regime.png",
    }
    unexpected = {k for k in changed if k not in allowed and not k.startswith(allowed_prefixes)}
    assert not unexpected, unexpected
    assert "results/splines/tables/groups/presets-H50/trajectory.parquet" not in changed


@pytest.mark.parametrize(
    "change, key",
    [
        ({"splines__train__max_steps": -5}, "max_steps"),
        ({"splines__train__max_steps": "many"}, "max_steps"),
        ({"splines__seeds": []}, "seeds"),
        ({"studies": ["splines", "astrology"]}, "studies"),
        ({"splines__sweeps__width__widths": [0, 10]}, "widths"),
        ({"splines__sweeps__presets__presets": ["lazy", "gigantic"]}, "presets"),
        ({"splines__train__breakpoints": {"schedule": "cubic", "num": 5}}, "breakpoints"),
        ({"splines__train__breakpoints": []}, "breakpoints"),
        ({"splines__flatness__families": ["torch", "xavier_magic"]}, "families"),
        ({"splines__sweeps__alpha__widths": [51]}, "splines.sweeps.alpha.widths"),
        ({"splines__train__tol": 0}, "tol"),
        ({"splines__trian": {"max_steps": 5}}, "trian"),
    ],
)
def test_invalid_config_is_rejected_naming_the_key(tmp_path, change, key):
    cfg = write_config(tmp_path / "bad.yaml", **change)
    with pytest.raises(Exception) as err:
        run_snakemake(tmp_path, cfg, dryrun=True)
    assert key in str(err.value), str(err.value)
    assert not (tmp_path / "results").exists()


def test_report_holds_claims_and_every_figure(smoke_run):
    """`snakemake --report` (what `make reproduce` runs last) on the smoke results."""
    import subprocess
    import sys
    from pathlib import Path

    work, cfg = smoke_run
    report = work / "results" / "report.html"
    smk = Path(sys.executable).parent / "snakemake"
    subprocess.run(
        [
            str(smk),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(work),
            "--report",
            str(report),
            "--configfile",
            str(cfg),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    text = report.read_text(errors="replace")
    assert "claims.html" in text
    for fig in (work / "results/figures").rglob("*.png"):
        assert fig.name in text, fig.name


def test_gpu_config_asks_the_scheduler_for_a_gpu_on_training_jobs_only(tmp_path):
    """`accelerator: gpu` -> the Lightning training jobs declare `gpu=1` (the SLURM profile turns
    it into sbatch --gpus=1); analyses and figures do not; under `cpu` nothing asks for one."""
    import re

    from cli import command, run

    def gpu_rules(accelerator):
        cfg = write_config(tmp_path / f"{accelerator}.yaml", accelerator=accelerator)
        out = run(command(tmp_path, cfg, [], "-n", "--cores", "1"), timeout=300).stdout
        rules = re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: ([^\n]*)", out, re.M)
        return {rule for rule, res in rules if re.search(r"\bgpu=1\b", res)}

    assert {"train_kernel"} <= gpu_rules("gpu") <= {"train_kernel", "train_perturb", "train_perturb_contamination"}
    assert gpu_rules("cpu") == set()
