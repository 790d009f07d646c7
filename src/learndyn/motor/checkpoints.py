"""Period-boundary checkpoints of motor runs: ``ckpt/period=<k>.npz`` and the manifest.

A checkpoint holds the :meth:`MotorSim.state_dict` of every batch of a run (keys
``g<i>.<key>``; readout weights, RLS matrices, filters, counters, traces) plus the run identity
(:func:`learndyn.checkpoints.run_identity` of the simulation's fingerprint and seeds, at the
simulation step), written and read by the store core (:mod:`learndyn.checkpoints`: atomic
``np.savez``, ``allow_pickle=False``, nothing on disk runs as code).  A resume skips, logging why and
deleting them, the newest files that are unreadable (killed mid-write) or another run's (another
config, or copied in); the manifest ``checkpoints.parquet`` (step = simulation steps done, file,
sha256, loss = mean display distance D over members, final) is written last.

Retention (``motor.checkpoint.keep``): ``all`` keeps every period's file, ``last`` only the newest;
``none`` keeps the newest while the run goes on (a resume needs it) and deletes it once the manifest
(then without rows) is written: no analysis reads motor checkpoints, only results.parquet and
traces.parquet, so a finished run needs none (a rerun of a finished run simulates from period 0).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from learndyn import checkpoints as store
from learndyn.checkpoints import CheckpointError

_FILE = re.compile(r"^period=(\d+)\.npz$")
MotorCheckpointError = CheckpointError  # one error for every checkpoint of the DAG


def checkpoint_files(ckpt_dir: Path) -> dict[int, Path]:
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return {}
    found = {int(m.group(1)): p for p in ckpt_dir.iterdir() if (m := _FILE.match(p.name))}
    return dict(sorted(found.items()))


def save(
    ckpt_dir: Path,
    period: int,
    states: list[dict],
    *,
    run: dict,
    step: int,
    loss: float,
    final: bool,
    keep: str = "all",
) -> Path:
    """Write period=<k>.npz atomically; ``keep`` 'last' or 'none' then removes older periods' files."""
    ckpt_dir = Path(ckpt_dir)
    arrays = {
        "meta.n_groups": np.array(len(states)),
        "meta.period": np.array(period),
        "meta.step": np.array(step),
        "meta.loss": np.array(loss),
        "meta.final": np.array(final),
    }
    for i, sd in enumerate(states):
        for k, v in sd.items():
            arrays[f"g{i}.{k}"] = np.asarray(v)
    path = store.save_npz(arrays, ckpt_dir / f"period={period}.npz", store.identity(run, step))
    if keep in ("last", "none"):
        for k, p in checkpoint_files(ckpt_dir).items():
            if k < period:
                p.unlink()
    return path


def _split(path: Path, data: dict) -> tuple[dict, list[dict]]:
    meta = {k.split(".", 1)[1]: v for k, v in data.items() if k.startswith("meta.")}
    if "n_groups" not in meta:
        raise CheckpointError(f"{path}: not a motor checkpoint (no meta.n_groups)")
    states = [{} for _ in range(int(meta["n_groups"]))]
    for k, v in data.items():
        if not k.startswith("meta."):
            g, key = k.split(".", 1)
            states[int(g[1:])][key] = v
    return meta, states


def load(path: Path, run: dict | None = None) -> tuple[dict, list[dict]]:
    """(meta, per-batch state dicts) of a checkpoint; with ``run``, refuses another run's file."""
    data, found = store.decode(path)
    meta, states = _split(Path(path), data)
    if run is not None:
        store.check_identity(Path(path), found, store.identity(run, meta["step"]))
    return meta, states


def latest(ckpt_dir: Path, run: dict, log=print):
    """(meta, states) of the newest checkpoint of ``run``, or None.  Newer files that are unreadable
    (killed mid-write) or another run's (config changed, or copied in) are skipped, logging why, and
    deleted, so the manifest can never list them."""
    files = checkpoint_files(ckpt_dir)
    for period in sorted(files, reverse=True):
        try:
            return load(files[period], run)
        except CheckpointError as err:
            log(f"skipping {err}")
            files[period].unlink()
    return None


def write_manifest(ckpt_dir: Path, manifest_path: Path, prov: dict, run: dict, keep: str = "all") -> pd.DataFrame:
    """Hash every checkpoint of the run kept under ``keep`` (each must carry ``run``'s identity) and
    write the manifest (the job's declared output) last; ``keep='none'`` then deletes the files, which
    the manifest does not list."""

    def row(data: dict) -> dict:
        return {"step": int(data["meta.step"]), "loss": float(data["meta.loss"]), "final": bool(data["meta.final"])}

    files = checkpoint_files(ckpt_dir)
    none = keep == "none"
    prov = {**prov, store.KEEP_KEY: keep}
    df = store.write_manifest({} if none else files, manifest_path, run, prov, row, empty_ok=none)
    if none:  # after the manifest: a kill before it leaves the resume state in place
        for p in files.values():
            p.unlink()
    return df
