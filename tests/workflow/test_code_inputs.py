"""Code inputs: every rule declares the src/learndyn files it runs, derived from the import closure of
its params.func (learndyn.code_inputs, declare_code_inputs in workflow/rules/common.smk), as paths
relative to the project, so that

- editing a module reruns exactly the jobs that can run it (and what depends on their outputs);
- a results folder copied with its project to another path plans nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cli import copy_run, run
from learndyn.code_inputs import CodeInputError, closure, rule_code
from measure import note
from smk import REPO, SNAKEFILE, write_config

pytestmark = pytest.mark.workflow

SRC = REPO / "src" / "learndyn"
RUNNER = REPO / "workflow" / "scripts" / "run.py"
# one module per study, each run by some jobs of the smoke DAG and not by others
EDITED = ["splines/gd.py", "kernel/pseudo_kernel.py", "perturb/spectra.py", "motor/kernels.py"]


# -- the closure itself, on a made-up package ------------------------------------------------------


def _package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in {"__init__.py": "", **files}.items():
        (root / "learndyn" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "learndyn" / rel).write_text(textwrap.dedent(text))
    return root / "learndyn"


def test_closure_follows_every_kind_of_import(tmp_path):
    pkg = _package(
        tmp_path,
        {
            "entry.py": """
            import numpy
            import learndyn.absolute
            from . import relative_sibling
            from .sub import deep
            from learndyn.sub import submodule_by_name, SOME_NAME
            def later():
                from learndyn.inside_function import f
                import importlib
                importlib.import_module("learndyn.by_literal")
            """,
            "absolute.py": "from .chained import x\n",
            "chained.py": "x = 1\n",
            "relative_sibling.py": "",
            "sub/__init__.py": "SOME_NAME = 1\n",
            "sub/deep.py": "from ..up_two import y\n",
            "sub/submodule_by_name.py": "",
            "up_two.py": "y = 2\n",
            "inside_function.py": "def f(): pass\n",
            "by_literal.py": "",
            "unrelated.py": "import learndyn.entry\n",
        },
    )
    got = {str(p.relative_to(pkg)) for p in closure("learndyn.entry", pkg)}
    assert got == {
        "__init__.py",
        "entry.py",
        "absolute.py",
        "chained.py",
        "relative_sibling.py",
        "sub/__init__.py",
        "sub/deep.py",
        "sub/submodule_by_name.py",
        "up_two.py",
        "inside_function.py",
        "by_literal.py",
    }


def test_closure_of_an_fstring_import_takes_the_whole_package(tmp_path):
    pkg = _package(
        tmp_path,
        {
            "claims.py": 'import importlib\nimportlib.import_module(f"learndyn.plug.{name}")\n',
            "plug/__init__.py": "",
            "plug/a.py": "",
            "plug/b.py": "",
        },
    )
    got = {str(p.relative_to(pkg)) for p in closure("learndyn.claims", pkg)}
    assert {"plug/__init__.py", "plug/a.py", "plug/b.py"} <= got


def _entry_files(pkg: Path, func: str) -> set[str]:
    return {str(p.relative_to(pkg)) for p in rule_code(func, RUNNER, pkg)} - {"__init__.py", "job.py", "io.py"}


def test_an_entry_function_runs_its_own_imports_not_its_siblings(tmp_path):
    """One jobs.py holds every entry of a study: a function that imports lazily does not pull its
    sibling's imports, but module-level imports and the module's own helpers it calls do count."""
    pkg = _package(
        tmp_path,
        {
            "job.py": "",
            "io.py": "",
            "study/__init__.py": "from . import light\n",
            "study/jobs.py": """
            from learndyn.study import tables
            LIMIT = 3
            def _helper():
                from learndyn.study import helped
            class Reader:
                def read(self):
                    from learndyn.study import read_by_class
            def collect(job):
                from learndyn.study import stats
                _helper()
                return Reader()
            def train(job):
                from learndyn.study import model
            def alias(job):
                pass
            render = alias
            """,
            "study/light.py": "",
            "study/tables.py": "",
            "study/helped.py": "",
            "study/read_by_class.py": "",
            "study/stats.py": "",
            "study/model.py": "from learndyn.study import heavy\n",
            "study/heavy.py": "",
        },
    )
    common = {"study/__init__.py", "study/light.py", "study/jobs.py", "study/tables.py"}
    assert _entry_files(pkg, "learndyn.study.jobs:collect") == common | {
        "study/stats.py",
        "study/helped.py",
        "study/read_by_class.py",
    }
    assert _entry_files(pkg, "learndyn.study.jobs:train") == common | {"study/model.py", "study/heavy.py"}
    assert _entry_files(pkg, "learndyn.study.jobs:alias") == common
    # bound at module level but not by a def: the whole module counts (a superset, never a subset)
    assert {"study/stats.py", "study/model.py"} <= _entry_files(pkg, "learndyn.study.jobs:render")
    with pytest.raises(CodeInputError, match="no module-level function 'trian'"):
        rule_code("learndyn.study.jobs:trian", RUNNER, pkg)


def test_each_collect_entry_stays_clear_of_training_code():
    """The real entry modules: collecting and claims jobs do not depend on the training modules."""
    training = {SRC / "train" / "factory.py"} | {SRC / s / "module.py" for s in ("kernel", "splines", "perturb")}
    for func in (
        "learndyn.kernel.jobs:collect_kernel_runs",
        "learndyn.kernel.jobs:kernel_claims",
        "learndyn.kernel.jobs:render_kernel",
        "learndyn.splines.jobs:collect_splines_metrics",
        "learndyn.splines.jobs:splines_claims",
        "learndyn.motor.jobs:collect_motor",
        "learndyn.perturb.jobs:collect_perturb_training",
        "learndyn.perturb.jobs:perturb_contamination_table",
        "learndyn.perturb.jobs:collect_perturb_spectra",
        "learndyn.perturb.jobs:perturb_claims",
        "learndyn.perturb.jobs:render_perturb",
    ):
        assert not training & set(rule_code(func, RUNNER)), func
    assert SRC / "kernel" / "module.py" in rule_code("learndyn.kernel.jobs:train_kernel", RUNNER)
    assert SRC / "perturb" / "module.py" in rule_code("learndyn.perturb.jobs:train_perturb", RUNNER)
    assert SRC / "kernel" / "multitask.py" not in rule_code("learndyn.kernel.jobs:collect_kernel_runs", RUNNER)


def test_unknown_module_or_entry_is_refused_naming_it(tmp_path):
    pkg = _package(tmp_path, {"a.py": "import learndyn.gone\n"})
    with pytest.raises(CodeInputError, match=r"a\.py: imports learndyn\.gone"):
        closure("learndyn.a", pkg)
    with pytest.raises(CodeInputError, match="learndyn.nope: no such module"):
        rule_code("learndyn.nope:f", RUNNER, pkg)
    with pytest.raises(CodeInputError, match="expected 'module:function'"):
        rule_code("learndyn.a.f", RUNNER, pkg)


# -- every rule of the DAG -----------------------------------------------------------------------


def declared_code(workdir: Path, configfile: Path) -> dict[str, tuple[str, set[Path]]]:
    """rule -> (params.func, its declared code inputs), from the parsed Snakefile."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import (
        ConfigSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
    )

    cwd = os.getcwd()
    try:
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            wf = api.workflow(
                resource_settings=ResourceSettings(cores=1),
                storage_settings=StorageSettings(),
                config_settings=ConfigSettings(configfiles=[configfile]),
                snakefile=SNAKEFILE,
                workdir=workdir,
            )
            rules = wf._workflow.rules  # the parsed rules; no public API lists a rule's params
            return {
                r.name: (dict(r.params.items())["func"], {Path(f).resolve() for f in r.input.get("code", [])})
                for r in rules
                if "func" in dict(r.params.items())
            }
    finally:
        os.chdir(cwd)


# Imports each entry module in a fresh fork of one interpreter that has already loaded the third-party
# libraries (so each costs milliseconds) and reports the learndyn files that importing it loaded.
_LOADED = r"""
import importlib, json, os, sys
entries = json.loads(sys.argv[1])
for e in entries:
    importlib.import_module(e)
importlib.import_module("learndyn.job")
for name in [m for m in sys.modules if m == "learndyn" or m.startswith("learndyn.")]:
    del sys.modules[name]  # third-party modules stay loaded; learndyn is re-executed in each child
out = {}
for e in entries:
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(r)
        importlib.import_module(e)
        importlib.import_module("learndyn.job")  # what workflow/scripts/run.py imports
        files = [m.__file__ for n, m in list(sys.modules.items())
                 if (n == "learndyn" or n.startswith("learndyn.")) and getattr(m, "__file__", None)]
        os.write(w, json.dumps(files).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as fh:
        out[e] = json.loads(fh.read())
    os.wait()
print(json.dumps(out))
"""


def loaded_by_import(entries: list[str]) -> dict[str, set[Path]]:
    """entry module -> the learndyn files importing it (and learndyn.job) actually loads."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        "MPLBACKEND": "Agg",
    }
    out = subprocess.run(
        [sys.executable, "-c", _LOADED, json.dumps(entries)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    ).stdout
    return {e: {Path(f).resolve() for f in files} for e, files in json.loads(out.splitlines()[-1]).items()}


def test_every_rule_declares_what_importing_its_entry_loads(tmp_path):
    """Declared code inputs of every rule of the smoke DAG (all four studies) vs the learndyn files
    that importing its entry module really loads: a module missing from the declaration fails."""
    rules = declared_code(tmp_path, write_config(tmp_path / "smoke.yaml"))
    assert len(rules) > 30, sorted(rules)
    loaded = loaded_by_import(sorted({func.partition(":")[0] for func, _ in rules.values()}))
    problems = []
    for name, (func, declared) in sorted(rules.items()):
        if not declared:
            problems.append(f"{name}: no code inputs declared")
        missing = loaded[func.partition(":")[0]] - declared
        if missing:
            problems.append(
                f"{name} ({func}): runs {sorted(str(p.relative_to(SRC)) for p in missing)} but does not declare them"
            )
        outside = {p for p in declared if SRC not in p.parents}
        if outside:
            problems.append(f"{name}: declares files outside src/learndyn: {sorted(map(str, outside))}")
    assert not problems, "\n".join(problems)
    # the case that was wrong by hand: the compiled engine's building blocks
    assert SRC / "motor" / "kernels.py" in rules["simulate_motor"][1]


# -- editing a module on complete smoke results ---------------------------------------------------


def copy_project(dst: Path) -> Path:
    """The project's sources (Snakefile, workflow/, config/, envs/: every rule names its conda env there,
    src/learndyn) in ``dst``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "Snakefile", dst / "Snakefile")
    for sub in ("workflow", "config", "envs", "src/learndyn"):
        shutil.copytree(REPO / sub, dst / sub, ignore=ignore, copy_function=shutil.copy2)
    return dst


def dry_run(project: Path, configfile: Path, *extra: str) -> dict[tuple[str, str], dict]:
    """`snakemake -n` in a project folder, as a user types it: job (rule, wildcards) -> its block.
    ``extra`` (targets, options) goes before --configfile, which takes several values."""
    out = run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--snakefile",
            str(project / "Snakefile"),
            "--directory",
            str(project),
            *extra,
            "--configfile",
            str(configfile),
        ],
        timeout=300,
    ).stdout
    jobs = {}
    for rule, body in re.findall(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", out, re.MULTILINE):
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, re.MULTILINE))
        jobs[(rule, fields.get("wildcards", ""))] = {
            "input": _files(fields, "input"),
            "output": _files(fields, "output"),
            "reason": fields.get("reason", ""),
        }
    if not jobs:
        assert "Nothing to be done" in out, out[-3000:]
    return jobs


def _files(fields: dict, key: str) -> set[str]:
    return {f for f in fields.get(key, "").split(", ") if f}


def descendants(jobs: dict, start: set) -> set:
    """Jobs that read (transitively) an output of a job in ``start`` (members of ``start`` too)."""
    found, todo = set(), list(start)
    while todo:
        outputs = jobs[todo.pop()]["output"]
        for key, job in jobs.items():
            if key not in found and job["input"] & outputs:
                found.add(key)
                todo.append(key)
    return found


def test_editing_one_module_per_study_reruns_exactly_the_jobs_that_run_it(smoke_run, tmp_path):
    """The shared smoke results in a copy of the project; one module of each study edited. Snakemake
    must schedule every job whose declared code holds an edited module, for that reason and with
    exactly those modules, plus the jobs downstream of them, and nothing else.

    Only the mtime trigger is used: the shared smoke run recorded its code inputs with the project at
    another path (absolute), so in this copy the input-set trigger would replan everything; that
    trigger is what the copy test below checks."""
    ref, cfg = smoke_run
    project = copy_run(ref, copy_project(tmp_path / "project"))
    old = time.time() - 10 * 24 * 3600  # sources older than every result, as in a checkout
    for path in (project / "src").rglob("*.py"):
        os.utime(path, (old, old))
    everything = dry_run(project, cfg, "--forceall", "--rerun-triggers", "mtime")
    for rel in EDITED:
        with open(project / "src" / "learndyn" / rel, "a") as fh:
            fh.write("\n# edited by test_code_inputs\n")
    t0 = time.monotonic()
    scheduled = dry_run(project, cfg, "--rerun-triggers", "mtime")
    note(f"snakemake -n on the complete smoke results (4 modules edited): {time.monotonic() - t0:.1f} s")

    edited = {f"src/learndyn/{rel}" for rel in EDITED}
    direct = {key for key, job in everything.items() if job["input"] & edited}
    for rel in edited:
        assert any(rel in everything[k]["input"] for k in direct), f"no job runs {rel}: a vacuous edit"
        assert any(rel not in job["input"] for job in everything.values()), f"every job runs {rel}: a weak test"
    assert any(k[0] == "simulate_motor" for k in direct if "src/learndyn/motor/kernels.py" in everything[k]["input"])

    downstream = descendants(everything, direct)
    expected = direct | downstream
    assert set(scheduled) == expected, (
        f"scheduled but not expected: {sorted(set(scheduled) - expected)}\n"
        f"expected but not scheduled: {sorted(expected - set(scheduled))}"
    )
    # Snakemake names the edited file as the reason, except where an upstream job reruns anyway
    for key in direct - downstream:
        mine = sorted(everything[key]["input"] & edited)
        updated = re.search(r"Updated input files: ([^;]*)", scheduled[key]["reason"])
        assert updated and sorted(updated.group(1).split(", ")) == mine, (key, scheduled[key]["reason"], mine)
    for key in expected - direct:
        assert "Updated input files" not in scheduled[key]["reason"], (key, scheduled[key]["reason"])


# -- a results folder copied with its project --------------------------------------------------------


def test_results_copied_with_their_project_plan_nothing(tmp_path):
    """Run a job in a project folder, `cp -a` the folder elsewhere: the dry run there plans nothing
    (code inputs are relative to the project; absolute ones made every job replan: "Set of input files
    has changed since last execution")."""
    first = copy_project(tmp_path / "first")
    cfg = write_config(first / "smoke.yaml")
    target = "results/splines/data/D1.parquet"
    run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "1",
            "--snakefile",
            str(first / "Snakefile"),
            "--directory",
            str(first),
            target,
            "--configfile",
            str(cfg),
        ],
        timeout=300,
    )
    assert dry_run(first, cfg, target) == {}
    moved = tmp_path / "elsewhere" / "second"
    moved.parent.mkdir()
    subprocess.run(["cp", "-a", str(first), str(moved)], check=True)
    planned = dry_run(moved, moved / "smoke.yaml", target)
    assert planned == {}, {k: v["reason"] for k, v in planned.items()}
