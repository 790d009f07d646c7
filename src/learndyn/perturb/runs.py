"""Config -> training runs, and the per-run sub-configs the rules hand to the jobs.

A run is ``{dataset}/{model}/s{seed}`` (dataset = a key of ``perturb.datasets``).  Dynamics runs
(``perturb.dynamics``) live in ``results/perturb/runs/<run>/`` and are attacked and analysed;
contamination runs (``perturb.contamination``) live in ``results/perturb/contamination/runs/<run>/``
and only their test accuracy is used.  No torch here: the Snakefile imports this module.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

RUNS_ROOT = "results/perturb/runs"
CONTAM_ROOT = "results/perturb/contamination/runs"
N_CLASSES = 10


def run_name(dataset: str, model: str, seed: int) -> str:
    return f"{dataset}/{model}/s{int(seed)}"


def parse_run(run: str) -> tuple[str, str, int]:
    dataset, model, s = run.split("/")
    if not s.startswith("s") or not s[1:].isdigit():
        raise ValueError(f"run {run!r}: expected <dataset>/<model>/s<seed>")
    return dataset, model, int(s[1:])


def run_names(cfg: dict) -> list[str]:
    """The dynamics runs ("{dataset}/{model}/s{seed}") of the ``perturb`` config section."""
    groups = cfg["dynamics"] if isinstance(cfg["dynamics"], list) else [cfg["dynamics"]]
    names = [run_name(ds, m, s) for d in groups for ds in d["datasets"] for m in d["models"] for s in d["seeds"]]
    return list(dict.fromkeys(names))


def contaminated_of(cfg: dict, clean: str) -> list[str]:
    """The contaminated dataset keys paired with ``clean`` (a key or a list of keys in the config)."""
    dirty = cfg["contamination"]["pairs"][clean]
    return [dirty] if isinstance(dirty, str) else list(dirty)


def contamination_runs(cfg: dict) -> list[str]:
    """Clean and contaminated runs of the contamination experiment (same models, seeds, schedule)."""
    c = cfg["contamination"]
    keys = [k for clean in c["pairs"] for k in (clean, *contaminated_of(cfg, clean))]
    return [run_name(ds, m, s) for ds in keys for m in c["models"] for s in c["seeds"]]


def contamination_job_config(cfg: dict, clean: str, model: str) -> dict:
    """What one contamination job reads: the datasets' specs, its model, the seeds, the schedule."""
    c = cfg["contamination"]
    dirty = contaminated_of(cfg, clean)
    train = contamination_train(cfg)
    return {
        "clean": clean,
        "contaminated": dirty,
        "data": {k: cfg["datasets"][k] for k in (clean, *dirty)},
        "model": model,
        "seeds": list(c["seeds"]),
        "lr": model_lr(train, model),
        "train": model_train(train, model),
    }


def contamination_train(cfg: dict) -> dict:
    """perturb.train with perturb.contamination.train's keys on top."""
    return {**cfg["train"], **cfg["contamination"].get("train", {})}


def contamination_table_config(cfg: dict) -> dict:
    """clean -> contaminated keys, and each contaminated key's (eps, p) for the table."""
    pairs = {clean: contaminated_of(cfg, clean) for clean in cfg["contamination"]["pairs"]}
    return {
        "pairs": pairs,
        "patterns": {k: cfg["datasets"][k].get("contamination", {}) for ks in pairs.values() for k in ks},
    }


def train_job_config(cfg: dict, run: str, *, contamination: bool = False) -> dict:
    """Everything one training job reads (so changing another run's keys does not rerun it)."""
    dataset, model, seed = parse_run(run)
    train = contamination_train(cfg) if contamination else dict(cfg["train"])
    return {
        "dataset": dataset,
        "data": cfg["datasets"][dataset],
        "model": model,
        "seed": seed,
        "lr": model_lr(train, model),
        "train": model_train(train, model),
    }


def model_lr(train: dict, model: str) -> float:
    return float(train["lr"].get(model, train["lr"]["default"]))


def model_train(train: dict, model: str) -> dict:
    """The train keys of one model: the shared ones with its ``overrides`` applied (lr apart)."""
    merged = {
        **{k: v for k, v in train.items() if k not in ("lr", "overrides")},
        **train.get("overrides", {}).get(model, {}),
    }
    return merged


def config_problems(cfg: dict) -> list[str]:
    """Cross-key checks of the perturb section (the schema checks each key alone)."""
    problems = []
    known = set(cfg.get("datasets", {}))
    dyn = cfg.get("dynamics", {})
    for d in dyn if isinstance(dyn, list) else [dyn]:
        for ds in d.get("datasets", []):
            if ds not in known:
                problems.append(f"perturb.dynamics.datasets: {ds!r} is not a key of perturb.datasets")
    allowed = {
        "batch_size",
        "epochs",
        "momentum",
        "weight_decay",
        "lr_decay",
        "lr_decay_every",
        "lr_period",
        "pad_mode",
        "eval_images",
        "precision",
        "checkpoints",
    }
    for model, over in cfg.get("train", {}).get("overrides", {}).items():
        bad = sorted(set(over) - allowed)
        if bad:
            problems.append(f"perturb.train.overrides.{model}: unknown keys {bad} (allowed: {sorted(allowed)})")
    for clean in cfg.get("contamination", {}).get("pairs", {}):
        dirty = contaminated_of(cfg, clean)
        for key in (clean, *dirty):
            if key not in known:
                problems.append(f"perturb.contamination.pairs: {key!r} is not a key of perturb.datasets")
        for key in dirty:
            if key in known and "contamination" not in cfg["datasets"][key]:
                problems.append(f"perturb.datasets.{key}: paired as contaminated but has no 'contamination' key")
        if clean in known and "contamination" in cfg["datasets"][clean]:
            problems.append(f"perturb.datasets.{clean}: paired as clean but has a 'contamination' key")
    for key, spec in cfg.get("datasets", {}).items():
        if spec["name"] in ("mnist", "cifar10") and "root" not in spec:
            problems.append(f"perturb.datasets.{key}.root: {spec['name']} needs a local folder (nothing is downloaded)")
        if spec["name"] == "synthetic" and "all" in (spec["train_per_class"], spec["test_per_class"]):
            problems.append(f"perturb.datasets.{key}: the synthetic set needs numbers of images per class, not 'all'")
    atk, bp = cfg.get("attack", {}), cfg.get("breakpoints", {})
    names = set(atk.get("attacks", {}))
    for i, name in enumerate(bp.get("attacks", [])):
        if name not in names:
            problems.append(
                f"perturb.breakpoints.attacks[{i}] = {name!r}: not a key of perturb.attack.attacks {sorted(names)}"
            )
    if atk.get("boundary_images", 0) > atk.get("n_images", 0):
        problems.append(
            f"perturb.attack.boundary_images = {atk['boundary_images']}: more than the "
            f"perturb.attack.n_images = {atk.get('n_images')} attacked images"
        )
    if bp.get("n_images", 0) > atk.get("n_images", 0):
        problems.append(
            f"perturb.breakpoints.n_images = {bp['n_images']}: more than the "
            f"perturb.attack.n_images = {atk.get('n_images')} attacked images"
        )
    if "figure_run" in atk and "dynamics" in cfg and atk["figure_run"] not in run_names(cfg):
        problems.append(
            f"perturb.attack.figure_run = {atk['figure_run']!r}: not a dynamics run "
            f"(<dataset>/<model>/s<seed> of perturb.dynamics)"
        )
    return problems


def iters_per_epoch(n_train: int, batch_size: int) -> int:
    return math.ceil(n_train / batch_size)  # last batch smaller (DataLoader, drop_last=False)


def checkpoint_schedule(ckpt: dict, n_train: int, batch_size: int, epochs: int) -> list[int]:
    """Global steps (after that many updates) at which the weights are saved.

    Always step 0 (the untrained model) and every epoch end; epoch 0 dense (``epoch0``: every
    iteration, n log-spaced steps, or a list); ``per_epoch`` equal fractions of later epochs;
    ``grid`` adds the authors' CIFAR grid (after updates with batch index = 0 mod grid).
    """
    ipe = iters_per_epoch(n_train, batch_size)
    total = ipe * epochs
    steps = {0, *(ipe * e for e in range(1, epochs + 1))}
    e0 = ckpt.get("epoch0", "every")
    if e0 == "every":
        steps.update(range(1, ipe + 1))
    elif isinstance(e0, int):
        steps.update(np.unique(np.rint(np.geomspace(1, ipe, min(e0, ipe)))).astype(int).tolist())
    else:
        steps.update(int(s) for s in e0 if s <= ipe)
    per = int(ckpt.get("per_epoch", 1))
    for e in range(1, epochs):
        steps.update(e * ipe + round(ipe * j / per) for j in range(1, per + 1))
    grid = ckpt.get("grid")
    if grid:
        for e in range(min(epochs, int(ckpt.get("grid_epochs", epochs)))):
            steps.update(e * ipe + b + 1 for b in range(0, ipe, int(grid)))
    return sorted(s for s in steps if 0 <= s <= total)


def lr_factor(epoch: int, decay: float, every: int, period: int = 0) -> float:
    """decay^floor(e/every) (authors' linear family), or decay^floor((e mod P)/every) (ResNet, P = 20)."""
    e = epoch % period if period else epoch
    return float(decay) ** (e // every)


def checkpoint_steps(run_dir: str | os.PathLike) -> list[int]:
    """Steps with a checkpoint in a finished run (from its manifest, else from the files)."""
    run_dir = Path(run_dir)
    manifest = run_dir / "checkpoints.parquet"
    if manifest.exists():
        from learndyn.io import read_table
        from learndyn.train import MANIFEST

        return sorted(int(s) for s in read_table(manifest, MANIFEST)["step"])
    from learndyn.train import checkpoint_files

    steps = sorted(checkpoint_files(run_dir / "ckpt"))
    if not steps:
        raise FileNotFoundError(f"{run_dir}: no checkpoints.parquet and no ckpt/step=<n>.ckpt files (train it first)")
    return steps
