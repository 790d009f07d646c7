# Helpers shared by every study's rules.
import os

from snakemake.exceptions import WorkflowError

from learndyn.config import canonical, study_problems

SRC = os.path.join(workflow.basedir, "src", "learndyn")


def code(*modules):
    """The learndyn source files a rule runs: declared as inputs so a code change reruns it."""
    return [os.path.join(SRC, m) for m in ("io.py", "job.py", *modules)]


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
