"""The motor study's experiments as DAG jobs: config section -> runs -> simulator members.

A *run* is one experiment x condition (wildcard ``run``); its DAG jobs are its *groups*
(wildcard ``group``, :func:`group_configs`), the seeds that share a J. Run names:

* ``<task>-<model>-<variant>``: the standard protocol (motor.md, 'Tasks and protocol') for Task 1 (FORCE, RMHL,
  SUPERTREX), Task 2, variant 2' (``task2_3seg``: Task-2 constants, 3-segment arm, no cost) and
  Task 3 (RMHL, SUPERTREX), ``variant`` = ``scripts`` | ``modified`` (motor.md, 'Discrepancies and robustness fixes, as
  config options'); Task-3 runs with a joint cost other than the default (``arm_costs``: ``beta``, ``none`` = c = 0) get
  a ``-<cost>`` suffix, e.g. ``task3-supertrex-modified-beta``;
* ``pd-<manipulation>``: the Parkinson's protocol (motor.md, 'Parkinson's disease and automaticity protocol',
reconstruction: document as such), SUPERTREX on ``parkinsons.task``; ``pd-da`` (healthy H plus graded dopamine depletion
  DA(g)), ``pd-lesion`` (BG lesion after period k, LES(k)), ``pd-bgon`` (BG kept at test, BGON),
  ``pd-ldopa`` (depletion for periods 1..k, then restored, LDOPA(g, k)).

Seed design (``seed_design``): ``per_seed`` gives each seed its own J (the standard design);
members of one seed (the run's conditions) then share that seed's J, Q, x(0) and noise, a
paired design, and each seed is its own job (``seed-<seed>``), so adding a seed runs only that
seed. ``shared_j`` (reconstruction: document as such) runs every seed and condition of a run as
one batch and one job (``shared``) sharing the J drawn from ``j_seed`` (motor.md, 'Cost, speed and configurations',
technique 7), several times cheaper.
"""

from __future__ import annotations

from .rules import Options
from .simulate import MotorConfig
from .tasks import ARM_COSTS

STANDARD = ("task1", "task2", "task2_3seg", "task3")
COSTED = "task3"  # the task with a joint-specific movement cost (motor.md, 'Tasks and protocol')
DEFAULT_COST = "default"
SHARED = "shared"  # the one group of a shared-J run
PD_MANIPULATIONS = ("da", "lesion", "bgon", "ldopa")
#: Keys of a run's config that do not change the simulation (kept out of the resume fingerprint).
NON_SIM_KEYS = ("trace_points", "checkpoint")


def _scale(section: dict, exp: dict) -> dict:
    return {**section["scale"], **exp.get("scale", {})}


def _common(section: dict, exp: dict) -> dict:
    return {
        "scale": _scale(section, exp),
        "seeds": [int(s) for s in section["seeds"]],
        "j_seed": int(section["j_seed"]),
        "seed_design": section["seed_design"],
        "backend": section.get("backend", "numpy"),
        "device": section.get("device", "cpu"),
        "record_every": int(section.get("record_every", 10)),
        "trace_points": int(section["trace_points"]),
        "checkpoint": section["checkpoint"],
    }


def condition(
    name: str, da_gain: float = 1.0, lesion_after: int = -1, bg_on_test: bool = False, ldopa_until: int = -1
) -> dict:
    """A member condition; -1 means 'none' for the integer fields."""
    return {
        "condition": name,
        "da_gain": float(da_gain),
        "lesion_after": int(lesion_after),
        "bg_on_test": bool(bg_on_test),
        "ldopa_until": int(ldopa_until),
    }


HEALTHY = condition("H")


def pd_conditions(pd: dict, manipulation: str) -> list[dict]:
    if manipulation == "da":
        return [HEALTHY] + [condition(f"DA({g:g})", da_gain=g) for g in pd["da_gains"] if g != 1.0]
    if manipulation == "lesion":
        return [condition(f"LES({k})", lesion_after=k) for k in pd["lesion_after"]]
    if manipulation == "bgon":
        return [condition("BGON", bg_on_test=True)]
    if manipulation == "ldopa":
        return [condition(f"LDOPA({g:g},{k})", da_gain=g, ldopa_until=k) for g, k in pd["ldopa"]]
    raise ValueError(f"unknown Parkinson's manipulation {manipulation!r}; known: {PD_MANIPULATIONS}")


def motor_runs(section: dict) -> dict[str, dict]:
    """Run name -> the config sub-dict its job reads (everything that determines it)."""
    runs = {}
    exps = section["experiments"]
    for task in STANDARD:
        exp = exps.get(task)
        if not exp:
            continue
        costs = exp.get("arm_costs", [DEFAULT_COST]) if task == COSTED else [None]
        for model in exp["models"]:
            for variant in exp.get("variants", ["scripts"]):
                for cost in costs:
                    suffix = f"-{cost}" if cost not in (None, DEFAULT_COST) else ""
                    runs[f"{task}-{model}-{variant}{suffix}"] = {
                        "experiment": task,
                        "task": task,
                        "model": model,
                        "variant": variant,
                        **({"arm_cost": cost} if cost else {}),  # only where the task has a cost
                        "conditions": [HEALTHY],
                        **_common(section, exp),
                    }
    pd = exps.get("parkinsons")
    if pd:
        for manip in PD_MANIPULATIONS:
            conds = pd_conditions(pd, manip) if manip in pd.get("manipulations", PD_MANIPULATIONS) else []
            if conds:
                runs[f"pd-{manip}"] = {
                    "experiment": "parkinsons",
                    "task": pd["task"],
                    "model": "supertrex",
                    "variant": pd.get("variant", "scripts"),
                    "conditions": conds,
                    **_common(section, pd),
                }
    return runs


def member_config(run: dict, seed: int, cond: dict) -> MotorConfig:
    """The simulator config of one (seed, condition) member of a run."""
    sc = run["scale"]
    n_train = int(sc["n_train"])
    da = cond["da_gain"]
    if cond["ldopa_until"] >= 0:  # LDOPA(g, k): g for periods 1..k, then 1
        k = cond["ldopa_until"]
        if not 0 <= k <= n_train:
            raise ValueError(f"LDOPA period {k} outside 0..n_train={n_train}")
        da = tuple([da] * k + [1.0] * (n_train - k))
    les = cond["lesion_after"]
    if les >= 0 and not 0 <= les <= n_train:
        raise ValueError(f"lesion period {les} outside 0..n_train={n_train}")
    return MotorConfig(
        task=run["task"],
        model=run["model"],
        seed=int(seed),
        N=int(sc["N"]),
        T=float(sc["T"]),
        n_train=n_train,
        n_test=int(sc["n_test"]),
        record_every=run["record_every"],
        options=Options(variant=run["variant"], arm_cost=run.get("arm_cost", DEFAULT_COST)),
        da_gain=da,
        lesion_after=None if les < 0 else les,
        bg_on_test=cond["bg_on_test"],
    )


def group_configs(run: dict) -> dict[str, dict]:
    """The run's DAG jobs: group name -> the run config restricted to what that group depends on.

    ``per_seed``: ``seed-<seed>`` (that seed only; its J is drawn from the seed, so ``j_seed``
    is the seed); ``shared_j``: one group ``shared`` (every seed shares one J, hence one batch).
    """
    if run["seed_design"] == "shared_j":
        return {SHARED: run}
    if run["seed_design"] == "per_seed":
        return {f"seed-{s}": {**run, "seeds": [s], "j_seed": s} for s in run["seeds"]}
    raise ValueError(f"seed_design must be 'per_seed' or 'shared_j', got {run['seed_design']!r}")


def member_groups(run: dict) -> list[dict]:
    """Simulator batches of a run (one per group): [{j_seed, members: [(seed, cond, MotorConfig)]}]."""
    return [
        {
            "j_seed": g["j_seed"],
            "members": [(s, c, member_config(g, s, c)) for s in g["seeds"] for c in g["conditions"]],
        }
        for g in group_configs(run).values()
    ]


def config_problems(section: dict) -> list[str]:
    """Cross-key checks of the motor section at DAG parse time, each naming its config key."""
    return run_problems(motor_runs(section))


def check_runs(runs: dict[str, dict]) -> None:
    problems = run_problems(runs)
    if problems:
        raise ValueError("invalid config section 'motor':\n  " + "\n  ".join(problems))


def run_problems(runs: dict[str, dict]) -> list[str]:
    problems = []
    for name, run in runs.items():
        key = "motor.experiments." + (run["experiment"])
        sc = run["scale"]
        if run["task"] != "task1" and not int(sc["n_test"]) <= 5 <= int(sc["n_train"]):
            problems.append(
                f"{key}.scale (run {name}): teacher forcing replays z(t - 5S), so it needs "
                f"n_test <= 5 <= n_train (got n_train={sc['n_train']}, n_test={sc['n_test']})"
            )
        if run.get("arm_cost", DEFAULT_COST) not in ARM_COSTS:
            problems.append(
                f"{key}.arm_costs = {run['arm_cost']!r} (run {name}): unknown cost; known: {sorted(ARM_COSTS)}"
            )
        if run["model"] == "force" and run["task"] != "task1":
            problems.append(f"{key}.models (run {name}): FORCE needs the target in output space (Task 1 only)")
        for cond in run["conditions"]:
            try:
                member_config(run, run["seeds"][0], cond)
            except ValueError as err:
                problems.append(f"{key} (run {name}, {cond['condition']}): {err}")
    return problems
