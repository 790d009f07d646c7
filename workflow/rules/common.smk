# Helpers shared by every study's rules.
import os

SRC = os.path.join(workflow.basedir, "src", "learndyn")


def code(*modules):
    """The learndyn source files a rule runs: declared as inputs so a code change reruns it."""
    return [os.path.join(SRC, m) for m in ("io.py", "job.py", *modules)]


def study_targets(study):
    """Everything one study produces (its claims and figures)."""
    return STUDY_TARGETS[study]()


STUDY_TARGETS = {}
