"""config/README.md is the generator's output (learndyn.config_doc) and every schema key has a
description, so the documentation of the config cannot drift from what the pipeline validates."""

import yaml

from learndyn import config_doc
from learndyn.config import STUDIES


def test_config_readme_is_generated_from_the_schemas():
    assert config_doc.README.read_text() == config_doc.render(), (
        "config/README.md is stale: run `make config-doc` (python -m learndyn.config_doc --write)"
    )


def test_every_schema_key_has_a_description():
    missing = config_doc.missing_descriptions()
    assert not missing, "schema keys without a description (add one beside the key):\n" + "\n".join(missing)


def test_every_key_of_the_configs_is_documented():
    """Each key path that config.yaml, smoke.yaml or paper.yaml sets has a row (`<name>` matches any key
    of a mapping the user fills, `[]` any list item). A value documented by its type alone (e.g.
    {schedule: log, num: 40}, spelled out in the type column) has no rows below it; the study keys
    are the page's sections."""
    rows = [row.split("`")[1].split(".") for row in config_doc.render().splitlines() if row.startswith("| `")]

    def matches(path, row):
        return len(row) == len(path) and all(r in (p, config_doc.ANY, p + "[]") for p, r in zip(path, row))

    def undocumented(node, path=()):
        for key, value in node.items():
            sub = (*path, str(key))
            if path and not any(matches(sub, r) for r in rows):
                yield ".".join(sub)
            elif isinstance(value, dict) and any(len(r) > len(sub) and matches(sub, r[: len(sub)]) for r in rows):
                yield from undocumented(value, sub)

    for name in ("config", "smoke", "paper"):
        cfg = yaml.safe_load((config_doc.REPO / "config" / f"{name}.yaml").read_text())
        top = {k: v for k, v in cfg.items() if k not in STUDIES}
        missing = list(undocumented(top)) + [m for s in STUDIES if s in cfg for m in undocumented(cfg[s], (s,))]
        # top-level keys: their own rows
        missing += [k for k in top if not any(matches((k,), r) for r in rows)]
        assert not missing, f"config/{name}.yaml keys without a row in config/README.md: {missing}"


def test_each_study_has_its_section():
    text = config_doc.render()
    assert all(f"## `{study}`" in text for study in STUDIES)


def test_defaults_come_from_the_default_config():
    text = config_doc.render()
    assert "| `splines.train.max_steps` | integer >= 1 | `200000` |" in text
    assert "| `kernel.net.n_hidden` | integer >= 1 | `200` |" in text
