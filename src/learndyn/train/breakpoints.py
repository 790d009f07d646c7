"""Breakpoints: the training steps at which state is saved for analysis.

A schedule is either an explicit list of steps or a log-spaced schedule (dense early,
sparse late: the studies are about early learning).  Step 0 (the initial state) is always
included, because every study compares against the network at initialisation.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class BreakpointError(ValueError):
    """A breakpoint schedule in the config is malformed."""


def breakpoint_schedule(spec: Any, max_steps: int) -> list[int]:
    """Resolve a config breakpoint spec into sorted unique steps in [0, max_steps].

    ``spec`` is a list of non-negative ints, or a mapping
    ``{"schedule": "log", "num": n}`` (n log-spaced steps from 1 to max_steps, rounded and
    de-duplicated, so early steps are all kept) or ``{"schedule": "linear", "every": k}``.
    """
    if not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise BreakpointError(f"max_steps must be a positive integer, got {max_steps!r}")
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise BreakpointError("breakpoints: explicit list is empty")
        for s in spec:
            if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0:
                raise BreakpointError(f"breakpoints: {s!r} is not a non-negative integer step")
        steps = {int(s) for s in spec if s <= max_steps}
    elif isinstance(spec, dict):
        kind = spec.get("schedule")
        if kind == "log":
            num = spec.get("num")
            if not isinstance(num, int) or num < 2:
                raise BreakpointError(f"breakpoints.num must be an integer >= 2, got {num!r}")
            steps = set(np.unique(np.rint(np.geomspace(1, max_steps, num))).astype(int).tolist())
        elif kind == "linear":
            every = spec.get("every")
            if not isinstance(every, int) or every < 1:
                raise BreakpointError(f"breakpoints.every must be a positive integer, got {every!r}")
            steps = set(range(every, max_steps + 1, every))
        else:
            raise BreakpointError(f"breakpoints.schedule must be 'log' or 'linear', got {kind!r}")
    else:
        raise BreakpointError(f"breakpoints must be a list of steps or a schedule mapping, got {spec!r}")
    steps.add(0)
    return sorted(steps)


def next_breakpoint(schedule: list[int], step: int) -> int | None:
    """The first breakpoint strictly after ``step`` (None when past the last)."""
    idx = int(np.searchsorted(schedule, step, side="right"))
    return schedule[idx] if idx < len(schedule) else None
