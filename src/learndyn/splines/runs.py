"""Sweeps -> training groups -> runs.

A *group* is one training job: every run of one sweep at one width, all seeds and sweep values
batched along the run axis.  Group names ("rho-H200") are the `group` wildcard of the DAG, and
the group's config sub-dict is everything its job reads, so changing one sweep reruns only
that sweep's jobs and their descendants.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.splines.init import draw_init
from learndyn.splines.tables import RUNS  # noqa: F401 (schemas: tables.py)

KNOB = {"rho": "rho", "antisymmetric": "alpha"}


def group_name(sweep: str, width: int) -> str:
    return f"{sweep}-H{width}"


def training_groups(splines_cfg: dict) -> dict[str, dict]:
    """Group name -> the config sub-dict its training job reads."""
    groups = {}
    for sweep, spec in splines_cfg["sweeps"].items():
        for width in spec["widths"]:
            groups[group_name(sweep, width)] = {
                "sweep": sweep,
                "dataset": spec["dataset"],
                "width": int(width),
                "presets": spec.get("presets"),
                "preset": spec.get("preset"),
                "log10": spec.get("log10"),
                "seeds": list(splines_cfg["seeds"]),
                # a sweep may override training keys (e.g. a lower step cap for an expensive set)
                "train": {**splines_cfg["train"], **spec.get("train", {})},
            }
    return groups


def group_runs(group: dict) -> pd.DataFrame:
    """One row per run of a group, in run-axis order (outcome columns left empty)."""
    if group.get("presets"):
        cells = [(p, "none", np.nan) for p in group["presets"]]
    else:
        cells = [(group["preset"], KNOB[group["preset"]], 10.0**e) for e in group["log10"]]
    rows = [{"preset": p, "knob": k, "knob_value": val, "seed": s} for p, k, val in cells for s in group["seeds"]]
    df = pd.DataFrame(rows)
    df.insert(0, "run", np.arange(len(df)))
    df["sweep"], df["dataset"], df["width"] = group["sweep"], group["dataset"], group["width"]
    return df


def group_init(group: dict, runs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Initial parameters for every run of the group, stacked on the run axis."""
    parts = []
    for (preset, knob, value), cell in runs.groupby(["preset", "knob", "knob_value"], sort=False, dropna=False):
        knobs = {} if knob == "none" else {knob: float(value)}
        parts.append(draw_init(preset, group["width"], [int(s) for s in cell["seed"]], **knobs))
    return {k: np.concatenate([p[k] for p in parts]) for k in ("w", "b", "v", "c")}


def config_problems(spl: dict) -> list[str]:
    """Cross-key checks of the splines section (the schema checks each key alone)."""
    problems = []
    train = spl.get("train", {})
    problems += _train_problems(train, "splines.train")
    for name, sweep in spl.get("sweeps", {}).items():
        key = f"splines.sweeps.{name}"
        if sweep.get("preset") == "antisymmetric":
            odd = [w for w in sweep.get("widths", []) if w % 2]
            if odd:
                problems.append(f"{key}.widths = {odd}: the antisymmetric init pairs units, widths must be even")
        override = sweep.get("train")
        if isinstance(override, dict) and override:  # the sweep's jobs train with the merged keys
            problems += _train_problems({**train, **override}, f"{key}.train")
    return problems


def _train_problems(train: dict, key: str) -> list[str]:
    """Breakpoints that cannot be honoured within max_steps."""
    bps, max_steps = train.get("breakpoints"), train.get("max_steps")
    if isinstance(bps, list) and not any(0 < b <= max_steps for b in bps):
        return [f"{key}.breakpoints = {bps}: no breakpoint in (0, max_steps={max_steps}]"]
    if isinstance(bps, dict) and bps.get("schedule") == "log" and bps["num"] > max_steps:
        return [f"{key}.breakpoints.num = {bps['num']}: more log-spaced breakpoints than max_steps={max_steps}"]
    if isinstance(bps, dict) and bps.get("schedule") == "linear" and bps["every"] > max_steps:
        return [f"{key}.breakpoints.every = {bps['every']}: exceeds max_steps={max_steps} (no breakpoint after 0)"]
    return []
