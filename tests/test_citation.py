"""CITATION.cff is valid Citation File Format 1.2.0 and cites the four reproduced papers; the
licence is MIT. Offline: the CFF schema is vendored in tests/_support/ (from the Citation File
Format project, CC-BY-4.0, as shipped in cffconvert 2.0.0's schemas/1.2.0/schema.json)."""

import json
from pathlib import Path

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "tests" / "_support" / "citation-cff-1.2.0.schema.json"


def citation():
    return yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))


def test_citation_cff_matches_the_schema():
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(citation()), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_can_fail():
    broken = citation()
    del broken["authors"]
    schema = json.loads(SCHEMA.read_text())
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_references_are_the_four_studies():
    refs = citation()["references"]
    ids = {i["value"] for r in refs for i in r.get("identifiers", [])}
    for arxiv in ("2307.07575", "2008.01772", "2006.11440", "1803.03304"):
        assert f"arXiv:{arxiv}" in ids, arxiv
    motor = [r for r in refs if r.get("journal") == "Neural Computation"]
    assert motor and (motor[0]["volume"], motor[0]["issue"]) == (31, 7)


def test_licence_is_mit_everywhere():
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert "Copyright (c) 2026 the learndyn authors" in (REPO / "LICENSE").read_text()
    assert citation()["license"] == "MIT"
