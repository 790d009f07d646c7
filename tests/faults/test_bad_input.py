"""Bad input: invalid configs rejected before any job starts, broken files refused by the task
entry points with the file and the problem named, nothing existing overwritten, no shell.

The config cases add to tests/workflow/test_dag.py's 12 (together: 26 distinct invalid configs).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from learndyn.io import TableError
from learndyn.job import Job
from learndyn.splines import jobs as splines_jobs
from learndyn.splines.runs import training_groups
from learndyn.train import RESUME, CheckpointError
from smk import REPO, run_snakemake, write_config

GROUP = "width-H10"


@pytest.mark.workflow
@pytest.mark.parametrize(
    "change, key",
    [
        ({"accelerator": "tpu"}, "accelerator"),
        ({"studies": []}, "studies"),
        ({"studies": ["splines", "splines"]}, "studies"),
        ({"studies": ["splines", "perturb"], "perturb": None}, "perturb"),  # listed, no section
        ({"splines__seeds": [-1, 0]}, "seeds"),  # negative seed
        ({"splines__sweeps__rho__log10": []}, "log10"),  # empty sweep
        ({"splines__sweeps__presets__dataset": "D9"}, "dataset"),
        ({"splines__data__d5_points": 0}, "d5_points"),  # negative/zero size
        ({"splines__train__chunk": 2.5}, "chunk"),  # wrong type
        ({"splines__train__breakpoints": [4000, 5000]}, "splines.train.breakpoints"),  # none <= max_steps
        ({"splines__train__breakpoints": {"schedule": "log", "num": 5000}}, "splines.train.breakpoints.num"),
        ({"splines__sweeps__rho__train": {"max_steps": 5}}, "splines.sweeps.rho.train.breakpoints"),
        ({"splines__init_laws__uniform": [[1.0]]}, "uniform"),
        ({"splines__flatness__families": []}, "families"),
    ],
)
def test_invalid_config_is_rejected_before_any_job(tmp_path, change, key):
    cfg = write_config(tmp_path / "bad.yaml", **{"studies": ["splines"], **change})
    with pytest.raises(Exception) as err:
        run_snakemake(tmp_path, cfg, dryrun=True)
    assert key in str(err.value), str(err.value)
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


# Config files as a hostile user writes them: each refused while the Snakefile is parsed, with the key
# as written. YAML 1.1 surprises (PyYAML keeps the last duplicate, reads 0100 as 64 and 50:00 as 3000)
# are caught by re-reading the file strictly; NaN / inf pass JSON-schema minimum checks unless walked.
@pytest.mark.workflow
@pytest.mark.parametrize(
    "old, new, key",
    [
        ("accelerator: cpu\n", "accelerator: cpu\naccelerator: gpu\n", "accelerator: duplicate key"),
        ("    max_steps: 3000\n", "    max_steps: 3000\n    max_steps: 30\n", "splines.train.max_steps: duplicate key"),
        ("d2_seed: 2020", "d2_seed: 02020", "splines.data.d2_seed = 02020: a YAML 1.1 octal"),
        ("    max_steps: 3000\n", "    max_steps: 50:00\n", "splines.train.max_steps = 50:00: a YAML 1.1 sexagesimal"),
        ("accelerator: cpu\n", "accelerator: cpu\nallow_large: yes\n", "allow_large = yes: YAML 1.1 reads 'yes'"),
    ],
)
def test_yaml_1_1_surprises_in_a_config_file_are_refused_naming_line_and_key(tmp_path, old, new, key):
    text = (REPO / "config" / "smoke.yaml").read_text()
    assert old in text
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text.replace(old, new, 1))
    with pytest.raises(Exception) as err:
        run_snakemake(tmp_path, cfg, dryrun=True)
    assert key in str(err.value) and f"{cfg}:" in str(err.value), str(err.value)
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


@pytest.mark.workflow
@pytest.mark.parametrize(
    "section, change, key",
    [
        ("perturb", {"perturb__train__lr__default": float("nan")}, "perturb.train.lr.default = nan"),
        ("kernel", {"kernel__linear__init_scale": float("inf")}, "kernel.linear.init_scale = inf"),
        ("perturb", {"perturb__attack__attacks__linf__eps": float("nan")}, "perturb.attack.attacks.linf.eps = nan"),
        ("splines", {"splines__sweeps__width__widths": [10, 10**10]}, "splines.sweeps.width.widths[1] = 10000000000"),
        ("motor", {"motor__scale__N": 10**6}, "motor.scale.N = 1000000"),
        ("perturb", {"perturb__attack__n_images": 10**7}, "perturb.attack.n_images = 10000000"),
        (
            "perturb",
            {"perturb__attack__attacks__linf__kind": "linf_pdg"},
            "perturb.attack.attacks.linf.kind = 'linf_pdg'",
        ),
        ("perturb", {"perturb__attack__attacks__l2__stepsize": 0.1}, "perturb.attack.attacks.l2"),  # misspelled knob
        ("perturb", {"perturb__breakpoints__method": "exakt"}, "perturb.breakpoints.method = 'exakt'"),
        ("perturb", {"perturb__breakpoints__attacks": ["linf", "l_2"]}, "perturb.breakpoints.attacks[1] = 'l_2'"),
        ("perturb", {"perturb__spectra__channel_mode": "grey"}, "perturb.spectra.channel_mode = 'grey'"),
        ("perturb", {"perturb__spectra__r_0": 7}, "'r_0' was unexpected"),
        ("perturb", {"perturb__train__lr__fc_rleu": 0.1}, "perturb.train.lr"),  # lr of a misspelled model
    ],
)
def test_bad_values_are_refused_at_parse_time_naming_the_key_and_value(tmp_path, section, change, key):
    cfg = write_config(tmp_path / "bad.yaml", **{"studies": [section], **change})
    with pytest.raises(Exception) as err:
        run_snakemake(tmp_path, cfg, dryrun=True)
    assert key in str(err.value), str(err.value)
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


def test_allow_large_lifts_the_size_limits_only():
    from learndyn.config import config_problems, load_config_file

    cfg = load_config_file(REPO / "config" / "smoke.yaml")
    cfg["splines"]["sweeps"]["width"]["widths"] = [10, 10**6]
    assert any("splines.sweeps.width.widths[1]" in p for p in config_problems(cfg))
    assert config_problems({**cfg, "allow_large": True}) == []
    cfg["splines"]["train"]["tol"] = float("nan")
    assert any("splines.train.tol = nan" in p for p in config_problems({**cfg, "allow_large": True}))


# -- broken files through the task entry points (what a Snakemake job calls) ---------------------


@pytest.fixture
def group_run(smoke_run, tmp_path):
    """A copy of one trained group of the smoke run, and the analysis job that reads it."""
    ref, _ = smoke_run
    for sub in (f"results/splines/runs/{GROUP}", f"results/splines/tables/groups/{GROUP}", "results/splines/data"):
        shutil.copytree(ref / sub, tmp_path / sub, copy_function=shutil.copy2)
    run_dir = tmp_path / f"results/splines/runs/{GROUP}"
    tables = tmp_path / f"results/splines/tables/groups/{GROUP}"
    job = Job(
        rule="analyse_splines_group",
        inputs={
            "manifest": str(run_dir / "checkpoints.parquet"),
            "runs": str(run_dir / "runs.parquet"),
            "dataset": str(tmp_path / "results/splines/data/D2.parquet"),
        },
        outputs={"trajectory": str(tables / "trajectory.parquet"), "metrics": str(tables / "metrics.parquet")},
        wildcards={"group": GROUP},
    )
    return job, run_dir


def _fingerprints(paths):
    return {p: (Path(p).read_bytes(), Path(p).stat().st_mtime_ns) for p in paths}


def _refused(job, func, error, *names):
    """``func(job)`` raises ``error`` naming every one of ``names``; outputs untouched."""
    before = _fingerprints(job.outputs.values())
    with pytest.raises(error) as err:
        func(job)
    for name in names:
        assert name in str(err.value), str(err.value)
    assert _fingerprints(job.outputs.values()) == before, "an existing result was overwritten"
    return str(err.value)


def test_truncated_parquet_input_is_named(group_run):
    job, _ = group_run
    runs = Path(job.inputs["runs"])
    runs.write_bytes(runs.read_bytes()[: runs.stat().st_size // 2])
    _refused(job, splines_jobs.analyse_splines_group, TableError, str(runs), "truncated")


def test_foreign_parquet_input_is_named(group_run):
    job, _ = group_run
    pq.write_table(pa.table({"step": [0, 1]}), job.inputs["manifest"])
    _refused(job, splines_jobs.analyse_splines_group, TableError, job.inputs["manifest"], "foreign Parquet")


def test_missing_dataset_file_is_named(group_run):
    job, _ = group_run
    Path(job.inputs["dataset"]).unlink()
    _refused(job, splines_jobs.analyse_splines_group, FileNotFoundError, job.inputs["dataset"], "not found")


def _latest_checkpoint(run_dir: Path) -> Path:
    return max(run_dir.glob("ckpt/step=*.ckpt"), key=lambda p: int(re.findall(r"\d+", p.name)[0]))


def test_truncated_checkpoint_is_named(group_run):
    job, run_dir = group_run
    ckpt = _latest_checkpoint(run_dir)
    ckpt.write_bytes(ckpt.read_bytes()[:300])
    _refused(job, splines_jobs.analyse_splines_group, CheckpointError, ckpt.name, "truncated")


def test_checkpoint_of_another_model_is_named(group_run):
    job, run_dir = group_run
    ckpt = _latest_checkpoint(run_dir)
    torch.save({"state_dict": {"layer.weight": torch.zeros(3, 3), "layer.bias": torch.zeros(3)}}, ckpt)
    _refused(job, splines_jobs.analyse_splines_group, CheckpointError, ckpt.name, "no run identity")


class _Payload:
    """Unpickling this object would create ``marker``: the attack a weights-only load refuses."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_checkpoint_carrying_a_pickled_object_is_refused_end_to_end(group_run, smoke_run, tmp_path, capsys):
    """Both readers of checkpoints refuse it: the analysis job, and the training job resuming (which
    skips it, logging why, and trains from the start)."""
    job, run_dir = group_run
    marker = tmp_path / "payload-ran"
    ckpt = _latest_checkpoint(run_dir)
    state = torch.load(ckpt, weights_only=True)
    state["learndyn"] = {"payload": _Payload(marker)}
    torch.save(state, ckpt)
    _refused(job, splines_jobs.analyse_splines_group, CheckpointError, ckpt.name, "weights-only")
    # the training job resumes from ckpt/resume.ckpt (present only while a job trains): poisoned
    # as after a kill, it must skip it too, before Lightning, and start fresh
    torch.save(state, run_dir / "ckpt" / RESUME)
    _, cfg = smoke_run
    import yaml

    group = training_groups(yaml.safe_load(Path(cfg).read_text())["splines"])[GROUP]
    train = Job(
        rule="train_splines",
        inputs={"dataset": job.inputs["dataset"]},
        cfg=group,
        outputs={"manifest": str(run_dir / "checkpoints.parquet"), "runs": str(run_dir / "runs.parquet")},
        wildcards={"group": GROUP},
    )
    splines_jobs.train_splines(train)
    out = capsys.readouterr().out
    assert f"skipping {run_dir / 'ckpt' / RESUME}" in out and "weights-only" in out and "starting fresh" in out, out
    assert not marker.exists(), "the pickled payload ran"


# -- no config string reaches a shell ------------------------------------------------------------


def test_no_rule_runs_a_shell_command():
    """Rules run workflow/scripts/run.py (``script:``): config values travel as Python objects in
    ``params``, never through a shell command line.  Nothing in src/ starts a shell either."""
    rule_files = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
    for path in rule_files:
        text = path.read_text()
        assert not re.search(r"^\s*(shell|run)\s*:", text, re.MULTILINE), f"{path.name}: shell:/run: rule"
        assert "os.system" not in text and "subprocess" not in text, path.name
    for path in (REPO / "src").rglob("*.py"):
        text = path.read_text()
        assert "shell=True" not in text and "os.system(" not in text and "os.popen(" not in text, path
