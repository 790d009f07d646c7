"""Study `motor`: Pyle & Rosenbaum (2019), SUPERTREX vs FORCE vs RMHL (spec: papers/motor.md).

Modules: :mod:`.reservoir` (rate network, seeds, array backends), :mod:`.rules` (learning rules,
constants, discrepancy options), :mod:`.tasks` (target, arms, metrics), :mod:`.simulate`
(train/test protocol, batching, resumable state), :mod:`.reference` (plain dense per-step
implementation used as test oracle and benchmark baseline). DAG layer: :mod:`.plan` (config ->
runs), :mod:`.experiments` (rule entry points, tables), :mod:`.checkpoints` (period checkpoints),
:mod:`.claims`.
"""

from .rules import Options, RuleParams, rule_params
from .simulate import MotorConfig, MotorSim, cpu_config, run, run_batched, w_crossing_step
from .tasks import SUCCESS_THRESHOLD, make_task, summarize

__all__ = [
    "Options",
    "RuleParams",
    "rule_params",
    "MotorConfig",
    "MotorSim",
    "cpu_config",
    "run",
    "run_batched",
    "w_crossing_step",
    "SUCCESS_THRESHOLD",
    "make_task",
    "summarize",
]
