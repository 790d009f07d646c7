"""Period-boundary checkpoints of motor runs: ``ckpt/period=<k>.npz`` and the manifest.

A checkpoint holds the :meth:`MotorSim.state_dict` of every batch of a run (keys
``g<i>.<key>``; readout weights, RLS matrices, filters, counters, traces) plus the run's
fingerprint, written atomically with ``np.savez`` and read back with ``allow_pickle=False``
(nothing on disk runs as code). Checkpoints of another fingerprint are discarded, not resumed.
The manifest ``checkpoints.parquet`` (:data:`learndyn.train.store.MANIFEST`: step = simulation
steps done, file, sha256, loss = mean display distance D over members, final) is written last.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from learndyn.io import atomic_write, clear_folder, write_table
from learndyn.train.store import MANIFEST, sha256

_FILE = re.compile(r"^period=(\d+)\.npz$")


class MotorCheckpointError(RuntimeError):
    """A checkpoint is unreadable or belongs to another run configuration."""


def checkpoint_files(ckpt_dir: Path) -> dict[int, Path]:
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return {}
    found = {int(m.group(1)): p for p in ckpt_dir.iterdir() if (m := _FILE.match(p.name))}
    return dict(sorted(found.items()))


def save(ckpt_dir: Path, period: int, states: list[dict], *, fingerprint: str, step: int,
         loss: float, final: bool, keep: str = "all") -> Path:
    """Write period=<k>.npz atomically; ``keep='last'`` then removes older periods' files."""
    ckpt_dir = Path(ckpt_dir)
    arrays = {"meta.fingerprint": np.array(fingerprint), "meta.n_groups": np.array(len(states)),
              "meta.period": np.array(period), "meta.step": np.array(step),
              "meta.loss": np.array(loss), "meta.final": np.array(final)}
    for i, sd in enumerate(states):
        for k, v in sd.items():
            arrays[f"g{i}.{k}"] = np.asarray(v)
    path = ckpt_dir / f"period={period}.npz"
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    if keep == "last":
        for k, p in checkpoint_files(ckpt_dir).items():
            if k < period:
                p.unlink()
    return path


def _scalar(a: np.ndarray):
    if a.ndim:
        return a
    return {"i": int, "u": int, "b": bool, "f": float, "U": str}.get(a.dtype.kind, lambda x: x)(a[()])


def load(path: Path, fingerprint: str | None = None) -> tuple[dict, list[dict]]:
    """(meta, per-batch state dicts) of a checkpoint; refuses another fingerprint."""
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: _scalar(f[k]) for k in f.files}
    except Exception as err:                      # truncated zip, foreign file, pickled object
        raise MotorCheckpointError(f"{path}: unreadable motor checkpoint: {type(err).__name__}: {err}") from err
    meta = {k.split(".", 1)[1]: v for k, v in data.items() if k.startswith("meta.")}
    if fingerprint is not None and meta.get("fingerprint") != fingerprint:
        raise MotorCheckpointError(f"{path}: checkpoint of another run configuration")
    states = [{} for _ in range(int(meta["n_groups"]))]
    for k, v in data.items():
        if not k.startswith("meta."):
            g, key = k.split(".", 1)
            states[int(g[1:])][key] = v
    return meta, states


def read_meta(path: Path) -> dict:
    """Only the meta.* entries (npz members load lazily: the RLS matrices are not read)."""
    with np.load(path, allow_pickle=False) as f:
        return {k.split(".", 1)[1]: _scalar(f[k]) for k in f.files if k.startswith("meta.")}


def latest(ckpt_dir: Path, fingerprint: str, log=print):
    """(meta, states) of the newest usable checkpoint, or None. A fingerprint mismatch (another
    config) wipes the folder; an unreadable newest file (killed mid-write) falls back to older ones."""
    files = checkpoint_files(ckpt_dir)
    for period in sorted(files, reverse=True):
        try:
            return load(files[period], fingerprint)
        except MotorCheckpointError as err:
            if "another run configuration" in str(err):
                log(f"{ckpt_dir}: checkpoints belong to another config; starting fresh")
                clear_folder(ckpt_dir)
                return None
            log(f"skipping {err}")
    return None


def write_manifest(ckpt_dir: Path, manifest_path: Path, prov: dict) -> pd.DataFrame:
    """Hash every checkpoint of the run and write the manifest (the job's declared output) last."""
    manifest_path = Path(manifest_path)
    rows = []
    for path in checkpoint_files(ckpt_dir).values():
        meta = read_meta(path)
        rows.append({"step": int(meta["step"]), "file": os.path.relpath(path, manifest_path.parent),
                     "sha256": sha256(path), "loss": float(meta["loss"]), "final": bool(meta["final"])})
    if not rows:
        raise MotorCheckpointError(f"{ckpt_dir}: no checkpoints to list in the manifest")
    df = pd.DataFrame(rows)
    write_table(df, manifest_path, MANIFEST, prov)
    return df
