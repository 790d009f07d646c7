"""Training glue shared by all gradient-trained studies.

Importing this package is cheap (no Lightning): the schedule and the checkpoint store are
here; the trainer factory and callbacks live in :mod:`learndyn.train.factory` and
:mod:`learndyn.train.callbacks`, imported by the jobs that train.
"""

from learndyn.train.breakpoints import BreakpointError, breakpoint_schedule, next_breakpoint
from learndyn.train.store import (
    MANIFEST,
    RESUME,
    CheckpointError,
    checkpoint_files,
    keep_policy,
    latest_checkpoint,
    load_checkpoint,
    resume_step,
    write_manifest,
)

__all__ = [
    "MANIFEST",
    "RESUME",
    "BreakpointError",
    "CheckpointError",
    "breakpoint_schedule",
    "checkpoint_files",
    "keep_policy",
    "latest_checkpoint",
    "load_checkpoint",
    "next_breakpoint",
    "resume_step",
    "write_manifest",
]
