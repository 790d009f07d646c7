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
    bps = train.get("breakpoints")
    if not (isinstance(train.get("max_steps"), int) and train["max_steps"] > 0):
        return problems  # the schema names a bad max_steps
    if isinstance(bps, list) and "max_steps" in train and not any(0 < b <= train["max_steps"] for b in bps):
        problems.append(f"splines.train.breakpoints: no breakpoint in (0, max_steps={train['max_steps']}]")
    if isinstance(bps, dict) and bps.get("schedule") == "log" and bps.get("num", 0) > train.get("max_steps", 1):
        problems.append(f"splines.train.breakpoints.num: {bps['num']} log-spaced breakpoints exceed max_steps")
    return problems


def check_config(config: dict) -> None:
    problems = config_problems(config)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
