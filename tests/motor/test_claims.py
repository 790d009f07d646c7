"""Qualitative orderings at smoke scale (motor.md, 'Expected outcomes and where to check them' "CI smoke tests";
reconstruction: document as such).

Reduced scale N = 300, T = 2000 (S = 10 000) or T = 1000, one fixed seed each, so the absolute
deviations are far above the paper's; only orderings and the 0.5 threshold are asserted.
Task 1's SUPERTREX << RMHL needs the CPU config (N = 500, T = 4000: ST 0.039 vs RMHL 0.27 for
seed 1, ~30-50 s per run here) and is left to the pipeline's CPU grid.
"""

import pytest

from learndyn.motor.simulate import MotorConfig, MotorSim, run

pytestmark = pytest.mark.slow


def test_task2_supertrex_succeeds_rmhl_fails_and_early_lesion_fails():
    kw = dict(task="task2", seed=2, N=300, T=2000.0)
    healthy, les1 = (
        MotorSim([MotorConfig(model="supertrex", **kw), MotorConfig(model="supertrex", lesion_after=1, **kw)], j_seed=2)
        .run_periods()
        .results()
    )
    rmhl = run(MotorConfig(model="rmhl", **kw))
    assert healthy["completed"] and healthy["deviation"] < 0.5 < rmhl["deviation"]
    assert les1["deviation"] > 0.5  # BG lesion before consolidation fails
    assert healthy["gate_open_step"] > 0 and les1["gate_open_step"] == healthy["gate_open_step"]
    assert rmhl["D_end_train"] < rmhl["deviation"]  # RMHL tracks while exploring, degrades frozen


def test_task1_force_far_below_rmhl():
    kw = dict(task="task1", seed=2, N=300, T=1000.0)
    force, rmhl = run(MotorConfig(model="force", **kw)), run(MotorConfig(model="rmhl", **kw))
    assert force["deviation"] < 0.05 and rmhl["deviation"] > 5 * force["deviation"]
    assert rmhl["deviation"] < 0.5
