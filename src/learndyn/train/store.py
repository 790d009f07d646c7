"""Lightning training's checkpoint files: discovery, retention, resume state and the manifest.

Identity, hashing, the manifest and verified loading are the store core's
(:mod:`learndyn.checkpoints`, shared with the motor simulator).  Nothing here imports Lightning,
so analyses that only read checkpoints start fast.

The checkpoint folder is deliberately *not* a Snakemake output (Snakemake deletes outputs
before rerunning a job, which would defeat resuming).  The declared output is the manifest
``checkpoints.parquet`` (step, file, sha256, loss, final), written last, after training ends.

Retention: a training rule keeps only the breakpoints its analyses read (``keep``: ``"all"``,
``"last"`` or a collection of steps, the final step always kept; or ``"none"`` for a rule whose
readers use only its other outputs, e.g. a history: no step file at all, and a manifest without
rows that records the run and its policy).  ``step=<n>.ckpt`` holds the
weights of a kept breakpoint (no optimiser state: analyses never read it, and momentum buffers
double the file); ``resume.ckpt`` holds the full training state of the newest breakpoint, which is
all a resume needs, and is deleted once the manifest is written.  A breakpoint outside ``keep`` is
never written as a step file, so the manifest lists exactly the files that exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from learndyn.checkpoints import (  # MANIFEST, CheckpointError: re-exported by learndyn.train
    MANIFEST,  # noqa: F401
    CheckpointError,
    check_state_keys,
    decode,
    save_torch,
)
from learndyn.checkpoints import write_manifest as _write_manifest

_STEP_FILE = re.compile(r"^step=(\d+)\.ckpt$")
RESUME = "resume.ckpt"
# what only a resume reads; a kept breakpoint's file drops it (analyses load state_dict + metadata)
RESUME_ONLY = ("optimizer_states", "lr_schedulers", "callbacks")


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

    No identity or sha256 check: this is for the training job's own files (resume) and tests;
    analyses read through :class:`learndyn.checkpoints.RunCheckpoints`, which checks both.
    ``expected_keys`` (state-dict keys of the model it should belong to) turns a checkpoint of
    another model into a clear error instead of a confusing one downstream.
    """
    path = Path(path)
    ckpt, _ = decode(path)
    if "state_dict" not in ckpt:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no state_dict)")
    if expected_keys is not None:
        check_state_keys(path, ckpt, expected_keys)
    return ckpt


def latest_checkpoint(ckpt_dir: str | os.PathLike) -> Path | None:
    files = checkpoint_files(ckpt_dir)
    return files[max(files)] if files else None


def keep_policy(keep) -> Callable[[int, bool], bool]:
    """``keeps(step, final)`` for a retention spec: "all", "last", "none" or a collection of steps (+ final)."""
    if isinstance(keep, str) and keep == "all":
        return lambda step, final: True
    if isinstance(keep, str) and keep == "last":
        return lambda step, final: bool(final)
    if keeps_none(keep):
        return lambda step, final: False
    if isinstance(keep, str) or not isinstance(keep, Iterable):
        raise CheckpointError(f"keep must be 'all', 'last', 'none' or a list of steps, got {keep!r}")
    steps = {int(s) for s in keep}
    return lambda step, final: bool(final) or int(step) in steps


def keeps_none(keep) -> bool:
    """True for the policy that keeps no checkpoint once training has ended (its manifest has no rows)."""
    return isinstance(keep, str) and keep == "none"


def describe_keep(keep) -> str:
    return keep if isinstance(keep, str) else f"steps {sorted(int(s) for s in keep)} + final"


def write_weights(full: str | os.PathLike, path: str | os.PathLike, drop: Iterable[str] = ()) -> Path:
    """``path`` <- the checkpoint ``full`` without its resume-only state (atomic); ``drop``: state_dict
    entries only a resume reads (a module's ``resume_only_state``, e.g. running loss curves)."""
    ckpt, _ = decode(full)
    out = {k: v for k, v in ckpt.items() if k not in RESUME_ONLY}
    drop = set(drop)
    if drop:
        out["state_dict"] = {k: v for k, v in out["state_dict"].items() if k not in drop}
    return save_torch(out, path)


def resume_step(ckpt_dir: str | os.PathLike) -> int | None:
    """The breakpoint ``resume.ckpt`` holds (None when there is none: the run starts fresh)."""
    path = Path(ckpt_dir) / RESUME
    if not path.exists():
        return None
    return int(load_checkpoint(path).get("learndyn", {}).get("step", -1))


def write_manifest(
    ckpt_dir: str | os.PathLike, manifest_path: str | os.PathLike, prov: dict, run: dict, *, empty_ok: bool = False
) -> pd.DataFrame:
    """Hash every step file (each must carry ``run``'s identity) and write the manifest last
    (``empty_ok``: the policy keeps none, :func:`keeps_none`)."""

    def row(ckpt: dict) -> dict:
        meta = ckpt.get("learndyn", {})
        return {
            "step": int(meta.get("step", -1)),
            "loss": float(meta.get("loss", float("nan"))),
            "final": bool(meta.get("final", False)),
        }

    return _write_manifest(checkpoint_files(ckpt_dir), manifest_path, run, prov, row, empty_ok=empty_ok)
