"""The one checkpoint store of the DAG: identity, manifest and verified loading.

Lightning training (``step=<n>.ckpt``, :mod:`learndyn.train`) and the motor simulator
(``period=<k>.npz``, :mod:`learndyn.motor.checkpoints`) both write through here, and every reader
loads through :class:`RunCheckpoints`.  No Lightning here (torch only for ``.ckpt`` files, imported
when one is read or written), so analyses and the motor jobs start fast.

Identity.  Every checkpoint carries its run's identity ``{"run", "seed", "step"}``: ``run`` is the
hash of what determines the run (the job's config slice plus its data, :func:`learndyn.io.config_hash`),
``seed`` the run's seed(s), ``step`` the training (or simulation) step the state is at.  The
manifest ``checkpoints.parquet`` (step, file, sha256, loss, final), the training job's declared
output, lists every file with its sha256 and records the run identity in its provenance
(``checkpoint_run``).  A load checks both: the bytes against the manifest's sha256 (tampered,
truncated or replaced after training) and the embedded identity against the manifest's run and
row step (a foreign run's file, a stale one of an earlier config, a renamed step).  A refused
checkpoint names both identities; nothing of it is used.

Loading never runs code from disk: ``.ckpt`` with ``torch.load(weights_only=True)``, ``.npz``
with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from learndyn.io import (
    Table,
    atomic_write,
    config_hash,
    read_provenance,
    read_table,
    write_table,
)

MANIFEST = Table(
    "checkpoints",
    (
        ("step", pa.int64()),
        ("file", pa.string()),
        ("sha256", pa.string()),
        ("loss", pa.float64()),
        ("final", pa.bool_()),
    ),
)
RUN_KEY = "checkpoint_run"  # the manifest's provenance entry holding the run identity
KEEP_KEY = "checkpoint_keep"  # ... and the retention policy the run was trained under
_NPZ_IDENTITY = "meta.identity"


class CheckpointError(RuntimeError):
    """A checkpoint is unreadable, unsafe, tampered with, or belongs to another run."""


def run_identity(fingerprint: Any, seed: Any) -> dict:
    """What identifies a run: the hash of its fingerprint (config slice + data; a hash is kept
    as it is) and its seed(s).  JSON-normalised, so it compares equal after a round trip."""
    run = fingerprint if isinstance(fingerprint, str) else config_hash(fingerprint)
    return json.loads(json.dumps({"run": run, "seed": seed}, default=str))


def identity(run: Mapping, step: int) -> dict:
    return {"run": run["run"], "seed": run["seed"], "step": int(step)}


def describe(ident: Mapping | None) -> str:
    if not ident:
        return "no run identity (another model's file, or one written before checkpoints carried identities)"
    step = f" step {ident['step']}" if "step" in ident else ""
    return f"run {ident.get('run')} seed {ident.get('seed')}{step}"


def check_identity(path: Path, found: Mapping | None, expected: Mapping, where: str = "") -> None:
    """Raise unless ``found`` (the file's identity) has every entry of ``expected``."""
    if found is None or any(found.get(k) != v for k, v in expected.items()):
        raise CheckpointError(
            f"{path}: checkpoint of {describe(found)}, expected {describe(expected)}{where}: a foreign or stale "
            "checkpoint is not read; delete the run folder and rerun its training rule"
        )


def sha256(path: str | os.PathLike | None = None, data: bytes | None = None) -> str:
    if data is not None:
        return hashlib.sha256(data).hexdigest()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- the two formats ------------------------------------------------------------------------------


def save_torch(obj: dict, path: str | os.PathLike) -> Path:
    """``path`` <- ``obj`` (atomic), through a buffer: torch.save names the zip's root after a file's
    (random temp) name, so the same weights would hash differently on every write."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    with atomic_write(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return Path(path)


def save_npz(arrays: Mapping[str, Any], path: str | os.PathLike, ident: Mapping) -> Path:
    """``path`` <- the arrays and the identity (atomic)."""
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **{_NPZ_IDENTITY: np.array(json.dumps(dict(ident))), **arrays})
    return Path(path)


def _scalar(a: np.ndarray):
    if a.ndim:
        return a
    return {"i": int, "u": int, "b": bool, "f": float, "U": str}.get(a.dtype.kind, lambda x: x)(a[()])


def decode(
    path: str | os.PathLike, data: bytes | None = None, *, lazy: Callable[[str], bool] | None = None
) -> tuple[dict, dict | None]:
    """(content, embedded identity or None) of a checkpoint, nothing unpickled as code.

    ``.ckpt``: the torch dict (identity in ``["learndyn"]["identity"]``); ``.npz``: name -> array
    (``lazy(name)`` False skips reading that member: npz members load one by one).
    """
    path = Path(path)
    if data is None and not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    src = io.BytesIO(data) if data is not None else path
    try:
        if path.suffix == ".npz":
            with np.load(src, allow_pickle=False) as f:
                content = {k: _scalar(f[k]) for k in f.files if lazy is None or lazy(k) or k == _NPZ_IDENTITY}
            ident = content.pop(_NPZ_IDENTITY, None)
            return content, (json.loads(ident) if isinstance(ident, str) else None)
        import torch

        content = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, foreign file, or a pickled object
        raise CheckpointError(
            f"{path}: cannot be loaded as a weights-only checkpoint "
            f"(truncated, foreign, or carrying pickled objects): {type(err).__name__}: {err}"
        ) from err
    if not isinstance(content, dict):
        raise CheckpointError(f"{path}: not a checkpoint (a {type(content).__name__}, not a dict)")
    meta = content.get("learndyn")
    return content, (meta.get("identity") if isinstance(meta, dict) else None)


# -- the manifest ---------------------------------------------------------------------------------


def write_manifest(
    files: Mapping[Any, Path],
    manifest_path: str | os.PathLike,
    run: Mapping,
    prov: dict,
    row: Callable[[dict], dict],
    *,
    empty_ok: bool = False,
) -> pd.DataFrame:
    """Hash every checkpoint file and write the manifest (the job's declared output) last.

    ``row(content)`` gives a file's ``step``, ``loss`` and ``final``; every file must carry this run's
    identity at that step, so the manifest never lists a foreign file.  ``empty_ok``: the run's
    retention policy keeps no checkpoint (``keep: none``), so a manifest without rows is its record;
    otherwise no files means training wrote nothing, an error.
    """
    manifest_path = Path(manifest_path)
    rows = []
    for path in files.values():
        data = Path(path).read_bytes()
        content, found = decode(path, data, lazy=lambda k: k.startswith("meta."))
        r = row(content)
        check_identity(path, found, identity(run, r["step"]), " (writing the manifest)")
        rows.append(
            {
                "step": int(r["step"]),
                "file": os.path.relpath(path, manifest_path.parent),
                "sha256": sha256(data=data),
                "loss": float(r["loss"]),
                "final": bool(r["final"]),
            }
        )
    if not rows and not empty_ok:
        raise CheckpointError(f"{manifest_path.parent}: no checkpoints to list in the manifest")
    df = pd.DataFrame(rows, columns=[c for c, _ in MANIFEST.columns])
    write_table(df, manifest_path, MANIFEST, {**prov, RUN_KEY: dict(run)})
    return df


class RunCheckpoints:
    """The checkpoints a manifest lists, each loaded only after both checks (sha256, identity)."""

    def __init__(self, manifest_path: str | os.PathLike):
        self.path = Path(manifest_path)
        self.table = read_table(self.path, MANIFEST)
        self.run = read_provenance(self.path).get(RUN_KEY)
        if not isinstance(self.run, dict):
            raise CheckpointError(
                f"{self.path}: the manifest names no run identity (written before checkpoints carried one); "
                "rerun its training rule"
            )
        self._rows = {int(r.step): r for r in self.table.itertuples(index=False)}

    @property
    def steps(self) -> list[int]:
        return sorted(self._rows)

    def file(self, step: int) -> Path:
        if int(step) not in self._rows:
            keep = read_provenance(self.path).get(KEEP_KEY)
            why = f"; its training rule's retention policy is keep: {keep}" if keep is not None else ""
            raise CheckpointError(f"{self.path}: no checkpoint at step {step} (listed: {self.steps}{why})")
        return self.path.parent / self._rows[int(step)].file

    def load(self, step: int, expected_keys: set[str] | None = None) -> dict:
        """The checkpoint at ``step``: refused, naming both sides, unless its bytes are the ones the
        manifest hashed and it carries this run's identity at this step."""
        path = self.file(step)
        if not path.exists():
            raise CheckpointError(f"{path}: checkpoint not found (listed in {self.path})")
        data = path.read_bytes()
        content, found = decode(path, data)
        check_identity(path, found, identity(self.run, step), f" (as {self.path} lists it)")
        if expected_keys is not None:
            check_state_keys(path, content, expected_keys)
        got, want = sha256(data=data), self._rows[int(step)].sha256
        if got != want:
            raise CheckpointError(
                f"{path}: sha256 {got[:16]}... on disk, but {self.path} lists {want[:16]}...: changed since the "
                "manifest was written (tampered, truncated or replaced); delete the run folder and rerun its "
                "training rule"
            )
        return content


def check_state_keys(path: Path, content: dict, expected_keys: set[str]) -> None:
    state = content.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no state_dict)")
    if set(state) != set(expected_keys):
        raise CheckpointError(
            f"{path}: checkpoint of another model: has {sorted(state)}, expected {sorted(expected_keys)}"
        )
