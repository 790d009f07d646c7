import os

import pytest

# One thread per test process: results must not depend on it, and the machine has 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One full smoke DAG (config/smoke.yaml), shared by every test that needs its results
    (tests/workflow, and as the reference run of tests/cluster and tests/faults)."""
    from smk import run_snakemake, write_config

    work = tmp_path_factory.mktemp("smoke")
    cfg = write_config(work / "smoke.yaml")
    run_snakemake(work, cfg)
    return work, cfg


def pytest_terminal_summary(terminalreporter):
    from measure import NOTES

    if NOTES:
        terminalreporter.section("learndyn measurements")
        for line in NOTES:
            terminalreporter.write_line(line)
