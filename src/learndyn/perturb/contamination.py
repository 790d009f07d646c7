"""The Fourier-feature contamination experiment's tables (adversarial.md, 'Fourier-feature contamination experiment
(C4)'): per run, the final and best test accuracy; per model, clean vs contaminated (mean ± sd over seeds) and the
gain.  The rule entries (train_perturb_contamination, perturb_contamination_table) are in :mod:`learndyn.perturb.jobs`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.perturb.tables import CONTAM_RUNS


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


def contamination_tables(history: pd.DataFrame, pairs: dict, patterns: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, table): every run's summary keyed by its clean dataset, and per clean dataset, contaminated
    variant and model the final test accuracy clean vs contaminated (mean ± sd over seeds) and the gain."""
    runs = run_summaries(history)
    clean_of = {d: c for c, ds in pairs.items() for d in ds}
    runs["contaminated_dataset"] = runs["dataset"].map(lambda d: d if d in clean_of else "")
    runs["dataset"] = runs["dataset"].map(lambda d: clean_of.get(d, d))
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
    return runs[[c for c, _ in CONTAM_RUNS.columns]], pd.DataFrame(rows)
