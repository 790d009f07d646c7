"""Compare the Parquet tables of two pipeline runs by content (provenance metadata aside)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq


def tables(root: Path, under: str = "results") -> dict[str, object]:
    """Relative path -> Arrow table without its key-value metadata (provenance, timestamps)."""
    base = Path(root)
    return {
        str(p.relative_to(base)): pq.read_table(p).replace_schema_metadata(None)
        for p in sorted((base / under).rglob("*.parquet"))
        if "benchmarks" not in p.parts
    }


def table_differences(a_root: Path, b_root: Path, under: str = "results", only=None) -> list[str]:
    """What differs between the tables of two runs (empty: identical contents).

    ``only``: relative paths to compare (default: every table of either run).
    """
    a, b = tables(a_root, under), tables(b_root, under)
    names = sorted(only if only is not None else set(a) | set(b))
    problems = []
    for name in names:
        if name not in a or name not in b:
            problems.append(f"{name}: only in {'the first' if name in a else 'the second'} run")
        elif not a[name].equals(b[name]):
            ta, tb = a[name], b[name]
            cols = [c for c in ta.column_names if c not in tb.column_names or not ta[c].equals(tb[c])]
            problems.append(f"{name}: contents differ (rows {ta.num_rows} vs {tb.num_rows}, columns {cols})")
    return problems
