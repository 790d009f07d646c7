"""Drive the real Snakefile through snakemake.api in a temporary working directory."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "Snakefile"


def run_snakemake(workdir: Path, configfile: Path, targets=(), dryrun: bool = False, cores: int = 2):
    """Run (or dry-run) the DAG; raise on failure like the CLI would."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        ExecutionSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
    )

    cwd = os.getcwd()
    try:
        with SnakemakeApi(OutputSettings()) as api:
            wf = api.workflow(
                resource_settings=ResourceSettings(cores=cores),
                config_settings=ConfigSettings(configfiles=[Path(configfile)]),
                storage_settings=StorageSettings(),
                snakefile=SNAKEFILE,
                workdir=Path(workdir),
            )
            dag = wf.dag(DAGSettings(targets=list(targets)))
            dag.execute_workflow(executor="dryrun" if dryrun else "local", execution_settings=ExecutionSettings())
    finally:
        os.chdir(cwd)


def write_config(path: Path, base: str = "smoke", **changes) -> Path:
    """A copy of config/<base>.yaml with dotted-key changes (value None deletes the key)."""
    cfg = yaml.safe_load((REPO / "config" / f"{base}.yaml").read_text())
    for dotted, value in changes.items():
        node, keys = cfg, dotted.split("__")
        for k in keys[:-1]:
            node = node[k]
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    path.write_text(yaml.safe_dump(cfg))
    return path


def snapshot(root: Path) -> dict[str, int]:
    """mtime (ns) of every file the pipeline wrote under results/."""
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in (root / "results").rglob("*")
        if p.is_file() and "benchmarks" not in p.parts
    }
