"""Fixtures of the workflow tests (helpers live in tests/_support/smk.py)."""

import pytest
from smk import run_snakemake, write_config


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One full smoke DAG, shared by the workflow tests that need results."""
    work = tmp_path_factory.mktemp("smoke")
    cfg = write_config(work / "smoke.yaml")
    run_snakemake(work, cfg)
    return work, cfg
