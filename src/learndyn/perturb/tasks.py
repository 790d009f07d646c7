"""Rule entry points of the perturb study's core (each takes a :class:`Job`).

prepare_dataset -> train_run (dynamics runs: dense early checkpoints + history) -> collect_histories;
train_contamination (clean vs contaminated, every seed, one job per dataset x model) ->
contamination_table.  Attacks, spectra and breakpoints live in attack_tasks / spectra_tasks.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from learndyn.io import Table, read_tables, write_table
from learndyn.job import Job
from learndyn.perturb.data import load_dataset, read_images, regenerable, write_images
from learndyn.perturb.runs import CONTAM_ROOT, checkpoint_schedule, run_name

HISTORY = Table(
    "perturb.history",
    (
        ("run", pa.string()),
        ("dataset", pa.string()),
        ("model", pa.string()),
        ("seed", pa.int64()),
        ("condition", pa.string()),
        ("step", pa.int64()),
        ("epoch", pa.int64()),
        ("batch", pa.int64()),
        ("epoch_float", pa.float64()),
        ("lr", pa.float64()),
        ("train_loss", pa.float64()),
        ("eval_loss", pa.float64()),
        ("eval_acc", pa.float64()),
        ("test_acc", pa.float64()),
        ("checkpoint", pa.bool_()),
    ),
)
CONTAM_RUNS = Table(
    "perturb.contamination_runs",
    (
        ("dataset", pa.string()),
        ("contaminated_dataset", pa.string()),
        ("model", pa.string()),
        ("seed", pa.int64()),
        ("condition", pa.string()),
        ("final_test_acc", pa.float64()),
        ("best_test_acc", pa.float64()),
        ("best_epoch", pa.int64()),
    ),
)
CONTAMINATION = Table(
    "perturb.contamination",
    (
        ("dataset", pa.string()),
        ("contaminated_dataset", pa.string()),
        ("eps", pa.float64()),
        ("p", pa.float64()),
        ("model", pa.string()),
        ("family", pa.string()),
        ("seeds", pa.int64()),
        ("clean_mean", pa.float64()),
        ("clean_sd", pa.float64()),
        ("contaminated_mean", pa.float64()),
        ("contaminated_sd", pa.float64()),
        ("gain_mean", pa.float64()),
        ("gain_sd", pa.float64()),
    ),
)


# Retention policies of the two training rules (what their readers load; resume state is separate):
# attack_checkpoints, analyse_spectra and analyse_breakpoints read every checkpoint of a dynamics run;
# the contamination table reads only the history (final test accuracy), so a contamination run keeps
# no checkpoint once its manifest is written (72 default runs: 1.4 GB if all were kept, 112 MB as finals).
KEEP_DYNAMICS = "all"
KEEP_CONTAMINATION = "none"


def prepare_dataset(job: Job) -> None:
    cfg = job.cfg
    data = load_dataset(cfg)
    seed = cfg.get("seed")
    extra = (
        {
            "contamination": {
                **cfg["contamination"],
                "dft_norm": "backward (unnormalised forward DFT)",
                "clipping": "none",
            }
        }
        if "contamination" in cfg
        else {}
    )
    # the md5 of every input file, so a table says which copy of the data it was built from
    write_images(
        data,
        job.output("images"),
        job.provenance(seed=seed, sources=data["sources"], **extra),
        recipe=dict(cfg) if regenerable(cfg) else None,
    )  # generated data: remade on read
    x = data["x_train"]
    job.log(f"{cfg['key']}: train {x.shape}, test {data['x_test'].shape}, range [{x.min():.3f}, {x.max():.3f}]")


def _digest(data: dict) -> str:
    h = hashlib.sha256()
    for k in ("x_train", "y_train", "x_test", "y_test"):
        h.update(np.ascontiguousarray(data[k]).tobytes())
    return h.hexdigest()[:16]


def family(model: str) -> str:
    """fc / conv / lc / other, and linear or relu: the pairs the contamination claim compares."""
    from learndyn.perturb.models import is_linear, parse_model_id

    base = parse_model_id(model)["base"]
    kind = (
        "fc"
        if base in ("linear", "fc_relu") or base.startswith("fc_")
        else "conv"
        if base.startswith(("conv_", "simple"))
        else "lc"
        if base.startswith("lc_")
        else base
    )
    return f"{kind}_{'lin' if is_linear(model) else 'relu'}"


def fit_run(
    job: Job,
    data: dict,
    *,
    run_dir: Path,
    dataset: str,
    model: str,
    seed: int,
    lr: float,
    train: dict,
    accelerator: str = "cpu",
    condition: str = "clean",
    write_history=None,
    extra_callbacks=(),
    keep="all",
) -> pd.DataFrame:
    """Train one run (resuming if killed) and return its history rows.

    ``write_history(frame)`` writes the job's history output before the manifest (written last);
    ``keep`` is the retention policy (:func:`learndyn.train.store.keep_policy`)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS when on a GPU
    from learndyn.perturb.models import build_model
    from learndyn.perturb.module import PerturbClassifier
    from learndyn.train.factory import fit_with_breakpoints

    shape = tuple(data["x_train"].shape[1:])
    n_train = len(data["y_train"])
    schedule = checkpoint_schedule(train["checkpoints"], n_train, train["batch_size"], train["epochs"])
    net = build_model(model, shape, pad_mode=train["pad_mode"], seed=seed)
    module = PerturbClassifier(
        net,
        model_id=model,
        in_shape=shape,
        data=data,
        lr=lr,
        momentum=train["momentum"],
        weight_decay=train["weight_decay"],
        batch_size=train["batch_size"],
        epochs=train["epochs"],
        lr_decay=train["lr_decay"],
        lr_decay_every=train["lr_decay_every"],
        lr_period=train.get("lr_period", 0),
        schedule=schedule,
        seed=seed,
        eval_images=train["eval_images"],
        pad_mode=train["pad_mode"],
    )
    job.log(
        f"{run_name(dataset, model, seed)} [{condition}]: {n_train} images, {module.ipe} it/epoch x "
        f"{train['epochs']}, {len(schedule)} checkpoints, lr {lr}"
    )
    # the parameter names and shapes too: checkpoints of an older architecture are discarded, not resumed
    layout = {k: list(v.shape) for k, v in module.state_dict().items()}
    fingerprint = {"model": model, "seed": seed, "lr": lr, "train": train, "data": _digest(data), "layout": layout}
    out = {}

    def finish():
        out["history"] = _history_frame(module.history, dataset, model, seed, condition)
        if write_history is not None:
            write_history(out["history"])

    fit_with_breakpoints(
        module,
        module.train_dataloader(),
        run_dir=run_dir,
        schedule=schedule,
        seed=seed,
        fingerprint=fingerprint,
        provenance=job.provenance(seed=seed),
        threads=job.threads,
        max_steps=module.max_steps,
        accelerator=accelerator,
        precision=train.get("precision", "32-true"),
        log=job.log,
        before_manifest=finish,
        extra_callbacks=extra_callbacks,
        keep=keep,
    )
    hist = out["history"]
    ends = hist.dropna(subset=["test_acc"])
    best = ends.loc[ends["test_acc"].idxmax()]
    job.log(
        f"  test acc: step 0 {ends['test_acc'].iloc[0]:.3f}, final {ends['test_acc'].iloc[-1]:.3f}, "
        f"best {best['test_acc']:.3f} at epoch {int(best['epoch'])} (selected on the test set, as the authors)"
    )
    return hist


def _history_frame(history: list[dict], dataset: str, model: str, seed: int, condition: str) -> pd.DataFrame:
    hist = pd.DataFrame(history)
    hist.insert(0, "condition", condition)
    for col, val in (("seed", seed), ("model", model), ("dataset", dataset), ("run", run_name(dataset, model, seed))):
        hist.insert(0, col, val)
    return hist[[c for c, _ in HISTORY.columns]]


def _training_data(path) -> dict:
    d = read_images(path)
    return {k: d[k] for k in ("x_train", "y_train", "x_test", "y_test")}


def train_run(job: Job) -> None:
    """One dynamics run; the history is written before the manifest (the manifest is written last)."""
    cfg = job.cfg
    data = _training_data(job.inputs["images"])
    run_dir = job.output("manifest").parent
    condition = "contaminated" if "contamination" in cfg["data"] else "clean"
    fit_run(
        job,
        data,
        run_dir=run_dir,
        dataset=cfg["dataset"],
        model=cfg["model"],
        seed=cfg["seed"],
        lr=cfg["lr"],
        train=cfg["train"],
        accelerator=cfg.get("accelerator", "cpu"),
        condition=condition,
        write_history=lambda h: write_table(h, job.output("history"), HISTORY, job.provenance(seed=cfg["seed"])),
        keep=KEEP_DYNAMICS,
    )


def train_contamination(job: Job) -> None:
    """Clean and contaminated runs of one model on one clean dataset and its variants, every seed (adversarial.md,
    'Fourier-feature contamination experiment (C4)')."""
    cfg = job.cfg
    dirty = job.inputs["contaminated"]
    dirty = [dirty] if isinstance(dirty, (str, os.PathLike)) else list(dirty)
    parts = []
    for condition, key, path in (
        ("clean", cfg["clean"], job.inputs["clean"]),
        *(("contaminated", k, p) for k, p in zip(cfg["contaminated"], dirty)),
    ):
        data = _training_data(path)
        for seed in cfg["seeds"]:
            run_dir = Path(CONTAM_ROOT) / run_name(key, cfg["model"], seed)
            parts.append(
                fit_run(
                    job,
                    data,
                    run_dir=run_dir,
                    dataset=key,
                    model=cfg["model"],
                    seed=seed,
                    lr=cfg["lr"],
                    train=cfg["train"],
                    accelerator=cfg.get("accelerator", "cpu"),
                    condition=condition,
                    keep=KEEP_CONTAMINATION,
                )
            )
    write_table(pd.concat(parts, ignore_index=True), job.output("history"), HISTORY, job.provenance())


def collect_histories(job: Job) -> None:
    df = read_tables(job.inputs["histories"], HISTORY)
    write_table(df, job.output("table"), HISTORY, job.provenance())
    job.log(f"{df['run'].nunique()} runs, {len(df)} rows")


def run_summaries(history: pd.DataFrame) -> pd.DataFrame:
    """Per run: final and best test accuracy (epoch ends), best epoch (selected on the test set)."""
    rows = []
    for run, h in history.dropna(subset=["test_acc"]).groupby("run", sort=False):
        ends = h[h["step"] > 0]
        best = ends.loc[ends["test_acc"].idxmax()]
        rows.append(
            {
                "run": run,
                "dataset": h["dataset"].iloc[0],
                "model": h["model"].iloc[0],
                "seed": int(h["seed"].iloc[0]),
                "condition": h["condition"].iloc[0],
                "final_test_acc": float(ends["test_acc"].iloc[-1]),
                "best_test_acc": float(best["test_acc"]),
                "best_epoch": int(best["epoch"]),
            }
        )
    return pd.DataFrame(rows)


def contamination_table(job: Job) -> None:
    """Final test accuracy clean vs contaminated per model: mean ± sd over seeds, and the gain."""
    pairs, patterns = job.cfg["pairs"], job.cfg["patterns"]
    runs = run_summaries(read_tables(job.inputs["histories"], HISTORY))
    clean_of = {d: c for c, ds in pairs.items() for d in ds}
    runs["contaminated_dataset"] = runs["dataset"].map(lambda d: d if d in clean_of else "")
    runs["dataset"] = runs["dataset"].map(lambda d: clean_of.get(d, d))
    write_table(runs[[c for c, _ in CONTAM_RUNS.columns]], job.output("runs"), CONTAM_RUNS, job.provenance())
    rows = []

    def sd(s):
        return float(s.std(ddof=1)) if len(s) > 1 else float("nan")

    for (clean, model), g in runs.groupby(["dataset", "model"], sort=False):
        base = g[g["condition"] == "clean"].set_index("seed")["final_test_acc"]
        for dirty in pairs.get(clean, []):
            acc = g[g["contaminated_dataset"] == dirty].set_index("seed")["final_test_acc"]
            both = pd.concat({"clean": base, "dirty": acc}, axis=1).dropna()
            gain = both["dirty"] - both["clean"]
            rows.append(
                {
                    "dataset": clean,
                    "contaminated_dataset": dirty,
                    "eps": float(patterns[dirty].get("eps", np.nan)),
                    "p": float(patterns[dirty].get("p", np.nan)),
                    "model": model,
                    "family": family(model),
                    "seeds": len(both),
                    "clean_mean": float(both["clean"].mean()),
                    "clean_sd": sd(both["clean"]),
                    "contaminated_mean": float(both["dirty"].mean()),
                    "contaminated_sd": sd(both["dirty"]),
                    "gain_mean": float(gain.mean()),
                    "gain_sd": sd(gain),
                }
            )
    table = pd.DataFrame(rows)
    write_table(table, job.output("table"), CONTAMINATION, job.provenance())
    job.log("\n" + table.to_string(index=False))
