"""Figure and claims jobs read Parquet only: each study's tables module and each figures module
imports without torch (a fresh process per job; torch dominated their run time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
STUDIES = ("kernel", "splines", "perturb", "motor")
MODULES = [f"learndyn.{s}.tables" for s in STUDIES] + sorted(
    f"learndyn.figures.{p.stem}" for s in STUDIES for p in (SRC / "learndyn" / "figures").glob(f"{s}*.py")
)

_CHECK = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps('torch' in sys.modules))"


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_without_torch(module):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "MPLBACKEND": "Agg",
    }
    out = subprocess.run(
        [sys.executable, "-c", _CHECK, module], capture_output=True, text=True, env=env, timeout=120, check=True
    ).stdout
    assert json.loads(out.splitlines()[-1]) is False, f"importing {module} imports torch"


def test_every_study_has_a_tables_module_and_figures():
    assert len(MODULES) > 2 * len(STUDIES), MODULES


def test_rules_parse_without_torch():
    """Every Snakemake invocation (each dry run, each SLURM job step) parses the rules: the modules
    they import at parse time stay free of torch (~1-2 s a parse on the 2-core runner)."""
    import re

    rules = sorted((SRC.parent / "workflow" / "rules").glob("*.smk")) + [SRC.parent / "Snakefile"]
    modules = sorted(
        {m for f in rules for m in re.findall(r"^\s*from (learndyn[\w.]*) import", f.read_text(), flags=re.M)}
    )
    assert "learndyn.splines.tables" in modules, modules
    check = "import importlib, json, sys; [importlib.import_module(m) for m in sys.argv[1:]]; "
    check += "print(json.dumps('torch' in sys.modules))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", check, *modules], capture_output=True, text=True, env=env, timeout=120, check=True
    ).stdout
    assert json.loads(out.splitlines()[-1]) is False, f"the rules' parse-time imports load torch: {modules}"
