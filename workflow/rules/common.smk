# Helpers shared by every study's rules.
# This file defines no rule; `snakemake --lint` still reports "Mixed rules and functions in same
# snakefile" for it because that lint is a text search for `rule <...>:` and `def <...>:`, which the
# error messages of declare_code_inputs match. tests/workflow/test_conventions.py accepts exactly this.
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError

from learndyn.code_inputs import rule_code
from learndyn.config import canonical, study_problems

SRC = os.path.join(workflow.basedir, "src", "learndyn")
RUNNER = os.path.join(workflow.basedir, "workflow", "scripts", "run.py")  # every rule's script:


def code(*modules):
    """Gone: a rule's code inputs are derived from its params.func (declare_code_inputs)."""
    raise WorkflowError(
        "code(...) lists are gone: remove the `code=` input; the Snakefile derives every rule's "
        "src/learndyn files from its params.func (declare_code_inputs in workflow/rules/common.smk)"
    )


def code_path(path):
    """Relative to the working directory when it holds the file (Snakemake run from the project root):
    a results folder copied or moved with its project then plans nothing (an absolute path would differ:
    "Set of input files has changed"); absolute otherwise (a working directory outside the project)."""
    rel = os.path.relpath(path)
    return path if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def declare_code_inputs():
    """Declare, as the input `code` of every rule with a params.func, the src/learndyn files it runs:
    the static import closure of its entry module and of run.py's own imports (learndyn.code_inputs;
    cached per module). Snakemake does not track imported modules; this makes an edit of a module rerun
    exactly the jobs that can run it. Called once, at the end of the Snakefile, after every rule exists."""
    for r in workflow.rules:
        func = dict(r.params.items()).get("func")
        if func is None:
            continue  # targets (all, splines, ...) run nothing
        if "code" in dict(r.input.items()):
            raise WorkflowError(
                f"rule {r.name}: its `code` input is derived from params.func; remove the " "hand-written one"
            )
        try:
            if not isinstance(func, str):
                raise ValueError(f"{func!r} is not a 'module:function' string")
            files = rule_code(func, RUNNER, root=Path(SRC))
        except ValueError as err:
            raise WorkflowError(f"rule {r.name}: cannot derive its code inputs from params.func: {err}") from None
        # Rule.set_input is what Snakemake's own rule decorator calls; a rule defined without `input:`
        # has no input path modifier yet: give it the workflow's, as the decorator would have.
        if r.input_modifier is None:
            r.input_modifier = workflow.modifier.path_modifier
        r.set_input(code=[code_path(str(f)) for f in files])


# One wildcard name, one meaning across the studies: constraints are global (two per-study values of one
# name override each other). {group}: a splines training group "<sweep>-H<width>" (one batched job per
# sweep x width); {seedgroup}: a motor job's seeds, "shared" | "seed-<n>" (the seeds sharing a J);
# {pdata}, {pmodel}, {pseed}: a perturb dataset key, model id and seed (a run is "{pdata}/{pmodel}/s{pseed}").
wildcard_constraints:
    group="[a-z][a-z0-9_]*-H[0-9]+",
    seedgroup="shared|seed-[0-9]+",
    pdata="[a-z][a-z0-9_]*",
    pmodel="[a-z][a-z0-9_.]*",
    pseed="[0-9]+",


def study_targets(study):
    """Everything one study produces (its claims and figures)."""
    return STUDY_TARGETS[study]()


STUDY_TARGETS = {}

# `accelerator` (top-level config) reaches the Lightning training jobs through `params:
# accelerator=ACCELERATOR`; such a job asks the scheduler for a GPU (resource `gpu`, which the
# SLURM profile turns into sbatch --gpus=1) only when the config says `gpu`: under `auto` a job
# uses a GPU where its node has one, but does not demand one.
ACCELERATOR = config["accelerator"]


def study_accelerator(section):
    """A study's accelerator: its own `accelerator` key if it has one, else the top-level one."""
    return section.get("accelerator", ACCELERATOR)


def gpus(device=None):
    """GPUs one job requests: 1 for `accelerator: gpu` (or an explicit CUDA device), else 0."""
    wanted = device if device is not None else ACCELERATOR
    return 1 if wanted == "gpu" or str(wanted).startswith("cuda") else 0


def validate_study(study):
    """Check config[study] before any job starts: its schema, then its cross-key config_problems
    (learndyn.config.study_problems); every problem is named by its key, e.g. perturb.attack.n_images."""
    problems = study_problems(study, config[study], os.path.join(workflow.basedir, "workflow", "schemas"))
    if problems:
        raise WorkflowError(f"invalid config section {study!r}:\n  " + "\n  ".join(problems))
