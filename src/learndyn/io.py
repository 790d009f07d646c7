"""Parquet tables with an explicit schema and provenance, written atomically.

Every intermediate table of the DAG goes through :func:`write_table` and :func:`read_table`.
A :class:`Table` names its columns and Arrow types; a frame that does not match is refused on
write (nothing is written) and a file that does not match is refused on read, with the file
and the offending column named.  Provenance (package version, git commit, rule, config
sub-dict and its hash, seed, library versions) travels in the file's key-value metadata
under ``learndyn.provenance``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import learndyn

PROVENANCE_KEY = b"learndyn.provenance"
TABLE_KEY = b"learndyn.table"


class TableError(ValueError):
    """A table (frame or file) does not match its declared schema."""


@dataclass(frozen=True)
class Table:
    """A named table kind: its columns in order, with Arrow types."""

    name: str
    columns: tuple[tuple[str, pa.DataType], ...]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(n, t, nullable=True) for n, t in self.columns])

    def check_frame(self, df: pd.DataFrame) -> pa.Table:
        """Convert a frame to Arrow with this schema, or raise naming the problem."""
        expected = [n for n, _ in self.columns]
        missing = [n for n in expected if n not in df.columns]
        extra = [n for n in df.columns if n not in expected]
        if missing or extra:
            raise TableError(f"table {self.name!r}: missing columns {missing}, unexpected columns {extra}")
        arrays = []
        for name, typ in self.columns:
            try:
                arrays.append(pa.array(df[name].to_numpy(), type=typ, from_pandas=True))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as err:
                raise TableError(f"table {self.name!r}: column {name!r} cannot be stored as {typ}: {err}") from err
        return pa.Table.from_arrays(arrays, schema=self.schema)


def config_hash(config: Any) -> str:
    """Stable hash of a JSON-serialisable config sub-dict (key order does not matter)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _git_commit() -> str:
    env = os.environ.get("LEARNDYN_GIT_COMMIT")
    if env:
        return env
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            check=False,
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _library_versions() -> dict[str, str]:
    """Installed versions, read from package metadata: importing torch/Lightning here would cost
    seconds in every job just to print a version."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("numpy", "pandas", "pyarrow", "torch", "pytorch-lightning", "scipy", "snakemake"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return versions


def provenance(rule: str, config: Any = None, seed: Any = None, **extra: Any) -> dict:
    """Provenance record stored with every table."""
    record = {
        "learndyn_version": learndyn.__version__,
        "git_commit": _git_commit(),
        "rule": rule,
        "config": config,
        "config_hash": config_hash(config),
        "seed": seed,
        "libraries": _library_versions(),
    }
    record.update(extra)
    return record


def _new_temp(path: Path) -> Path:
    """An empty, new file next to ``path``, created as ``open(path, "w")`` would create ``path``:
    mode 0o666 & ~umask (and the folder's default ACL). mkstemp's 0600 would make every result
    unreadable to the colleagues sharing a results folder."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Write ``path`` all at once or not at all: yields a temp file in the same folder (so the
    rename cannot cross filesystems) for the caller to write by name; when the block ends without
    error it is renamed over ``path``, otherwise it is removed and an existing ``path`` is kept.
    A killed job therefore never leaves a half-written table, checkpoint or figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(df: pd.DataFrame, path: str | os.PathLike, table: Table, prov: Mapping[str, Any] | None = None) -> Path:
    """Validate ``df`` against ``table`` and write it atomically to ``path``."""
    path = Path(path)
    arrow = table.check_frame(df)  # raises before anything touches the disk
    prov = {**dict(prov or {}), "written_as": table_identity(path)}
    meta = {TABLE_KEY: table.name.encode(), PROVENANCE_KEY: json.dumps(prov, sort_keys=True, default=str).encode()}
    arrow = arrow.replace_schema_metadata(meta)
    with atomic_write(path) as tmp:
        pq.write_table(arrow, tmp)
    return path


def table_identity(path: str | os.PathLike) -> str:
    """Where a table belongs: its path from the last ``results`` folder on (the same in a project
    copied or moved elsewhere), or its file name outside a results folder."""
    parts = Path(os.path.abspath(path)).parts
    anchor = max((i for i, part in enumerate(parts) if part == "results"), default=None)
    return "/".join(parts[anchor:]) if anchor is not None else parts[-1]


def _check_identity(path: Path, meta: dict) -> None:
    """A table read from another place than it was written to (a swapped or copied file of the same
    kind: another seed's, run's or sweep's) is refused, naming both identities."""
    try:
        prov = json.loads(meta.get(PROVENANCE_KEY, b"{}"))
    except json.JSONDecodeError as err:
        raise TableError(f"{path}: unreadable learndyn provenance: {err}") from err
    written = prov.get("written_as")
    if written is not None and written != table_identity(path):
        raise TableError(
            f"{path}: this file was written as {written} (rule {prov.get('rule')}, wildcards "
            f"{prov.get('wildcards', {})}), not as {table_identity(path)}: a moved or swapped table is not "
            "read; delete it and rerun the rule that writes this path"
        )


def _open(path: Path) -> pa.Table:
    if not path.exists():
        raise FileNotFoundError(f"{path}: table not found (run the rule that writes it)")
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise TableError(f"{path}: not a readable Parquet file (truncated or foreign?): {err}") from err


def read_table(path: str | os.PathLike, table: Table) -> pd.DataFrame:
    """Read ``path`` and check it is a ``table`` with exactly the declared columns and types."""
    path = Path(path)
    arrow = _open(path)
    meta = arrow.schema.metadata or {}
    name = meta.get(TABLE_KEY, b"").decode() or None
    if name != table.name:
        raise TableError(f"{path}: expected a {table.name!r} table, found {name or 'a foreign Parquet file'}")
    for col, typ in table.columns:
        if col not in arrow.column_names:
            raise TableError(f"{path}: column {col!r} missing from table {table.name!r}")
        if not arrow.schema.field(col).type.equals(typ):
            raise TableError(f"{path}: column {col!r} has type {arrow.schema.field(col).type}, expected {typ}")
    extra = set(arrow.column_names) - {c for c, _ in table.columns}
    if extra:
        raise TableError(f"{path}: unexpected columns {sorted(extra)} in table {table.name!r}")
    _check_identity(path, meta)
    return arrow.to_pandas()


def read_tables(paths, table: Table) -> pd.DataFrame:
    """Several files of one table (a path or a list of them, as a rule's input gives them), checked
    like :func:`read_table` and concatenated in order."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    return pd.concat([read_table(p, table) for p in paths], ignore_index=True)


def read_provenance(path: str | os.PathLike) -> dict:
    """The provenance record of a table written by :func:`write_table`."""
    path = Path(path)
    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowInvalid, OSError) as err:
        raise TableError(f"{path}: not a readable Parquet file: {err}") from err
    if PROVENANCE_KEY not in meta:
        raise TableError(f"{path}: no learndyn provenance (not written by learndyn)")
    return json.loads(meta[PROVENANCE_KEY])


WRITER_LOCK = ".writer.lock"


class FolderBusyError(RuntimeError):
    """Another live process writes into the same run folder."""


@contextlib.contextmanager
def writer_lock(folder: str | os.PathLike, what: str = "checkpoints"):
    """Hold an exclusive lock on ``folder`` while a job writes into it.

    Killing only the Snakemake process leaves its job running; a rerun would start a second
    writer in the same checkpoint folder.  The lock (released by the kernel when its holder dies,
    so a killed job never leaves it stale) turns that into a clear error naming the holder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / WRITER_LOCK, "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            raise FolderBusyError(
                f"{folder}: {holder} is still writing {what} here (a job left running after its Snakemake "
                f"was killed?); stop it (kill <pid>) or wait for it, then rerun"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        fh.flush()
        yield
    finally:
        fh.close()  # closing releases the lock


def clear_folder(folder: str | os.PathLike) -> None:
    """Delete what a folder holds but keep the folder: it may be a symlink the user made (to a
    scratch disk), which ``shutil.rmtree`` refuses to remove.  The writer lock stays."""
    folder = Path(folder)
    if not folder.exists():
        return
    for child in folder.iterdir():
        if child.name == WRITER_LOCK:
            continue  # held by this job: deleting it would let a second writer lock a new file
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
