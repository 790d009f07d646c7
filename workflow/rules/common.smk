# Helpers shared by every study's rules.
import os

from snakemake.exceptions import WorkflowError

SRC = os.path.join(workflow.basedir, "src", "learndyn")


def code(*modules):
    """The learndyn source files a rule runs: declared as inputs so a code change reruns it."""
    return [os.path.join(SRC, m) for m in ("io.py", "job.py", *modules)]


def study_targets(study):
    """Everything one study produces (its claims and figures)."""
    return STUDY_TARGETS[study]()


STUDY_TARGETS = {}


def validate_study(study):
    """Validate config[study] against workflow/schemas/<study>.schema.yaml, naming the section."""
    schema = os.path.join(workflow.basedir, "workflow", "schemas", f"{study}.schema.yaml")
    try:
        validate(config[study], schema)
    except WorkflowError as err:
        raise WorkflowError(f"invalid config section {study!r} ({study}.<key> below):\n{err}") from None
