"""Checkpoint files on disk: safe loading, discovery, hashing and the manifest.

Nothing here imports Lightning, so analyses that only read checkpoints start fast.

The checkpoint folder is deliberately *not* a Snakemake output (Snakemake deletes outputs
before rerunning a job, which would defeat resuming).  The declared output is the manifest
``checkpoints.parquet`` (step, file, sha256, loss, final), written last, after training ends.

Retention: a training rule keeps only the breakpoints its analyses read (``keep``: ``"all"``,
``"last"`` or a collection of steps; the final step is always kept).  ``step=<n>.ckpt`` holds the
weights of a kept breakpoint (no optimiser state: analyses never read it, and momentum buffers
double the file); ``resume.ckpt`` holds the full training state of the newest breakpoint, which is
all a resume needs, and is deleted once the manifest is written.  A breakpoint outside ``keep`` is
never written as a step file, so the manifest lists exactly the files that exist.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import torch

from learndyn.io import Table, atomic_write, write_table

MANIFEST = Table("checkpoints", (
    ("step", pa.int64()), ("file", pa.string()), ("sha256", pa.string()),
    ("loss", pa.float64()), ("final", pa.bool_()),
))
_STEP_FILE = re.compile(r"^step=(\d+)\.ckpt$")
RESUME = "resume.ckpt"
# what only a resume reads; a kept breakpoint's file drops it (analyses load state_dict + metadata)
RESUME_ONLY = ("optimizer_states", "lr_schedulers", "callbacks")


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


def keep_policy(keep) -> Callable[[int, bool], bool]:
    """``keeps(step, final)`` for a retention spec: "all", "last" or a collection of steps (+ final)."""
    if isinstance(keep, str) and keep == "all":
        return lambda step, final: True
    if isinstance(keep, str) and keep == "last":
        return lambda step, final: bool(final)
    if isinstance(keep, str) or not isinstance(keep, Iterable):
        raise CheckpointError(f"keep must be 'all', 'last' or a list of steps, got {keep!r}")
    steps = {int(s) for s in keep}
    return lambda step, final: bool(final) or int(step) in steps


def describe_keep(keep) -> str:
    return keep if isinstance(keep, str) else f"steps {sorted(int(s) for s in keep)} + final"


def _torch_save_atomic(obj: dict, path: Path) -> None:
    # through a buffer: torch.save names the zip's root after a file's (random temp) name, so the
    # same weights would hash differently on every write; a buffer's root is always "archive"
    buf = io.BytesIO()
    torch.save(obj, buf)
    with atomic_write(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def write_weights(full: str | os.PathLike, path: str | os.PathLike) -> Path:
    """``path`` <- the checkpoint ``full`` without its resume-only state (atomic)."""
    ckpt = torch.load(full, map_location="cpu", weights_only=True)
    _torch_save_atomic({k: v for k, v in ckpt.items() if k not in RESUME_ONLY}, Path(path))
    return Path(path)


def resume_step(ckpt_dir: str | os.PathLike) -> int | None:
    """The breakpoint ``resume.ckpt`` holds (None when there is none: the run starts fresh)."""
    path = Path(ckpt_dir) / RESUME
    if not path.exists():
        return None
    return int(load_checkpoint(path).get("learndyn", {}).get("step", -1))


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
