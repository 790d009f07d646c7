"""Hostile config files, checked the way the Snakefile checks them (strict re-read, then the whole
config, then each listed study's section) but without starting Snakemake: each refusal names the key
and the problem, and results that existed before are untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from learndyn.config import ConfigError, check_config, check_study, load_config_file
from smk import REPO

SMOKE = (REPO / "config" / "smoke.yaml").read_text()


def _validate(path: Path) -> None:
    """What the Snakefile runs while it is parsed, before any job."""
    cfg = load_config_file(path)
    check_config(cfg)
    for study in cfg["studies"]:
        check_study(study, cfg[study])


def _set(cfg: dict, dotted: str, value) -> None:
    *head, last = dotted.split(".")
    for k in head:
        cfg = cfg[k]
    cfg[last] = value


@pytest.fixture
def project(tmp_path):
    """A project folder holding earlier results, which no refused config may touch."""
    old = tmp_path / "results" / "splines" / "data" / "D1.parquet"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"an earlier result")
    return tmp_path, {old: (old.read_bytes(), old.stat().st_mtime_ns)}


def _refused(project, text: str, *names: str) -> None:
    root, before = project
    path = root / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        _validate(path)
    for name in names:
        assert name in str(err.value), str(err.value)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before


@pytest.mark.parametrize(
    "dotted, value, names",
    [
        ("splines.train.tol", float("nan"), ("splines.train.tol = nan",)),  # non-finite
        ("kernel.net.w_std", float("inf"), ("kernel.net.w_std = inf",)),
        ("motor.scale.T", float("-inf"), ("motor.scale.T = -inf",)),
        ("kernel.net.n_hidden", 10**6, ("kernel.net.n_hidden = 1000000", "allow_large")),  # oversize
        ("splines.seeds", list(range(20_000)), ("splines.seeds", "20000")),
        ("motor.scale.n_train", 10**5, ("motor.scale.n_train = 100000",)),
        ("studies", ["splines", "splinez"], ("studies[1]", "'splinez'")),  # bad study keys
        ("kernel.nett", {"n_hidden": 10}, ("kernel", "'nett' was unexpected")),
        ("motor.experiments.task9", {"models": ["force"]}, ("motor.experiments", "task9")),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_hostile_config_value_is_refused_naming_key_and_value(project, dotted, value, names):
    cfg = yaml.safe_load(SMOKE)
    _set(cfg, dotted, value)
    _refused(project, yaml.safe_dump(cfg), *names)


@pytest.mark.parametrize(
    "old, new, names",
    [
        ("  seed: 0\n", "  seed: 0\n  seed: 1\n", ("kernel.seed: duplicate key",)),  # duplicate keys
        ("  j_seed: 5489", "  j_seed: 5489\n  j_seed: 1", ("motor.j_seed: duplicate key",)),
        ("  seeds: [0, 1]", "  seeds: [0, 010]", ("splines.seeds[1] = 010: a YAML 1.1 octal",)),  # YAML 1.1
        ("steps: 200,", "steps: 3:20,", ("kernel.schedules.LR.steps = 3:20: a YAML 1.1 sexagesimal",)),
        ("accelerator: cpu\n", "accelerator: cpu\nallow_large: on\n", ("allow_large = on: YAML 1.1 reads 'on'",)),
    ],
    ids=["dup-kernel", "dup-motor", "octal-in-list", "sexagesimal", "on-boolean"],
)
def test_yaml_1_1_and_duplicates_are_refused_naming_line_and_key(project, old, new, names):
    assert old in SMOKE
    _refused(project, SMOKE.replace(old, new, 1), *names, "bad.yaml:")
