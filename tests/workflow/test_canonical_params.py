"""Params are hashed canonically: the same values in another key order rerun nothing.

Snakemake reruns a job when the repr() of its params changes, and a dict's repr follows its key
order; every rule's ``params: cfg`` goes through ``canonical()`` (workflow/rules/common.smk).
"""

from __future__ import annotations

import json

import pytest
import yaml

from cli import command, run
from learndyn.config import canonical

pytestmark = pytest.mark.workflow


def _reversed_keys(obj):
    """Every mapping's keys in reverse order, at every depth; lists (seeds, widths...) unchanged."""
    if isinstance(obj, dict):
        return {k: _reversed_keys(obj[k]) for k in reversed(list(obj))}
    if isinstance(obj, list):
        return [_reversed_keys(v) for v in obj]
    return obj


def test_canonical_sorts_keys_at_every_depth_and_keeps_list_order():
    a = {"b": {"y": 1, "x": [3, 1, {"q": 0.0, "p": -0.0}]}, "a": 2}
    out = canonical(a)
    assert list(out) == ["a", "b"] and list(out["b"]) == ["x", "y"]
    assert out["b"]["x"][:2] == [3, 1] and list(out["b"]["x"][2]) == ["p", "q"]
    assert repr(canonical(_reversed_keys(a))) == repr(out)
    assert repr(out["b"]["x"][2]["p"]) == "0.0"  # -0.0 == 0.0, one spelling


def test_reordering_every_config_block_reruns_nothing(smoke_run, tmp_path):
    work, cfg = smoke_run
    original = yaml.safe_load(cfg.read_text())
    reordered = _reversed_keys(original)
    assert reordered == original and json.dumps(reordered) != json.dumps(original)  # same values, new order
    path = tmp_path / "reordered.yaml"
    path.write_text(yaml.safe_dump(reordered, sort_keys=False))
    out = run(command(work, path, (), "-n"), timeout=600).stdout
    assert "Nothing to be done" in out, out[-5000:]
