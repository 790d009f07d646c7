"""Config checks beyond the JSON schema, each naming the offending key.

``workflow/schemas/config.schema.yaml`` (applied with Snakemake's ``validate()``) checks types,
ranges and unknown keys; the rules below need arithmetic or cross-key knowledge.  Both run
when the Snakefile is parsed, so a bad config fails before any job starts.
"""

from __future__ import annotations


# Every study the pipeline knows, in DAG order; each has workflow/rules/<study>.smk,
# workflow/schemas/<study>.schema.yaml, src/learndyn/<study>/ and tests/<study>/.
STUDIES = ("splines", "kernel", "perturb", "motor")


class ConfigError(ValueError):
    pass


def config_problems(config: dict) -> list[str]:
    problems = []
    for study in config.get("studies", []):
        if study not in config:
            problems.append(f"studies: {study!r} is listed but the config has no {study!r} section")
    spl = config.get("splines", {})
    for name, sweep in spl.get("sweeps", {}).items():
        key = f"splines.sweeps.{name}"
        if sweep.get("preset") == "antisymmetric":
            odd = [w for w in sweep.get("widths", []) if w % 2]
            if odd:
                problems.append(f"{key}.widths: the antisymmetric init pairs units, widths must be even (got {odd})")
    train = spl.get("train", {})
    problems += _train_problems(train, "splines.train")
    for name, sweep in spl.get("sweeps", {}).items():
        override = sweep.get("train") if isinstance(sweep, dict) else None
        if isinstance(override, dict) and override:  # the sweep's jobs train with the merged keys
            key = f"splines.sweeps.{name}.train"
            problems += _train_problems({**train, **override}, key)
    return problems


def _train_problems(train: dict, key: str) -> list[str]:
    """Breakpoints that cannot be honoured within max_steps (the schema checks each key alone)."""
    bps, max_steps = train.get("breakpoints"), train.get("max_steps")
    if not (isinstance(max_steps, int) and max_steps > 0):
        return []  # the schema names a bad max_steps
    if isinstance(bps, list) and not any(isinstance(b, int) and 0 < b <= max_steps for b in bps):
        return [f"{key}.breakpoints: no breakpoint in (0, max_steps={max_steps}]"]
    if isinstance(bps, dict) and bps.get("schedule") == "log" and isinstance(bps.get("num"), int) \
            and bps["num"] > max_steps:
        return [f"{key}.breakpoints.num: {bps['num']} log-spaced breakpoints exceed max_steps={max_steps}"]
    if isinstance(bps, dict) and bps.get("schedule") == "linear" and isinstance(bps.get("every"), int) \
            and bps["every"] > max_steps:
        return [f"{key}.breakpoints.every: {bps['every']} exceeds max_steps={max_steps} (no breakpoint after 0)"]
    return []


def check_config(config: dict) -> None:
    problems = config_problems(config)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
