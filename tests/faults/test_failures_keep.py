"""A failing job keeps what existed: other jobs' earlier outputs stay in place, and after the input is
fixed a plain rerun rebuilds everything missing (issue 16, item 4).  A tiny DAG: the splines data sets
(five prepare jobs and the collect job that reads them)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from smk import run_snakemake, write_config

DATA = "results/splines/data"
SETS = [f"{DATA}/D{k}.parquet" for k in range(1, 6)]
TARGET = f"{DATA}/datasets.parquet"


def _state(work, paths):
    return {p: ((work / p).read_bytes(), (work / p).stat().st_mtime_ns) for p in paths if (work / p).exists()}


@pytest.mark.workflow
def test_failing_job_keeps_other_outputs_and_a_plain_rerun_rebuilds_what_is_missing(tmp_path):
    cfg = write_config(tmp_path / "smoke.yaml", studies=["splines"])
    run_snakemake(tmp_path, cfg, targets=[TARGET])
    built = _state(tmp_path, SETS)
    assert len(built) == 5 and (tmp_path / TARGET).exists()

    # a hostile input: D3 replaced by a foreign Parquet file; the collect job reading it fails
    broken = tmp_path / SETS[2]
    pq.write_table(pa.table({"a": [1]}), broken)
    (tmp_path / TARGET).unlink()
    with pytest.raises(Exception):
        run_snakemake(tmp_path, cfg, targets=[TARGET])
    log = (tmp_path / "logs/collect_splines_datasets.log").read_text()
    assert SETS[2] in log and "foreign Parquet" in log, log[-2000:]
    kept = {p: v for p, v in built.items() if p != SETS[2]}
    assert _state(tmp_path, kept) == kept, "a failing job changed other jobs' earlier outputs"
    assert not (tmp_path / TARGET).exists()

    # fixing the input (deleting the bad file) and rerunning plainly rebuilds all that is missing,
    # and only that: the other data sets are not redone
    broken.unlink()
    run_snakemake(tmp_path, cfg, targets=[TARGET])
    assert (tmp_path / TARGET).exists() and (tmp_path / SETS[2]).read_bytes() == built[SETS[2]][0]
    assert _state(tmp_path, kept) == kept
