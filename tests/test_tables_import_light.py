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
