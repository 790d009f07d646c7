"""config/README.md, generated from the config schemas (workflow/schemas/*.schema.yaml), so that the
documentation of the config keys cannot drift from what the pipeline validates.

    python -m learndyn.config_doc           # print the page
    python -m learndyn.config_doc --write   # rewrite config/README.md (`make config-doc`)
    python -m learndyn.config_doc --check   # exit 1 if config/README.md is stale or a key lacks a description

One table per section (top level, then each study): every key as a dotted path (`<name>` for a key
the user chooses, `[]` for the items of a list), its type, its value in config/config.yaml (the
default config) and its description: the key's own `description`, else that of the `$defs` entry it
refers to. tests/workflow/test_config_doc.py fails on a stale page or a key without a description.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from learndyn.config import SCHEMAS, STUDIES

REPO = SCHEMAS.parents[1]
README = REPO / "config" / "README.md"
DEFAULT_CONFIG = REPO / "config" / "config.yaml"
ANY = "<name>"  # a key the user chooses (additionalProperties / patternProperties)
_MAX_DEFAULT = 60  # characters of a default shown in the table; longer ones are cut with an ellipsis


class _Schema:
    """One schema file: resolves its local `$ref`s ("#/$defs/<name>")."""

    def __init__(self, path: Path):
        self.path = path
        self.root = yaml.safe_load(path.read_text())

    def resolve(self, node: dict) -> dict:
        """`node` with its `$ref` and `allOf` parts merged in (own keys win; properties are united)."""
        if not isinstance(node, dict):
            return {}
        parts = []
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/$defs/"):
                raise ValueError(f"{self.path.name}: only local $defs references are supported, not {ref!r}")
            parts.append(self.resolve(self.root["$defs"][ref.removeprefix("#/$defs/")]))
        parts += [self.resolve(p) for p in node.get("allOf", [])]
        parts.append({k: v for k, v in node.items() if k not in ("$ref", "allOf")})
        merged: dict = {}
        for part in parts:
            props = dict(merged.get("properties", {}))
            for key, sub in part.get("properties", {}).items():
                # a key that two parts constrain must satisfy both (e.g. a narrower enum of the same list)
                props[key] = {"allOf": [props[key], sub]} if key in props else sub
            merged.update(part)
            if props:
                merged["properties"] = props
        return merged

    def description(self, node: dict) -> str | None:
        """The node's own description, else the first one along its `$ref` / `allOf` chain."""
        if not isinstance(node, dict):
            return None
        if node.get("description"):
            return " ".join(str(node["description"]).split())
        if "$ref" in node:
            found = self.description(self.root["$defs"][node["$ref"].removeprefix("#/$defs/")])
            if found:
                return found
        for part in node.get("allOf", []):
            found = self.description(part)
            if found:
                return found
        return None

    def type_of(self, node: dict) -> str:
        """A short human reading of the node's type and bounds."""
        s = self.resolve(node)
        if "const" in s:
            return json.dumps(s["const"])
        if "enum" in s:
            return "one of " + ", ".join(json.dumps(v) if not isinstance(v, str) else v for v in s["enum"])
        for key in ("oneOf", "anyOf"):
            if key in s and "type" not in s:
                return " or ".join(self._alternative(alt) for alt in s[key])
        kind = s.get("type", "object" if "properties" in s or "additionalProperties" in s else "any")
        if kind == "array":
            if "prefixItems" in s:
                return "pair (" + ", ".join(self.type_of(p) for p in s["prefixItems"]) + ")"
            items = s.get("items")
            return "list of " + (self.type_of(items) if items else "any")
        if kind == "object":
            if "properties" in s:
                return "section"
            extra = s.get("additionalProperties")
            if isinstance(extra, dict):
                return f"mapping {ANY} -> " + self.type_of(extra)
            return "mapping"
        bounds = []
        for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
            if key in s:
                bounds.append(f"{sign} {s[key]:g}" if isinstance(s[key], float) else f"{sign} {s[key]}")
        if "pattern" in s:
            bounds.append(f"matching `{s['pattern']}`")
        return " ".join([kind, *bounds]) if not bounds else f"{kind} " + ", ".join(bounds)

    def _alternative(self, node: dict) -> str:
        """One alternative of a oneOf / anyOf; an inline section is spelled out ({key: type, ...}), as the
        table has no rows for it (its keys are documented by this type)."""
        if "$ref" not in node and "properties" in node:
            return "{" + ", ".join(f"{k}: {self.type_of(v)}" for k, v in node["properties"].items()) + "}"
        return self.type_of(node)


def _children(schema: _Schema, node: dict):
    """(key suffix, child node) of a node: its properties, `<name>` for the values of a mapping, `[]`
    for the items of a list of sections, and the same through each alternative of oneOf / anyOf."""
    s = schema.resolve(node)
    for key, child in s.get("properties", {}).items():
        yield key, child
    for child in s.get("patternProperties", {}).values():
        yield ANY, child
    if isinstance(s.get("additionalProperties"), dict):
        yield ANY, s["additionalProperties"]
    if s.get("type") == "array" and isinstance(s.get("items"), dict):
        if _children_exist(schema, s["items"]):
            yield "[]", s["items"]
    # alternatives that are $defs entries (or lists of them) have rows; inline ones are spelled out in the type
    for key in ("oneOf", "anyOf"):
        for alt in s.get(key, []):
            if "$ref" in alt or (alt.get("type") == "array" and "$ref" in alt.get("items", {})):
                yield from _children(schema, alt)


def _children_exist(schema: _Schema, node: dict) -> bool:
    return any(True for _ in _children(schema, node))


def _rows(schema: _Schema, node: dict, path: tuple[str, ...]):
    """(path, child node) of every key under `node`, depth first, each path once."""
    seen = set()

    def visit(node, path):
        for key, child in _children(schema, node):
            sub = (*path, key) if key != "[]" else (*path[:-1], path[-1] + "[]")
            if sub not in seen:
                seen.add(sub)
                yield sub, child
            yield from visit(child, sub)

    yield from visit(node, path)


def _default(config: dict, path: tuple[str, ...], leaf: bool) -> str:
    """The value at `path` in the default config, as JSON (a mapping only for a key without rows below)."""
    node = config
    for key in path:
        if key == ANY and isinstance(node, dict):
            return ", ".join(map(str, node)) if path[-1] == ANY else ""
        if not isinstance(node, dict) or key not in node:
            return ""
        node = node[key]
    if isinstance(node, dict) and not leaf:
        return ""
    text = json.dumps(node)
    return text if len(text) <= _MAX_DEFAULT else text[: _MAX_DEFAULT - 1] + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def sections() -> list[tuple[str, _Schema, dict, tuple[str, ...]]]:
    """(title, schema, node, path prefix): the top level, then each study's section."""
    top = _Schema(SCHEMAS / "config.schema.yaml")
    out = [
        ("top level", top, {"properties": {k: v for k, v in top.root["properties"].items() if k not in STUDIES}}, ())
    ]
    for study in STUDIES:
        schema = _Schema(SCHEMAS / f"{study}.schema.yaml")
        out.append((study, schema, schema.root, (study,)))
    return out


def missing_descriptions() -> list[str]:
    """Dotted keys whose schema entry (and the $defs entry it refers to) has no description."""
    missing = []
    for title, schema, node, prefix in sections():
        for path, child in _rows(schema, node, prefix):
            if not schema.description(child):
                missing.append(f"{'.'.join(path)} ({schema.path.name})")
    return missing


def render() -> str:
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    lines = [
        "# Configuration keys",
        "",
        "GENERATED by `python -m learndyn.config_doc --write` (`make config-doc`) from the schemas in",
        "`workflow/schemas/`; do not edit by hand: change a key's `description` in its schema and regenerate.",
        "",
        "Three configs share these keys: `config.yaml` (the default, laptop scale), `smoke.yaml` (tiny, for",
        "tests) and `paper.yaml` (the papers' sizes); `ladder/` holds the rungs of the claims ladder. The",
        "*default* column is the value in `config/config.yaml` (empty: a section, a key that config.yaml",
        f"does not set, or a value that differs per entry). `{ANY}` stands for a key you choose (a data set,",
        "an attack, a sweep name ...), `[]` for each item of a list. A study's section is validated against",
        "its schema when the study is listed in `studies`; cross-key checks are each study's",
        "`config_problems(section)`.",
    ]
    for title, schema, node, prefix in sections():
        lines += ["", f"## {title}" if title == "top level" else f"## `{title}`", ""]
        desc = schema.description(schema.root) if title != "top level" else None
        if desc:
            lines += [desc, ""]
        lines += [
            f"Schema: `workflow/schemas/{schema.path.name}`.",
            "",
            "| key | type | default | description |",
            "|---|---|---|---|",
        ]
        for path, child in _rows(schema, node, prefix):
            default = _default(config, path, leaf=not _children_exist(schema, child))
            cells = (schema.type_of(child), f"`{default}`" if default else "", schema.description(child) or "")
            lines.append("| `" + ".".join(path) + "` | " + " | ".join(_cell(x) for x in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        problems = [f"{README} is stale: run `make config-doc`"] if README.read_text() != text else []
        problems += [f"no description: {key}" for key in missing_descriptions()]
        print("\n".join(problems), file=sys.stderr)
        return 1 if problems else 0
    if "--write" in argv:
        README.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
