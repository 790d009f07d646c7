"""Lightning glue shared by all gradient-trained studies."""

from learndyn.train.breakpoints import BreakpointError, breakpoint_schedule, next_breakpoint
from learndyn.train.checkpoints import (
    MANIFEST,
    BreakpointCheckpoint,
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    write_manifest,
)
from learndyn.train.factory import fit_with_breakpoints, make_trainer

__all__ = [
    "BreakpointError", "breakpoint_schedule", "next_breakpoint", "MANIFEST",
    "BreakpointCheckpoint", "CheckpointError", "latest_checkpoint", "load_checkpoint",
    "write_manifest", "fit_with_breakpoints", "make_trainer",
]
