"""learndyn.config's shared mechanics, without Snakemake: strict YAML, finiteness, sizes, key names.

tests/faults/test_bad_input.py drives the same checks through the Snakefile (refused at parse time).
"""

from __future__ import annotations

import pytest

from learndyn.config import (
    STUDIES,
    ConfigError,
    config_problems,
    key_name,
    load_config_file,
    nonfinite_problems,
    study_problems,
    yaml_problems,
)
from smk import REPO


@pytest.mark.parametrize("name", ["smoke", "config", "paper"])
def test_shipped_configs_pass_every_check(name):
    cfg = load_config_file(REPO / "config" / f"{name}.yaml")
    assert config_problems(cfg) == []
    assert [p for s in STUDIES if s in cfg for p in study_problems(s, cfg[s])] == []


def test_yaml_problems_name_line_and_key_and_list_them_all():
    text = "a:\n  b: 1\n  c: [1, 0755]\n  b: 2\nd: 1:30\ne: off\n"
    problems = yaml_problems(text, "f.yaml")
    assert len(problems) == 4, problems
    assert "f.yaml:4: a.b: duplicate key (first at line 2" in "\n".join(problems)
    assert any(p.startswith("f.yaml:3: a.c[1] = 0755: a YAML 1.1 octal number (0755 reads as 493)") for p in problems)
    assert any(p.startswith("f.yaml:5: d = 1:30: a YAML 1.1 sexagesimal") for p in problems)
    assert any(p.startswith("f.yaml:6: e = off: YAML 1.1 reads 'off' as a boolean") for p in problems)


def test_what_yaml_1_2_reads_the_same_is_accepted():
    text = (
        "a: '0100'\n"  # quoted: a string
        "b: 0x1F\n"  # hex: deliberate
        "c: 0\n"
        "d: -0.5\n"
        "e: 1.0e-8\n"
        "f: true\n"
        "g: &x {k: 1}\n"
        "h: *x\n"
        "i: '1:30'\n"
    )
    assert yaml_problems(text) == []


def test_load_config_file_raises_with_every_problem(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("studies: [splines]\nstudies: [kernel]\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:2: studies: duplicate key"):
        load_config_file(path)


def test_nonfinite_anywhere_is_named_with_its_path():
    cfg = {"a": {"b": [1.0, float("nan")], "c": float("-inf"), "d": 3}}
    assert nonfinite_problems(cfg) == [
        "a.b[1] = nan: not a finite number (NaN and inf slip through min/max checks)",
        "a.c = -inf: not a finite number (NaN and inf slip through min/max checks)",
    ]


def test_key_name_writes_indices_as_the_user_reads_them():
    assert key_name(("perturb", "attack", "attacks", 0, "kind")) == "perturb.attack.attacks[0].kind"
    assert key_name(()) == "<top level>"


def test_any_huge_integer_or_list_is_refused_unless_allowed():
    cfg = load_config_file(REPO / "config" / "smoke.yaml")
    cfg["splines"]["train"]["max_steps"] = 10**8  # a named size (SIZE_LIMITS)
    cfg["splines"]["data"]["d2_seed"] = 10**12  # any other integer
    cfg["motor"]["seeds"] = list(range(20_000))
    problems = config_problems(cfg)
    assert any(
        p.startswith("splines.train.max_steps = 100000000: above the size limit 10000000 (GD steps)") for p in problems
    ), problems
    assert any(p.startswith("splines.data.d2_seed = 1000000000000: above the limit") for p in problems), problems
    assert any(p.startswith("motor.seeds: 20000 entries") for p in problems), problems
    assert config_problems({**cfg, "allow_large": True}) == []
