"""The spectral analysis of the perturb study (adversarial.md, 'Frequency analysis'); the rule entries (analyse_spectra,
collect_perturb_spectra) are in :mod:`learndyn.perturb.jobs`.

Per run: the perturbations table of attack_checkpoints (every attack + saliency, every checkpoint) -> per-image
metrics, mean spectra, radial profiles; the run's checkpoints -> end-to-end predictor spectra of linear models
(beta_c, class differences) and conv / LC filter spectra (:func:`analyse_run`).  All runs: one summary table (means
over kept images per checkpoint) and the final checkpoint's maps and profiles, for claims and figures
(:func:`summarise`, :func:`final_maps`).  The quantitative metrics are a reconstruction (adversarial.md, 'Quantitative
metrics'): every table's label column says so.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from learndyn.io import Table
from learndyn.perturb import spectra as sp
from learndyn.perturb.spectra_targets import class_difference, filter_spectra, linear_predictor
from learndyn.perturb.tables import (
    MEAN_SPECTRUM,
    METRICS,
    RADIAL,
    SALIENCY,
    SPECTRA_FINAL,
    SPECTRA_SUMMARY,
    TARGETS,
)

LABEL = "reconstruction: adversarial.md, 'Quantitative metrics' metrics (paper body unavailable)"


def _run_meta(run: str) -> dict:
    from learndyn.perturb.runs import parse_run

    dataset, model, seed = parse_run(run)
    return {"run": run, "dataset": dataset, "model": model, "seed": seed}


def epoch_map(history: pd.DataFrame) -> callable:
    """step -> fractional epoch (a float), interpolated in a run's history."""
    h = history.drop_duplicates("step").sort_values("step")
    steps, epochs = h["step"].to_numpy(float), h["epoch_float"].to_numpy(float)
    return lambda s: float(np.interp(float(s), steps, epochs))


def _target_rows(items_power: np.ndarray, n: int, r0) -> dict:
    """Metrics of a target: mean over items of each item's metrics; spectrum = log of the mean power."""
    m = sp.metrics_from_power(items_power, r0=r0)
    out = {c: float(np.nanmean(m[c])) if np.isfinite(m[c]).any() else math.nan for c in sp.METRIC_COLUMNS if c in m}
    flat = items_power.reshape(len(items_power), -1)
    out.update(
        l2=float(np.sqrt(flat.sum(axis=1) / n**2).mean()),
        linf=math.nan,
        n_items=len(items_power),
        side=n,
        log_power=sp.mean_log_power(items_power).ravel(),
    )
    return out


def checkpoint_targets(model, in_shape, x, labels, *, is_linear: bool, r0=None) -> list[dict]:
    """Predictor (linear models) and filter spectra of one checkpoint (adversarial.md, 'Quantitative metrics' targets 3
    and 4)."""
    import torch

    n = in_shape[-1]
    rows = []
    if is_linear:
        beta = linear_predictor(model, in_shape)
        power = np.stack([sp.power_spectrum(b[None])[0] for b in beta])  # (classes, N, N)
        rows.append({"target": "beta", "layer": -1, **_target_rows(power, n, r0)})
        for c in range(len(beta)):
            rows.append({"target": "beta_class", "layer": c, **_target_rows(power[c : c + 1], n, r0)})
        with torch.no_grad():
            logits = model(torch.as_tensor(x, dtype=next(model.parameters()).dtype)).double().numpy()
        diff = class_difference(beta, logits, labels)
        rows.append({"target": "beta_diff", "layer": -1, **_target_rows(sp.power_spectrum(diff), n, r0)})
    filt = filter_spectra(model, n, r0=r0)
    for f in filt.itertuples(index=False):
        power = np.asarray(f.power).reshape(1, n, n)
        rows.append(
            {
                "target": "filter",
                "layer": int(f.layer),
                "layer_kind": f.kind,
                "kernel": int(f.kernel),
                "position_var": f.position_var,
                "weight_departure": f.weight_departure,
                **_target_rows(power, n, r0),
            }
        )
    return rows


def analyse_run(run: str, run_dir: Path, pert: pd.DataFrame, data: dict, cfg: dict, epoch, log, source="") -> dict:
    """Per run: spectral metrics of every perturbation / saliency map (``pert``, from ``source``), mean spectra,
    radial profiles, and predictor / filter spectra at every attacked checkpoint; ``cfg``: spectra, kinds.
    Returns the four frames (by their output names) and the provenance extras."""
    from learndyn.perturb.models import is_linear, load_model

    meta = _run_meta(run)
    scfg = cfg.get("spectra", {}) or {}
    mode, r0 = scfg.get("channel_mode", "gray"), scfg.get("r0")
    if mode not in sp.CHANNEL_MODES:
        raise ValueError(f"perturb.spectra.channel_mode must be one of {sp.CHANNEL_MODES}, got {mode!r}")
    kinds = dict(cfg.get("kinds", {}), **{SALIENCY: SALIENCY})
    if pert.empty:
        raise ValueError(f"{source}: no perturbation rows (did attack_checkpoints run?)")
    shape = tuple(data["shape"])
    n = shape[-1]
    log(
        f"{meta['run']}: {len(pert)} maps, {pert['step'].nunique()} checkpoints, attacks "
        f"{sorted(pert['attack'].unique())}, channel_mode {mode}, r0 {r0 if r0 is not None else n / 4}"
    )

    x_att = data["x_train"][: int(pert["image"].max()) + 1]
    y_att = data["y_train"][: len(x_att)]
    linear = is_linear(meta["model"])
    metric_frames, spectra_rows, radial_rows, target_rows = [], [], [], []
    # one checkpoint at a time: at paper scale (3x32x32, ~300 checkpoints) all maps at once would need GBs
    for step, part in pert.groupby("step", sort=True):
        part = part.reset_index(drop=True)
        delta = np.stack(part["delta"].to_numpy()).reshape(-1, *shape)
        power = sp.power_spectrum(delta, mode)
        flat = delta.reshape(len(delta), -1).astype(np.float64)
        kept = (part["correct"] & part["success"]).to_numpy()
        metric_frames.append(
            pd.DataFrame(
                {
                    **meta,
                    "step": int(step),
                    "epoch_float": epoch(step),
                    "attack": part["attack"].to_numpy(),
                    "kind": part["attack"].map(kinds).fillna("").to_numpy(),
                    "image": part["image"].to_numpy(),
                    "label": part["label"].to_numpy(),
                    "correct": part["correct"].to_numpy(),
                    "success": part["success"].to_numpy(),
                    "kept": kept,
                    "l2": np.sqrt((flat**2).sum(axis=1)),
                    "linf": np.abs(flat).max(axis=1),
                    **sp.metrics_from_power(power, r0=r0),
                    "channel_mode": mode,
                }
            )
        )
        for attack, idx in part.groupby("attack", sort=True).groups.items():
            sel = np.asarray(idx)[kept[np.asarray(idx)]]
            if len(sel) == 0:
                continue  # nothing kept at this checkpoint (near init): the counts live in the metrics table
            base = {
                **meta,
                "step": int(step),
                "epoch_float": epoch(step),
                "attack": attack,
                "kind": kinds.get(attack, ""),
                "n_images": len(sel),
            }
            spectra_rows.append(
                {
                    **base,
                    "side": n,
                    "log_power": sp.mean_log_power(power[sel]).ravel(),
                    "mean_log_magnitude": sp.mean_log_magnitude(power[sel]).ravel(),
                    "label": LABEL,
                }
            )
            rho, prof, cum = sp.radial_profile(power[sel])
            radial_rows.append(
                pd.DataFrame(
                    {
                        **base,
                        "rho": rho,
                        "power": prof.mean(axis=0),
                        "power_sem": _sem(prof),
                        "cumulative": np.nanmean(cum, axis=0),
                        "cumulative_sem": _sem(cum),
                    }
                )
            )
        model = load_model(run_dir, int(step))
        for row in checkpoint_targets(model, shape, x_att, y_att, is_linear=linear, r0=r0):
            target_rows.append(
                {
                    **meta,
                    "step": int(step),
                    "epoch_float": epoch(step),
                    "layer_kind": "",
                    "kernel": 0,
                    "position_var": math.nan,
                    "weight_departure": math.nan,
                    **row,
                    "label": LABEL,
                }
            )
    metrics = pd.concat(metric_frames, ignore_index=True)
    kept = metrics["kept"].to_numpy()
    radial = pd.concat(radial_rows, ignore_index=True) if radial_rows else pd.DataFrame()
    log(f"kept maps {int(kept.sum())}/{len(kept)}; {len(target_rows)} predictor/filter rows")
    return {
        "metrics": metrics[[c for c, _ in METRICS.columns]],
        "mean_spectrum": _frame(spectra_rows, MEAN_SPECTRUM),
        "radial": _frame(radial, RADIAL),
        "predictor": _frame(target_rows, TARGETS),
        "prov": {"seed": meta["seed"], "channel_mode": mode, "r0": r0 if r0 is not None else n / 4},
    }


def _sem(a: np.ndarray) -> np.ndarray:
    """Standard error of the mean over axis 0 (NaN for a single map)."""
    return a.std(axis=0, ddof=1) / np.sqrt(len(a)) if len(a) > 1 else np.full(a.shape[1], np.nan)


def _frame(rows, table: Table) -> pd.DataFrame:
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    cols = [c for c, _ in table.columns]
    return df.reindex(columns=cols) if len(df) else pd.DataFrame({c: pd.Series(dtype=object) for c in cols})


def summarise(metrics: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Per run, checkpoint and attack / target: means (and s.e.m.) of the metrics over kept maps."""
    keys = ["run", "dataset", "model", "seed", "step", "epoch_float"]
    k = metrics[metrics["kept"]]
    g = k.groupby(keys + ["attack", "kind"], sort=True)
    mean = g[list(sp.METRIC_COLUMNS)].mean()
    sem = g[["hff", "hoyer", "centroid", "f_half"]].sem().add_suffix("_sem")
    d = pd.concat([mean, sem, g.size().rename("n")], axis=1).reset_index().rename(columns={"attack": "name"})
    d["source"] = "delta"
    t = targets.rename(columns={"target": "name", "n_items": "n"}).copy()
    t["name"] = np.where(t["name"] == "filter", "filter_l" + t["layer"].astype(str), t["name"])
    t = t[t["name"] != "beta_class"]
    t["kind"], t["source"] = t["layer_kind"].fillna(""), "target"
    out = pd.concat([d, t], ignore_index=True)
    last = out.groupby("run")["step"].transform("max")
    out["final"] = out["step"] == last
    return out.reindex(columns=[c for c, _ in SPECTRA_SUMMARY.columns])


def final_maps(metrics: pd.DataFrame, targets: pd.DataFrame, spectra: pd.DataFrame, radial: pd.DataFrame):
    """The final checkpoint's mean spectra and radial profiles of every run (perturbations and targets)."""
    final_rows = []
    last = metrics.groupby("run")["step"].max()
    for r in spectra[spectra["step"] == spectra["run"].map(last)].itertuples(index=False):
        rad = radial[(radial["run"] == r.run) & (radial["step"] == r.step) & (radial["attack"] == r.attack)]
        rad = rad.sort_values("rho")
        final_rows.append(
            {
                "run": r.run,
                "dataset": r.dataset,
                "model": r.model,
                "seed": r.seed,
                "step": r.step,
                "source": "delta",
                "name": r.attack,
                "kind": r.kind,
                "n": r.n_images,
                "side": r.side,
                "log_power": np.asarray(r.log_power),
                "radial_power": rad["power"].to_numpy(),
                "radial_cumulative": rad["cumulative"].to_numpy(),
            }
        )
    for r in targets[(targets["step"] == targets["run"].map(last)) & (targets["target"] != "beta_class")].itertuples():
        n = int(r.side)
        p = np.exp(np.asarray(r.log_power)).reshape(1, n, n)
        rho, prof, cum = sp.radial_profile(p)
        name = r.target if r.target != "filter" else f"filter_l{r.layer}"
        final_rows.append(
            {
                "run": r.run,
                "dataset": r.dataset,
                "model": r.model,
                "seed": r.seed,
                "step": r.step,
                "source": "target",
                "name": name,
                "kind": r.layer_kind or "",
                "n": r.n_items,
                "side": n,
                "log_power": np.asarray(r.log_power),
                "radial_power": prof[0],
                "radial_cumulative": cum[0],
            }
        )
    return _frame(final_rows, SPECTRA_FINAL)
