"""Fault-injection cases, one entry per study (a study that lands adds its entry here).

Each entry names, in the smoke config's terms, a sub-DAG the fault tests delete from a copy of
the shared smoke run and rebuild: ``target`` (the file asked for), ``remove`` (outputs deleted,
so their jobs must run again), ``ckpt_dir`` + ``train_log`` (the checkpointed job killed
mid-run), ``broken_input`` (a table a cheap job of the sub-DAG reads: overwritten with a
foreign Parquet file to make that job fail on every attempt) and ``failing_log``.
"""

import pytest
import yaml
from smk import REPO

FAULT_CASES = {
    "splines": {
        "target": "results/splines/tables/implicit_regularisation.parquet",
        "remove": ["results/splines/tables/implicit_regularisation.parquet",  # (else "up to date")
                   "results/splines/runs/presets-H50/checkpoints.parquet",
                   "results/splines/runs/presets-H50/runs.parquet",
                   "results/splines/runs/presets-H50/ckpt",
                   "results/splines/tables/groups/presets-H50"],
        "ckpt_dir": "results/splines/runs/presets-H50/ckpt",
        "train_log": "logs/train_splines/presets-H50.log",
        "broken_input": "results/splines/tables/groups/width-H10/metrics.parquet",
        "failing_log": "logs/collect_splines_metrics.log",
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
