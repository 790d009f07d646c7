"""Adversarial dynamics over training (adversarial.md, 'Attacks', 'Breakpoint analysis (C1)'): every checkpoint of a
run attacked, the ReLU breakpoints along each attack segment, and the change points of the series (claims R1, R6:
:mod:`learndyn.perturb.attack_claims`).  The rule entries (attack_checkpoints, analyse_breakpoints,
perturb_changepoints) are in :mod:`learndyn.perturb.jobs`.  Both readings are reconstructions and every row says so.

perturbations table: one row per (step, image, attack); δ is zero unless the image is correctly
classified AND attacked (adversarial.md, 'Attacks'), so where an attack fails Reading A has no δ to follow: those rows
carry NaN along δ and are flagged ``kept = False``, but keep the fixed-direction density (the
spec's "unsuccessful δ" is not stored).  Saliency rows (attack == "saliency") store g for every
image with success = correct, so ``correct & success`` selects the correctly classified ones.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from learndyn.perturb.tables import (
    ATTACK_SUMMARY,
    BOUNDARY,
    BREAKPOINTS,
    CHANGEPOINTS,
    SALIENCY,
    SERIES_A,
    SERIES_B,
    perturbations_table,
)


def attack_specs(attack_cfg: dict) -> dict[str, dict]:
    specs = attack_cfg.get("attacks")
    if not isinstance(specs, dict) or not specs:
        raise ValueError(f"perturb.attack.attacks: expected a mapping name -> attack spec, got {specs!r}")
    if SALIENCY in specs:
        raise ValueError(f"perturb.attack.attacks: {SALIENCY!r} is reserved for the saliency rows")
    from learndyn.perturb.attacks import _check_spec

    for name, spec in specs.items():
        try:
            _check_spec(spec)
        except ValueError as err:
            raise ValueError(f"perturb.attack.attacks.{name}: {err}") from None
    return specs


def data_bounds(x: np.ndarray) -> tuple[float, float]:
    """(0, 1) for ToTensor data; the data range where contamination leaves [0, 1] (adversarial.md, 'Fourier-feature
    contamination experiment (C4)')."""
    return float(min(0.0, x.min())), float(max(1.0, x.max()))


def epoch_of(history: pd.DataFrame):
    """step -> fractional epoch, interpolated in a run's history."""
    h = history.drop_duplicates("step").sort_values("step")
    return lambda step: np.interp(np.asarray(step, float), h["step"].to_numpy(float), h["epoch_float"].to_numpy(float))


def attack_run(run: str, run_dir: Path, steps: list[int], data: dict, acfg: dict, epoch, log, source="") -> dict:
    """Every checkpoint x every configured attack (+ saliency) on the first n training images of ``data``
    (from ``source``), and the boundary distances: the perturbations, summary and boundary frames, the
    perturbations' Table and the provenance extras."""
    from learndyn.perturb.attacks import attack, saliency
    from learndyn.perturb.boundary import (
        NORM_OF_KIND,
        boundary_distance,
        boundary_frame,
        boundary_specs,
        data_scales,
    )
    from learndyn.perturb.models import load_model
    from learndyn.perturb.runs import parse_run

    dataset, model_id, seed = parse_run(run)
    specs, bspecs = attack_specs(acfg), boundary_specs(acfg)
    n = int(acfg["n_images"])
    if n > len(data["y_train"]):
        raise ValueError(f"perturb.attack.n_images = {n} but {source} has only {len(data['y_train'])} training images")
    x, y = data["x_train"][:n], data["y_train"][:n]  # first n in file order, never shuffled (adversarial.md, 'Attacks')
    bounds = data_bounds(data["x_train"])
    pre = acfg.get("preprocessing")
    attack_seed = int(acfg.get("seed", 0)) + seed
    nb = int(acfg.get("boundary_images", n))  # the boundary attack is as costly as both PGDs: thinned (R1 units)
    scales = {
        nm: data_scales(data["x_train"], data["y_train"], nb, nm)
        for nm in sorted({NORM_OF_KIND[s["kind"]] for s in bspecs.values()})
    }
    log(
        f"{run}: {len(steps)} checkpoints x {list(specs)} + saliency on {n} images, boundary {list(bspecs)} "
        f"on the first {nb}, "
        f"bounds {bounds}, data scales {scales}"
    )
    rows, summary, bound, t_start = [], [], [], time.monotonic()
    for k, step in enumerate(steps):
        model = load_model(run_dir, step)
        for name, spec in specs.items():
            t0 = time.monotonic()
            r = attack(model, x, y, spec, bounds=bounds, preprocessing=pre, seed=attack_seed)
            rows.append(
                pd.DataFrame(
                    {
                        "step": step,
                        "image": np.arange(n),
                        "attack": name,
                        "label": y,
                        "correct": r.correct,
                        "success": r.success,
                        "l2": r.l2,
                        "linf": r.linf,
                        "delta": list(r.delta.reshape(n, -1)),
                    }
                )
            )
            kept = r.kept
            summary.append(
                {
                    "attack": name,
                    "kind": spec["kind"],
                    "eps": float(spec.get("eps", math.nan)),
                    "n_correct": int(r.correct.sum()),
                    "n_kept": int(kept.sum()),
                    "success_rate": kept.sum() / r.correct.sum() if r.correct.any() else math.nan,
                    "l2_mean": float(r.l2[kept].mean()) if kept.any() else math.nan,
                    "l2_median": float(np.median(r.l2[kept])) if kept.any() else math.nan,
                    "linf_mean": float(r.linf[kept].mean()) if kept.any() else math.nan,
                    "step": step,
                    "seconds": time.monotonic() - t0,
                }
            )
        for name, spec in bspecs.items():  # distance to the boundary from the model's own prediction (R1)
            b = boundary_distance(model, x[:nb], spec, bounds=bounds, preprocessing=pre, seed=attack_seed)
            bound.append(
                boundary_frame(b, step=step, labels=y[:nb], attack=name, kind=spec["kind"], scales=scales[b["norm"]])
            )
        g = saliency(model, x, preprocessing=pre)
        correct = r.correct  # saliency rows: success = correct, so 'kept' selects correct images
        flat = g.reshape(n, -1)
        rows.append(
            pd.DataFrame(
                {
                    "step": step,
                    "image": np.arange(n),
                    "attack": SALIENCY,
                    "label": y,
                    "correct": correct,
                    "success": correct,
                    "l2": np.linalg.norm(flat, axis=1).astype(np.float32),
                    "linf": np.abs(flat).max(axis=1).astype(np.float32),
                    "delta": list(flat),
                }
            )
        )
        done = time.monotonic() - t_start
        last = {s["attack"]: s for s in summary[-len(specs) :]}
        log(
            f"  step {step:>6} ({k + 1}/{len(steps)}): "
            + ", ".join(f"{a} kept {s['n_kept']}/{s['n_correct']}" for a, s in last.items())
            + f"; {done:.0f}s, ETA {done / (k + 1) * (len(steps) - k - 1):.0f}s"
        )
    s = pd.DataFrame(summary)
    s.insert(0, "run", run), s.insert(1, "dataset", dataset), s.insert(2, "model", model_id)
    s.insert(3, "seed", seed)
    s["epoch_float"], s["n_images"] = epoch(s["step"]), n
    b = pd.concat(bound, ignore_index=True) if bound else pd.DataFrame(columns=[c for c, _ in BOUNDARY.columns])
    b = b.assign(run=run, dataset=dataset, model=model_id, seed=seed, epoch_float=epoch(b["step"]) if len(b) else [])
    return {
        "perturbations": pd.concat(rows, ignore_index=True),
        "table": perturbations_table(int(np.prod(x.shape[1:]))),
        "summary": s[[c for c, _ in ATTACK_SUMMARY.columns]],
        "boundary": b[[c for c, _ in BOUNDARY.columns]],
        "prov": {
            "seed": attack_seed,
            "bounds": list(bounds),
            "n_images": n,
            "library": "foolbox " + _foolbox_version(),
        },
    }


def _foolbox_version() -> str:
    from importlib import metadata

    return metadata.version("foolbox")


def _n_nonlinear(model) -> int:
    from torch import nn

    return sum(isinstance(m, (nn.ReLU, nn.MaxPool2d)) for m in model.modules())


def breakpoints_run(
    run: str, run_dir: Path, pert: pd.DataFrame, data: dict, cfg: dict, epoch, log, source=""
) -> pd.DataFrame:
    """Reading A at every checkpoint for the attacked images (the perturbations ``pert``, from ``source``),
    plus the per-image Reading B values; ``cfg``: breakpoints, kinds, spectra (r0, channel_mode)."""
    from learndyn.perturb.breakpoints import READING_A, line_summary
    from learndyn.perturb.models import load_model
    from learndyn.perturb.runs import parse_run
    from learndyn.perturb.spectra import spectral_metrics

    seed = parse_run(run)[2]
    bcfg, kinds = cfg["breakpoints"], cfg["kinds"]
    method = bcfg.get("method", "auto")
    if method not in ("auto", "exact", "sampled"):
        raise ValueError(f"perturb.breakpoints.method must be auto, exact or sampled, got {method!r}")
    n_samples, n_random = int(bcfg.get("n_samples", 4096)), int(bcfg.get("n_random", 1))
    pert = pert[pert["attack"] != SALIENCY]
    attacks = bcfg.get("attacks") or sorted(pert["attack"].unique())
    unknown = sorted(set(attacks) - set(pert["attack"]))
    if unknown:
        raise ValueError(f"perturb.breakpoints.attacks: {unknown} not in {source}")
    n_img = int(bcfg.get("n_images", pert["image"].max() + 1))
    pert = pert[pert["image"] < n_img]
    x_all = data["x_train"][:n_img].astype(np.float64)
    steps = sorted(pert["step"].unique())
    scfg = cfg.get("spectra", {})
    log(f"{run}: Reading A on {n_img} images x {len(steps)} checkpoints x {attacks}, method {method}")
    frames, t_start = [], time.monotonic()
    for k, step in enumerate(steps):
        model = load_model(run_dir, int(step))
        m = (
            method
            if method != "auto"
            else ("exact" if _n_nonlinear(model) <= int(bcfg.get("max_exact_layers", 2)) else "sampled")
        )  # adversarial.md, 'Configurations'
        for a in attacks:
            p = pert[(pert["step"] == step) & (pert["attack"] == a)].sort_values("image")
            last = pert[(pert["step"] == steps[-1]) & (pert["attack"] == a)].sort_values("image")
            shape = x_all.shape[1:]
            delta = np.stack(p["delta"].to_numpy()).astype(np.float64).reshape(-1, *shape)
            fixed = np.stack(last["delta"].to_numpy()).astype(np.float64).reshape(-1, *shape)
            # fixed direction (ii): the last checkpoint's δ, rescaled to this δ's norm where kept (equal
            # segment lengths for (i)-(iii)), else left at its own norm; random directions (iii) need a δ
            nd = np.linalg.norm(delta.reshape(len(delta), -1), axis=1)
            nf = np.linalg.norm(fixed.reshape(len(fixed), -1), axis=1)
            probe = np.where(nd > 0, nd, nf)
            with np.errstate(invalid="ignore", divide="ignore"):
                fixed *= np.where(nf > 0, probe / nf, 0.0)[:, None, None, None]
            out = line_summary(
                model,
                x_all,
                delta,
                p["label"].to_numpy(),
                method=m,
                n_samples=n_samples,
                fixed=fixed,
                n_random=n_random,
                seed=int(bcfg.get("seed", 0)) + seed,
            )
            met = spectral_metrics(
                delta.astype(np.float32), r0=scfg.get("r0"), channel_mode=scfg.get("channel_mode", "gray")
            )
            kept = (p["correct"] & p["success"]).to_numpy()
            out = out.assign(
                run=run,
                step=int(step),
                epoch_float=float(epoch(step)),
                attack=a,
                kind=kinds.get(a, ""),
                correct=p["correct"].to_numpy(),
                success=p["success"].to_numpy(),
                kept=kept,
                method=m,
                probe_l2=probe,
                label=READING_A,
                maxlog=np.where(kept, met["maxlog"], np.nan),
                hff=np.where(kept, met["hff"], np.nan),
                hoyer=np.where(kept, met["hoyer"], np.nan),
            )
            frames.append(out)
        done = time.monotonic() - t_start
        if m == "sampled" and frames[-1]["n_bp"].max() > 0.5 * (n_samples - 1):
            log(
                f"  WARNING step {step}: sampled breakpoints change in over half of the {n_samples - 1} "
                "intervals: the count is a loose lower bound (raise perturb.breakpoints.n_samples)"
            )
        log(
            f"  step {step:>6} ({k + 1}/{len(steps)}) [{m}]: {done:.0f}s, "
            f"ETA {done / (k + 1) * (len(steps) - k - 1):.0f}s"
        )
    return pd.concat(frames, ignore_index=True)[[c for c, _ in BREAKPOINTS.columns]]


def _series_values(df: pd.DataFrame, series: str) -> pd.Series:
    """Per-image value of a series; success is 0/1 among correct images, the rest among kept."""
    if series == "success":
        return df["success"].astype(float).where(df["correct"])
    if series == "l2":
        return df["delta_l2"].where(df["kept"])
    return df[series].where(df["kept"]) if series in ("maxlog", "hff", "hoyer") else df[series]


def changepoints(frames: pd.DataFrame, runs_meta: dict, *, n_boot=200, seed=0, boundary=None) -> pd.DataFrame:
    """Hinge change points per run, attack and series (Readings A and B), τ in steps and epochs; with
    ``boundary`` (the boundary table) also Reading B on the distance to the boundary (series "dmin")."""
    from learndyn.perturb.breakpoints import READING_A, READING_B, hinge_changepoint

    groups = [(key, g, (("A", SERIES_A), ("B", SERIES_B))) for key, g in frames.groupby(["run", "attack"], sort=False)]
    if boundary is not None and len(boundary):
        b = boundary.assign(dmin=boundary["dist"], kept=True, correct=True)
        groups += [(key, g, (("B", ("dmin",)),)) for key, g in b.groupby(["run", "attack"], sort=False)]
    rows = []
    for (run, attack), g, readings in groups:
        ep = g.drop_duplicates("step").sort_values("step")

        def to_epoch(s, ep=ep):
            return float(np.interp(s, ep["step"], ep["epoch_float"]))

        for reading, names in readings:
            for series in names:
                vals = _series_values(g, series)
                ok = vals.notna().to_numpy()
                res = hinge_changepoint(
                    np.log1p(g["step"].to_numpy(float))[ok],
                    vals.to_numpy()[ok],
                    groups=g["image"].to_numpy()[ok],
                    n_boot=n_boot,
                    seed=seed,
                )

                def to_step(u):
                    return float(np.expm1(u)) if np.isfinite(u) else math.nan

                steps = [to_step(res[k]) for k in ("tau", "ci_low", "ci_high")]
                rows.append(
                    {
                        "run": run,
                        **runs_meta[run],
                        "reading": reading,
                        "series": series,
                        "attack": attack,
                        "kind": g["kind"].iloc[0],
                        "tau_step": steps[0],
                        "tau_epoch": to_epoch(steps[0]) if np.isfinite(steps[0]) else math.nan,
                        "ci_low_step": steps[1],
                        "ci_high_step": steps[2],
                        "ci_low_epoch": to_epoch(steps[1]) if np.isfinite(steps[1]) else math.nan,
                        "ci_high_epoch": to_epoch(steps[2]) if np.isfinite(steps[2]) else math.nan,
                        "bic_gain": res["bic_gain"],
                        "accepted": res["accepted"],
                        "gamma": res["gamma"],
                        "n_levels": res["n_levels"],
                        "n_images": res["n_groups"],
                        "label": READING_A + " / " + READING_B if reading == "A" else READING_B,
                    }
                )
    return pd.DataFrame(rows, columns=[c for c, _ in CHANGEPOINTS.columns])


def run_keys(runs) -> dict:
    """run -> its dataset, model and seed (the changepoints table's keys)."""
    from learndyn.perturb.runs import parse_run

    return {run: dict(zip(("dataset", "model", "seed"), parse_run(run))) for run in runs}
