"""The learndyn source files a rule runs, derived from the static import closure of its entry.

Snakemake does not track imported modules: a rule declares the files of ``src/learndyn`` it runs as
inputs so that editing one reruns exactly the jobs that run it. Hand-kept lists of those files drift
(a module the engine imports but the list lacks means an edit silently keeps old results), so the
Snakefile derives them here from ``params.func`` ("module:function") with :func:`closure`.

Static, not by importing: parsing the DAG must stay cheap and must not import torch. Every import
counts, wherever it is (module level, inside functions, under ``TYPE_CHECKING``): a superset of what
one call executes, never a subset. Followed: ``import learndyn.x``, ``from learndyn.x import y``
(``y`` a submodule or a name), relative imports, ``importlib.import_module("learndyn.x")`` and, for
an f-string such as ``f"learndyn.perturb.{name}"``, every module of that package. A package's
``__init__.py`` counts for every module under it (importing ``a.b.c`` runs ``a`` and ``a.b``).

An entry is a function, not a module: one ``<study>/jobs.py`` holds every rule entry of a study, and a
per-module closure would make each job depend on every sibling's imports. The entry module counts by
what importing it runs (its module-level statements) plus what the named function's body imports and,
transitively, the bodies of the module's own functions and classes it names (:func:`entry_imports`);
an entry keeps its heavy imports inside its body, so that e.g. a collect job does not depend on the
training modules. Every other module of the closure counts whole.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = "learndyn"
ROOT = Path(__file__).resolve().parent  # src/learndyn


class CodeInputError(ValueError):
    """An entry or an import that names no file of src/learndyn."""


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """``learndyn.a.b`` -> src/learndyn/a/b.py (or a/b/__init__.py); None if there is no such file."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for path in (base.with_suffix(".py") if len(parts) > 1 else None, base / "__init__.py"):
        if path is not None and path.is_file():
            return path
    return None


def _package_of(name: str, path: Path) -> str:
    """The package a module's relative imports start from."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _resolve_relative(name: str, path: Path, level: int, module: str | None) -> str:
    package = _package_of(name, path).split(".")
    if level - 1 >= len(package):
        raise CodeInputError(f"{path}: relative import beyond the top-level package ({'.' * level}{module or ''})")
    base = ".".join(package[: len(package) - (level - 1)])
    return f"{base}.{module}" if module else base


def _import_module_target(call: ast.Call) -> tuple[str, bool] | None:
    """(name, is_prefix) of ``importlib.import_module(...)`` / ``import_module(...)``, if readable."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if called != "import_module" or not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value, False
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return str(arg.values[0].value), True  # f"learndyn.pkg.{x}": some module of learndyn.pkg
    return None  # a variable (learndyn.job.resolve: the rule's own entry) cannot be read statically


def _package_modules(package: str, root: Path) -> set[str]:
    folder = module_file(package, root)
    if folder is None or folder.name != "__init__.py":
        return set()
    return {f"{package}.{p.stem}" for p in folder.parent.glob("*.py") if p.name != "__init__.py"}


@cache
def direct_imports(name: str, root: Path = ROOT) -> frozenset[str]:
    """The learndyn modules that module ``name`` imports anywhere in its source (cached)."""
    path = module_file(name, root)
    if path is None:
        raise CodeInputError(f"{name}: no such module under {root}")
    tree = _parse(path)
    # import statements sit among statements only: walking expressions too (10x the nodes) is needed
    # only where an import_module call may hide in one (every Snakemake parse runs this per module)
    nodes = ast.walk(tree) if "import_module" in _source(path) else _statements(tree)
    return _ours(name, path, nodes, root)


def _statements(tree: ast.AST):
    """Every statement of ``tree``, at any depth (function and class bodies, branches, handlers, cases)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                stack.extend(children)


@cache
def _source(path: Path) -> str:
    return path.read_text()


@cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(_source(path), filename=str(path))


def _ours(name: str, path: Path, nodes, root: Path) -> frozenset[str]:
    """The learndyn modules the import statements and import_module calls among ``nodes`` name."""
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(name, path, node.level, node.module) if node.level else node.module or ""
            found.add(base)
            found.update(
                f"{base}.{a.name}"
                for a in node.names
                if a.name != "*" and module_file(f"{base}.{a.name}", root) is not None
            )
        elif isinstance(node, ast.Call) and (target := _import_module_target(node)):
            target_name, is_prefix = target
            if is_prefix:
                found.update(_package_modules(target_name.rpartition(".")[0], root))
            else:
                found.add(target_name)
    ours = {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}
    missing = sorted(m for m in ours if module_file(m, root) is None)
    if missing:
        raise CodeInputError(f"{path}: imports {', '.join(missing)}, which has no file under {root}")
    return frozenset(ours)


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


@cache
def closure(name: str, root: Path = ROOT) -> frozenset[Path]:
    """Every source file that importing module ``name`` can run: the module, what it imports,
    recursively, and the ``__init__.py`` of each package on the way (cached per module)."""
    if module_file(name, root) is None:
        raise CodeInputError(f"{name}: no such module under {root} (is params.func 'module:function'?)")
    seen: set[str] = set()
    todo = [name]
    while todo:
        module = todo.pop()
        for m in _with_parents(module):
            if m not in seen:
                seen.add(m)
                todo.extend(direct_imports(m, root))
    return frozenset(module_file(m, root) for m in seen)


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _bound_at_module_level(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, _DEFS):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).partition(".")[0] for a in node.names)
        else:
            names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def _run_at_import(node: ast.AST) -> list[ast.AST]:
    """The parts of a module-level def that run when the module is imported: decorators, default
    values, base classes and a class body's own statements (not its methods)."""
    if isinstance(node, ast.ClassDef):
        parts = [*node.decorator_list, *node.bases, *node.keywords, *(s for s in node.body if not isinstance(s, _DEFS))]
    else:
        parts = [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]
    return [n for part in parts for n in ast.walk(part)]


@cache
def entry_imports(module: str, function: str, root: Path = ROOT) -> frozenset[str]:
    """The learndyn modules that calling ``module:function`` can import from the entry module itself:
    what its module-level statements import, what ``function``'s body imports and, transitively, the
    bodies of the module-level functions and classes it names. Names reached otherwise (getattr,
    globals()) are not followed. A name bound at module level but not by a def (an assignment, an
    import) counts as the whole module; a name not bound at all is refused."""
    path = module_file(module, root)
    if path is None:
        raise CodeInputError(f"{module}: no such module under {root} (is params.func 'module:function'?)")
    tree = _parse(path)
    defs = {n.name: n for n in tree.body if isinstance(n, _DEFS)}
    if function not in defs:
        if function in _bound_at_module_level(tree):
            return direct_imports(module, root)
        raise CodeInputError(f"{path}: no module-level function {function!r} (params.func {module}:{function})")
    nodes = [n for top in tree.body for n in (_run_at_import(top) if isinstance(top, _DEFS) else ast.walk(top))]
    seen, todo = {function}, [function]
    while todo:
        body = list(ast.walk(defs[todo.pop()]))
        nodes += body
        for n in body:
            if isinstance(n, ast.Name) and n.id in defs and n.id not in seen:
                seen.add(n.id)
                todo.append(n.id)
    return _ours(module, path, nodes, root)


def entry_closure(module: str, function: str, root: Path = ROOT) -> frozenset[Path]:
    """Every source file that calling ``module:function`` can run: the entry module and its packages,
    and the closure of each module :func:`entry_imports` names."""
    imports = entry_imports(module, function, root)  # refuses an unknown module or function first
    files = set(closure(module.rpartition(".")[0], root)) if "." in module else set()
    files.add(module_file(module, root))
    for name in imports:
        if name != module:
            files |= closure(name, root)
    return frozenset(files)


def script_imports(script: Path) -> set[str]:
    """The learndyn modules a script (workflow/scripts/run.py) imports."""
    tree = ast.parse(Path(script).read_text(), filename=str(script))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level}
    return {m for m in names if m == PACKAGE or m.startswith(PACKAGE + ".")}


def rule_code(func: str, script: Path, root: Path = ROOT) -> list[Path]:
    """The source files of a rule that runs ``script`` with ``params.func = "module:function"``:
    the closure of the entry function and of what the script itself imports (learndyn.job, io, ...)."""
    module, sep, function = func.partition(":")
    if not sep or not function:
        raise CodeInputError(f"params.func {func!r}: expected 'module:function'")
    files = set(entry_closure(module, function, root))
    for name in sorted(script_imports(script)):
        files |= closure(name, root)
    return sorted(files)
