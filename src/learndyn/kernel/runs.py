"""Runs of the multitask experiment: names, seeds, data (pseudo_kernel.md, 'Data, scoring, concurrent multitasking',
'Training protocol', 'Configurations and runtime').

A run is one (schedule, replicate): it trains the paired Std and Large nets (one draw, Large =
10 × Std) on the same data, single-task phase then multitask fine-tuning.  In the runs of the
init-scale sweep's schedule (``kernel.sweep``) the same draw is also trained at the other sweep
scales (one more dimension of the run: its nets), all at the sweep's matched lr.  Its name is
``<schedule>-r<replicate>`` (the Snakemake wildcard).  Seeds are explicit per (schedule,
replicate) and shared by Std and Large (the authors set none).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from learndyn.io import Table
from learndyn.kernel.tables import INITS, SETS  # noqa: F401 (constants: tables.py)

if TYPE_CHECKING:
    from learndyn.kernel import multitask as mt

SCHEDULE_IDS = {"LR": 0, "ET": 1}  # fixed ids: adding a schedule never changes another's seeds
CURRICULUM = {1: "Single12All", 2: "Multi12All"}  # phase -> training curriculum
RUN_RE = re.compile(r"^(LR|ET)-r([0-9]+)$")

DATASETS = Table(
    "kernel.datasets",
    (
        ("run", pa.string()),
        ("curriculum", pa.string()),
        ("split", pa.string()),
        ("example", pa.int64()),
        ("x", pa.list_(pa.float32())),
        ("y", pa.list_(pa.float32())),
        ("n_tasks", pa.int64()),
    ),
)


def run_name(schedule: str, replicate: int) -> str:
    return f"{schedule}-r{replicate}"


def parse_run(run: str) -> tuple[str, int]:
    m = RUN_RE.match(run)
    if not m:
        raise ValueError(f"run {run!r}: expected <LR|ET>-r<replicate>")
    return m.group(1), int(m.group(2))


def run_names(cfg: dict) -> list[str]:
    """Every run of the kernel config section, schedules in config order."""
    return [run_name(s, r) for s, sc in cfg["schedules"].items() for r in range(sc["replicates"])]


def run_seed(base: int, run: str) -> int:
    schedule, rep = parse_run(run)
    return int(base) + 1000 * SCHEDULE_IDS[schedule] + rep


def init_label(w: float) -> str:
    """Name of a sweep net by its init scale: U[-0.05, 0.05] -> "w0.05"."""
    return f"w{w:g}"


def run_inits(cfg: dict, schedule: str) -> list[dict]:
    """The nets a run of `schedule` trains, in training order: Std, Large, then the sweep's others.

    Each: init (label), multiple (of w_std), lr, sweep (whether it is a point of the init-scale
    sweep).  A sweep scale equal to Std's or Large's, at the same lr, reuses that net rather than
    training a copy (ET is lr-matched, so its Std and Large are two of the sweep's points).
    """
    net, sc = cfg["net"], cfg["schedules"][schedule]
    inits = [
        {"init": "std", "multiple": 1.0, "lr": float(sc["lr_std"]), "sweep": False},
        {"init": "large", "multiple": float(net["large_scale"]), "lr": float(sc["lr_large"]), "sweep": False},
    ]
    sw = cfg.get("sweep")
    if sw and sw["schedule"] == schedule:
        for m in sw["w_multiples"]:
            same = [i for i in inits if i["multiple"] == float(m) and i["lr"] == float(sw["lr"])]
            if same:
                same[0]["sweep"] = True
            else:
                inits.append(
                    {"init": init_label(net["w_std"] * m), "multiple": float(m), "lr": float(sw["lr"]), "sweep": True}
                )
    return inits


def run_config(cfg: dict, run: str) -> dict:
    """Everything one training job reads (so a change elsewhere does not rerun it)."""
    schedule, rep = parse_run(run)
    return {
        "run": run,
        "schedule": schedule,
        "replicate": rep,
        "seed": run_seed(cfg["seed"], run),
        "net": cfg["net"],
        "train": cfg["schedules"][schedule],
        "inits": run_inits(cfg, schedule),
    }


def sample_run_data(seed: int, n_train: int, n_test: int) -> dict[str, mt.TaskData]:
    """Single12All and Multi12All train/test sets of one run, each curriculum from its own stream."""
    from learndyn.kernel import multitask as mt  # torch: here, not at import (the rules import this module)

    out = {}
    for phase, curriculum in CURRICULUM.items():
        rng = np.random.default_rng([seed, phase])
        out[f"{curriculum}/train"] = mt.sample_curriculum(curriculum, n_train, rng)
        out[f"{curriculum}/test"] = mt.sample_curriculum(curriculum, n_test, rng)
    return out


def datasets_frame(cfg: dict, run: str) -> pd.DataFrame:
    """The four data sets of one run (cfg: the kernel section's seed and data)."""
    frames = []
    data = sample_run_data(run_seed(cfg["seed"], run), cfg["data"]["n_train"], cfg["data"]["n_test"])
    for key, d in data.items():
        curriculum, split = key.split("/")
        frames.append(
            pd.DataFrame(
                {
                    "run": run,
                    "curriculum": curriculum,
                    "split": split,
                    "example": np.arange(len(d)),
                    "x": list(d.x.numpy()),
                    "y": list(d.y.numpy()),
                    "n_tasks": d.n_tasks.astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def task_data(df: pd.DataFrame, run: str, curriculum: str, split: str) -> mt.TaskData:
    """Rebuild a TaskData from the datasets table (features and task mask are read off x)."""
    import torch

    from learndyn.kernel import multitask as mt

    sel = df[(df.run == run) & (df.curriculum == curriculum) & (df.split == split)].sort_values("example")
    if sel.empty:
        raise KeyError(f"datasets table has no {curriculum}/{split} data for run {run!r}")
    x = torch.from_numpy(np.stack(sel["x"].to_numpy()).astype(np.float32))
    y = torch.from_numpy(np.stack(sel["y"].to_numpy()).astype(np.float32))
    features = x[:, : mt.N_STIM].numpy().reshape(-1, mt.N_DIMS, mt.N_FEATURES).argmax(2)
    tasks = x[:, mt.N_STIM :].numpy() > 0.5
    return mt.TaskData(x, y, features, tasks, tasks.sum(1), curriculum)


def run_sets(df: pd.DataFrame, run: str) -> dict[str, mt.TaskData]:
    """The four data sets of a run keyed as in SETS."""
    return {
        name: task_data(df, run, CURRICULUM[1 if name.startswith("single") else 2], name.split("_")[1]) for name in SETS
    }


def config_problems(cfg: dict) -> list[str]:
    """Cross-key checks of the kernel section the schema cannot express, each naming its key."""
    problems = []
    for name, sc in cfg["schedules"].items():
        for key in ("snapshot_every", "loss_every"):
            if sc["steps"] % sc[key]:
                problems.append(f"kernel.schedules.{name}.{key}: {sc[key]} does not divide steps={sc['steps']}")
    ari = cfg["ari"]
    if ari["schedule"] not in cfg["schedules"]:
        problems.append(f"kernel.ari.schedule: {ari['schedule']!r} is not among kernel.schedules")
    elif ari["replicates"] > cfg["schedules"][ari["schedule"]]["replicates"]:
        problems.append(f"kernel.ari.replicates: {ari['replicates']} exceeds the {ari['schedule']} replicates")
    sw = cfg.get("sweep")
    if sw:
        if sw["schedule"] not in cfg["schedules"]:
            problems.append(f"kernel.sweep.schedule: {sw['schedule']!r} is not among kernel.schedules")
        labels = [init_label(cfg["net"]["w_std"] * m) for m in sw["w_multiples"]]
        if len(set(labels)) != len(labels):
            problems.append(f"kernel.sweep.w_multiples: {sw['w_multiples']} gives repeated init scales {labels}")
    return problems
