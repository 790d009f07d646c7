"""Checkpoint files on disk: safe loading, discovery, hashing and the manifest.

Nothing here imports Lightning, so analyses that only read checkpoints start fast.

The checkpoint folder is deliberately *not* a Snakemake output (Snakemake deletes outputs
before rerunning a job, which would defeat resuming).  The declared output is the manifest
``checkpoints.parquet`` (step, file, sha256, loss, final), written last, after training ends.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import torch

from learndyn.io import Table, write_table

MANIFEST = Table("checkpoints", (
    ("step", pa.int64()), ("file", pa.string()), ("sha256", pa.string()),
    ("loss", pa.float64()), ("final", pa.bool_()),
))
_STEP_FILE = re.compile(r"^step=(\d+)\.ckpt$")


class CheckpointError(RuntimeError):
    """A checkpoint is unreadable, unsafe, or belongs to another model or config."""


def checkpoint_files(ckpt_dir: str | os.PathLike) -> dict[int, Path]:
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return {}
    found = {}
    for p in ckpt_dir.iterdir():
        m = _STEP_FILE.match(p.name)
        if m:
            found[int(m.group(1))] = p
    return dict(sorted(found.items()))


def load_checkpoint(path: str | os.PathLike, expected_keys: set[str] | None = None) -> dict:
    """Load a checkpoint with weights-only unpickling; nothing on disk runs as code.

    ``expected_keys`` (state-dict keys of the model it should belong to) turns a checkpoint of
    another model into a clear error instead of a confusing one downstream.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, foreign file, or a pickled object
        raise CheckpointError(
            f"{path}: cannot be loaded as a weights-only checkpoint "
            f"(truncated, foreign, or carrying pickled objects): {type(err).__name__}: {err}"
        ) from err
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no state_dict)")
    if expected_keys is not None and set(ckpt["state_dict"]) != set(expected_keys):
        raise CheckpointError(
            f"{path}: checkpoint of another model: has {sorted(ckpt['state_dict'])}, "
            f"expected {sorted(expected_keys)}"
        )
    return ckpt


def latest_checkpoint(ckpt_dir: str | os.PathLike) -> Path | None:
    files = checkpoint_files(ckpt_dir)
    return files[max(files)] if files else None


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(ckpt_dir: str | os.PathLike, manifest_path: str | os.PathLike, prov: dict) -> pd.DataFrame:
    """Hash every checkpoint and write the manifest (the job's declared output) last."""
    manifest_path = Path(manifest_path)
    rows = []
    for step, path in checkpoint_files(ckpt_dir).items():
        meta = load_checkpoint(path).get("learndyn", {})
        rows.append({"step": step, "file": os.path.relpath(path, manifest_path.parent),
                     "sha256": sha256(path), "loss": float(meta.get("loss", float("nan"))),
                     "final": bool(meta.get("final", False))})
    if not rows:
        raise CheckpointError(f"{ckpt_dir}: no checkpoints to list in the manifest")
    df = pd.DataFrame(rows)
    write_table(df, manifest_path, MANIFEST, prov)
    return df
