"""Parquet schemas and paths of the motor study's tables (figures and claims import them, not the
simulator: no torch in figure jobs)."""

from __future__ import annotations

import pyarrow as pa

from learndyn.io import Table

_STR, _F, _I, _B = pa.string(), pa.float64(), pa.int64(), pa.bool_()
_COND = (("condition", _STR), ("da_gain", _F), ("lesion_after", _I), ("bg_on_test", _B), ("ldopa_until", _I))
#: ``arm_cost``: Task 3's joint costs ('default', 'beta', 'none'); null where the task has no cost.
_RUN = (("run", _STR), ("experiment", _STR), ("task", _STR), ("model", _STR), ("variant", _STR), ("arm_cost", _STR))
#: Joint usage (motor.md, 'Metrics and figures', reconstruction): angular path sum_t |dz_k| of joint k per test period,
#: mean over the test periods; NaN for Task 1 (z is a pen position), joints beyond d, blow-ups.
JOINTS = 3
JOINT_PATH = tuple(f"joint_path_{k}" for k in range(1, JOINTS + 1))
#: One row per (run, condition, seed): the test deviation and the PD / automaticity markers.
RESULTS = Table(
    "motor.results",
    (
        *_RUN,
        *_COND,
        ("seed", _I),
        ("j_seed", _I),
        ("N", _I),
        ("S", _I),
        ("completed", _B),
        ("deviation", _F),
        ("success", _B),
        ("D_end_train", _F),
        ("gate_open_step", _I),
        ("w_cross_step", _I),
        ("w1_norm_end", _F),
        ("w2_norm_end", _F),
        ("w1_fro_end", _F),
        ("w2_fro_end", _F),
        ("blowup_step", _I),
        ("rls_updates", _I),
        *((c, _F) for c in JOINT_PATH),
    ),
)
#: Traces every ``thin`` recorded steps (recorded every ``record_every`` steps; motor.md, 'Cost, speed and
# configurations', technique 6).
TRACES = Table(
    "motor.traces",
    (
        ("run", _STR),
        ("condition", _STR),
        ("seed", _I),
        ("step", _I),
        ("phase", _STR),
        ("e", _F),
        ("D", _F),
        ("ebar", _F),
        ("w1_norm", _F),
        ("w2_norm", _F),
        ("w1_fro", _F),
        ("w2_fro", _F),
        ("hand_x", _F),
        ("hand_y", _F),
        ("target_x", _F),
        ("target_y", _F),
        ("z0", _F),
        ("z1", _F),
        ("z2", _F),
    ),
)
#: Per (run, condition): deviation statistics over seeds (motor.md, 'Metrics and figures': mean, sd, median, success).
SUMMARY = Table(
    "motor.summary",
    (
        *_RUN,
        *_COND,
        ("n", _I),
        ("n_completed", _I),
        ("mean", _F),
        ("sd", _F),
        ("median", _F),
        ("success_fraction", _F),
    ),
)
SCHEMAS = {"results": RESULTS, "traces": TRACES, "summary": SUMMARY}  # the study tables, by name


def table_path(name: str) -> str:
    """Path of a study table of the motor study (one of SCHEMAS)."""
    return f"results/motor/tables/{name}.parquet"
