"""Fault-injection cases, one entry per study (a study that lands adds its entry here).

Each entry names, in the smoke config's terms, a sub-DAG the fault tests delete from a copy of
the shared smoke run and rebuild: ``target`` (the file asked for), ``remove`` (outputs deleted,
so their jobs must run again), ``ckpt_dir`` + ``train_log`` (the checkpointed job killed
mid-run; ``ckpt_file`` / ``resume_line``: regexes for its checkpoint file names and the log line
of a resume, each with the step or period as group 1; ``keeps_all``: False where the job keeps
only its newest checkpoint; ``periods``: the breakpoints of a job that keeps none once done;
``resume_file``: where the job keeps its resume state apart from the step files; ``kill_skip``:
why a study's kill test cannot run at smoke scale), ``broken_input`` (a table a cheap job of the
sub-DAG reads: overwritten with a foreign Parquet file to make that job fail on every attempt) and
``failing_log``.
"""

import pytest
import yaml

from smk import REPO

GRADIENT_TRAINED = {  # learndyn.train.fit_with_breakpoints: step=<n>.ckpt of the kept breakpoints, each
    # written once; resume.ckpt (``resume_file``) holds the newest breakpoint, kept or not
    "ckpt_file": r"step=(\d+)\.ckpt",
    "resume_line": r"resuming from \S*step=(\d+)\.ckpt",
    "keeps_all": True,
    "resume_file": "resume.ckpt",
}


def _smoke_periods() -> int:
    scale = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())["motor"]["scale"]
    return int(scale["n_train"]) + int(scale["n_test"])


FAULT_CASES = {
    "splines": {
        "target": "results/splines/tables/implicit_regularisation.parquet",
        "remove": [
            "results/splines/tables/implicit_regularisation.parquet",  # (else "up to date")
            "results/splines/runs/presets-H50/checkpoints.parquet",
            "results/splines/runs/presets-H50/runs.parquet",
            "results/splines/runs/presets-H50/ckpt",
            "results/splines/tables/groups/presets-H50",
        ],
        "ckpt_dir": "results/splines/runs/presets-H50/ckpt",
        "train_log": "logs/train_splines/presets-H50.log",
        "broken_input": "results/splines/tables/groups/width-H10/metrics.parquet",
        "failing_log": "logs/collect_splines_metrics.log",
        **GRADIENT_TRAINED,
    },
    "kernel": {
        "target": "results/kernel/tables/runs.parquet",
        "remove": [
            *(
                f"results/kernel/tables/{t}.parquet"  # every output of collect_kernel_runs
                for t in ("runs", "curves", "ari", "correlations", "sweep", "sweep_curves", "sweep_stats")
            ),
            "results/kernel/runs/LR-r0",
            "results/kernel/tables/runs/LR-r0",
        ],
        "ckpt_dir": "results/kernel/runs/LR-r0/ckpt",
        "train_log": "logs/train_kernel/LR-r0.log",
        "broken_input": "results/kernel/tables/runs/LR-r1/summary.parquet",
        "failing_log": "logs/collect_kernel_runs.log",
        **GRADIENT_TRAINED,
    },
    "motor": {  # online learning, no gradients: period checkpoints (learndyn.motor.checkpoints)
        "target": "results/motor/tables/results.parquet",
        "remove": ["results/motor/tables", "results/motor/runs/task2-supertrex-scripts"],
        "ckpt_dir": "results/motor/runs/task2-supertrex-scripts/shared/ckpt",  # smoke: seed_design shared_j
        "train_log": "logs/simulate_motor/task2-supertrex-scripts/shared.log",
        "broken_input": "results/motor/runs/task1-rmhl-scripts/shared/results.parquet",
        "failing_log": "logs/collect_motor.log",
        "ckpt_file": r"period=(\d+)\.npz",
        "resume_line": r"resumed from \S*period=(\d+)\.npz",
        "keeps_all": False,  # smoke config: checkpoint.keep = none (the newest while running, none once done)
        "periods": _smoke_periods(),  # every period is a breakpoint; a finished run leaves no file to count
    },
    "perturb": {
        "target": "results/perturb/tables/training.parquet",
        "broken_input": "results/perturb/runs/fmnist/linear/s0/history.parquet",
        "failing_log": "logs/collect_perturb_training.log",
        # a smoke training run takes ~0.1 s (2 epochs of 8 iterations): no kill can land between two
        # breakpoints reliably; tests/perturb/test_train.py kills one mid-epoch and checks the resume
        "kill_skip": "smoke perturb training is too short to interrupt (resume: tests/perturb/test_train.py)",
    },
}


def landed_studies():
    smoke = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    return [s for s in smoke["studies"] if s in FAULT_CASES]


def pytest_generate_tests(metafunc):
    if "study" in metafunc.fixturenames:
        metafunc.parametrize("study", landed_studies())


@pytest.fixture
def case(study):
    return FAULT_CASES[study]
