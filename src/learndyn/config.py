"""Config checks, all run when the Snakefile is parsed, so a bad config fails before any job starts.

One place for the mechanics every study shares:

* :func:`load_config_file`: a strict YAML reading of a config file. PyYAML (YAML 1.1) silently keeps
  the last of two equal keys, reads ``0100`` as 64 (octal), ``1:30`` as 90 (sexagesimal) and ``no``
  as false; each of these is refused, naming file, line and key.
* :func:`nonfinite_problems`: NaN and inf anywhere (JSON-schema ``minimum`` checks let ``.nan`` pass).
* :func:`size_problems`: sizes bounded by what fits one machine (``allow_large: true`` lifts them).
* :func:`schema_problems`: JSON-schema validation with every error named by its key as written.
* :func:`study_problems`: a study's schema, then its ``config_problems(section)`` (the cross-key
  checks, one function per study: ``<study>/runs.py`` or ``motor/plan.py``).
* :func:`canonical`: the form of every rule's ``params: cfg`` (key order never reruns a job).

Every message names the key as the user wrote it (``perturb.attack.attacks.linf.kind``,
``splines.seeds[1]``) and its value.
"""

from __future__ import annotations

import importlib
import math
import re
from pathlib import Path

import yaml

# Every study the pipeline knows, in DAG order; each has workflow/rules/<study>.smk,
# workflow/schemas/<study>.schema.yaml, src/learndyn/<study>/ and tests/<study>/.
STUDIES = ("splines", "kernel", "perturb", "motor")
# study -> the module holding its config_problems(section) (cross-key checks)
STUDY_CHECKS = {
    "splines": "learndyn.splines.runs",
    "kernel": "learndyn.kernel.runs",
    "perturb": "learndyn.perturb.runs",
    "motor": "learndyn.motor.plan",
}
SCHEMAS = Path(__file__).resolve().parents[2] / "workflow" / "schemas"


class ConfigError(ValueError):
    pass


# -- key names and messages ------------------------------------------------------------------------
def key_name(path) -> str:
    """("perturb", "attack", "attacks", 0, "kind") -> "perturb.attack.attacks[0].kind"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def problem(path, value, why: str) -> str:
    """One message: the key, its value (scalars only: a whole block would drown the key), why."""
    if isinstance(value, (dict, list)):
        return f"{key_name(path)}: {why}"
    text = repr(value)
    return f"{key_name(path)} = {text if len(text) <= 80 else text[:77] + '...'}: {why}"


def walk(obj, path=()):
    """(path, leaf) for every scalar of a nested dict/list config."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, (*path, i))
    else:
        yield path, obj


def raise_problems(problems: list[str], what: str = "invalid config") -> None:
    if problems:
        raise ConfigError(f"{what}:\n  " + "\n  ".join(problems))


# -- strict YAML -----------------------------------------------------------------------------------
_INT, _FLOAT, _BOOL = (f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool"))
_OCTAL = re.compile(r"[-+]?0[0-9_]+")  # YAML 1.1 octal (0100 == 64); YAML 1.2 and JSON read it as 100


def _scalar_problem(node) -> str | None:
    v = node.value
    if node.tag in (_INT, _FLOAT) and ":" in v:
        return "a YAML 1.1 sexagesimal number (1:30 reads as 90); quote it or write the number"
    if node.tag == _INT and _OCTAL.fullmatch(v):
        return f"a YAML 1.1 octal number ({v} reads as {yaml.safe_load(v)}); write it without the leading 0"
    if node.tag == _BOOL and v.lower() not in ("true", "false"):
        return f"YAML 1.1 reads {v!r} as a boolean; write true/false, or quote it for a string"
    return None


def yaml_problems(text: str, source: str = "<config>") -> list[str]:
    """Duplicate keys and YAML-1.1-only number/boolean forms, each with file, line and key."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        return [f"{source}: not valid YAML: {err}"]
    problems: list[str] = []

    def visit(node, path, seen):
        if id(node) in seen:  # an alias back into its own anchor
            return
        seen = seen | {id(node)}
        at = f"{source}:{node.start_mark.line + 1}"
        if isinstance(node, yaml.MappingNode):
            keys = {}
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else str(k)
                if name in keys:
                    problems.append(
                        f"{source}:{k.start_mark.line + 1}: {key_name((*path, name))}: duplicate key (first at line "
                        f"{keys[name]}; YAML would silently keep only the last)"
                    )
                keys.setdefault(name, k.start_mark.line + 1)
                visit(v, (*path, name), seen)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                visit(v, (*path, i), seen)
        elif isinstance(node, yaml.ScalarNode) and not node.style:  # quoted scalars are strings
            why = _scalar_problem(node)
            if why:
                problems.append(f"{at}: {key_name(path)} = {node.value}: {why}")

    if root is not None:
        visit(root, (), frozenset())
    return problems


def load_config_file(path) -> dict:
    """A config file read strictly (see the module doc); ConfigError naming every problem."""
    path = Path(path)
    text = path.read_text()
    raise_problems(yaml_problems(text, str(path)), f"config file {path} refused")
    return yaml.safe_load(text) or {}


# -- finiteness and sizes ----------------------------------------------------------------------------
def nonfinite_problems(config, prefix=()) -> list[str]:
    return [
        problem((*prefix, *p), v, "not a finite number (NaN and inf slip through min/max checks)")
        for p, v in walk(config)
        if isinstance(v, float) and not math.isfinite(v)
    ]


# Sizes that decide memory and run time. Each limit is ~10x the paper's own size; beyond it a job
# would die of memory or run for days, so the config is refused at parse time unless it says
# `allow_large: true` (a cluster run that means it).  Patterns match key_name() with indices as [#].
SIZE_LIMITS = [
    (r"splines\.(sweeps\.[^.]+|flatness)\.widths\[#\]", 100_000, "hidden units per net"),
    (r"kernel\.net\.n_hidden", 10_000, "hidden units per net"),
    (r"kernel\.data\.n_(train|test)", 100_000, "examples"),
    (r"motor(\.experiments\.[^.]+)?\.scale\.N", 10_000, "reservoir units (J is N x N: 0.8 GB at 10^4)"),
    (r"motor(\.experiments\.[^.]+)?\.scale\.T", 100_000, "time units per period (S = T / 0.2 steps, traced)"),
    (r"perturb\.datasets\.[^.]+\.(train|test)_per_class", 10_000, "images per class"),
    (r"perturb\.attack\.n_images", 10_000, "attacked images (x every checkpoint)"),
    (r"perturb\.(contamination\.)?train\.(eval_images|batch_size)", 100_000, "images"),
    (r"perturb\.breakpoints\.n_samples", 1_000_000, "samples per segment"),
    (r"splines\.(sweeps\.[^.]+\.)?train\.max_steps", 10**7, "GD steps"),
    (r"splines\.init_laws\.n_draws", 10**8, "draws held in memory"),
    (r"splines\.flatness\.draws_budget", 10**7, "draws per width"),
    (r"kernel\.schedules\.[^.]+\.steps|kernel\.linear\.epochs|kernel\.onestep\.converge_steps", 10**6, "GD steps"),
    (r"perturb\.(contamination\.)?train(\.overrides\.[^.]+)?\.epochs", 1000, "epochs"),
    (r"perturb\.attack\.attacks\.[^.]+\.steps", 100_000, "attack steps (x images x checkpoints)"),
    (r"motor(\.experiments\.[^.]+)?\.scale\.n_(train|test)", 10_000, "periods"),
]
INT_LIMIT = 10**9  # any other integer: steps, draws, seeds (fits int32-or-wider code everywhere)
LIST_LIMIT = 10_000  # entries of any list (a seeds or widths list is one job or run per entry)
_SIZE_RES = [(re.compile(p), n, what) for p, n, what in SIZE_LIMITS]
_OVERRIDE = "set `allow_large: true` at the top level of the config to run it anyway"


def size_problems(config: dict) -> list[str]:
    if config.get("allow_large") is True:
        return []
    problems = []

    def lists(obj, path=()):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield from lists(v, (*path, k))
        elif isinstance(obj, list):
            yield path, obj
            for i, v in enumerate(obj):
                yield from lists(v, (*path, i))

    for path, seq in lists(config):
        if len(seq) > LIST_LIMIT:
            problems.append(f"{key_name(path)}: {len(seq)} entries, above the limit of {LIST_LIMIT}; {_OVERRIDE}")
    for path, v in walk(config):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        name = re.sub(r"\[\d+\]", "[#]", key_name(path))
        limit = next(((n, what) for rx, n, what in _SIZE_RES if rx.fullmatch(name)), None)
        if limit and v > limit[0]:
            problems.append(problem(path, v, f"above the size limit {limit[0]} ({limit[1]}); {_OVERRIDE}"))
        elif isinstance(v, int) and abs(v) > INT_LIMIT:
            problems.append(problem(path, v, f"above the limit {INT_LIMIT} for any integer; {_OVERRIDE}"))
    return problems


# -- canonical params --------------------------------------------------------------------------------
def canonical(value):
    """A config value in one canonical form, for a rule's ``params: cfg=``.

    Snakemake decides a rerun by comparing the repr() of params, and a dict's repr follows its key
    order: reordering keys in a config file (or re-saving it with yaml.safe_dump, which sorts
    them) would rerun every job with no value changed.  Keys are deep-sorted (jobs then also
    iterate them in that one order, whatever the file's), numpy scalars become Python numbers and
    -0.0 becomes 0.0; lists keep their order (it is meaningful: seeds, widths, breakpoints).
    """
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value, key=lambda k: (type(k).__name__, str(k)))}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, tuple):
        return tuple(canonical(v) for v in value)
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()
    if isinstance(value, float) and value == 0.0:
        return 0.0
    return value


# -- schemas and study checks ----------------------------------------------------------------------
def schema_problems(instance, schema_file, prefix=()) -> list[str]:
    """Every JSON-schema error of ``instance``, named by its key (not jsonschema's instance[...])."""
    import jsonschema

    schema = yaml.safe_load(Path(schema_file).read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    return [problem((*prefix, *e.absolute_path), e.instance, e.message) for e in errors]


def study_problems(study: str, section: dict, schemas=SCHEMAS) -> list[str]:
    """The study's schema, then (on a schema-valid section) its cross-key config_problems(section)."""
    problems = schema_problems(section, Path(schemas) / f"{study}.schema.yaml", (study,))
    if problems:
        return problems  # the cross-key checks assume the types the schema guarantees
    return importlib.import_module(STUDY_CHECKS[study]).config_problems(section)


def check_study(study: str, section: dict, schemas=SCHEMAS) -> None:
    raise_problems(study_problems(study, section, schemas), f"invalid config section {study!r}")


def config_problems(config: dict, schemas=SCHEMAS) -> list[str]:
    """The whole config: finite numbers, sizes, the top-level schema, listed studies present."""
    problems = nonfinite_problems(config) + size_problems(config)
    problems += schema_problems(config, Path(schemas) / "config.schema.yaml")
    for study in config.get("studies", []) if isinstance(config.get("studies"), list) else []:
        if study in STUDIES and study not in config:
            problems.append(f"studies: {study!r} is listed but the config has no {study!r} section")
    return problems


def check_config(config: dict, schemas=SCHEMAS) -> None:
    raise_problems(config_problems(config, schemas))


def check_config_files(paths) -> None:
    """Re-read each config file strictly (Snakemake has already loaded it with plain PyYAML)."""
    for path in paths:
        if Path(path).is_file():
            load_config_file(path)
