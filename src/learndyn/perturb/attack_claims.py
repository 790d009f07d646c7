"""Claims R1 (adversarial examples absent at init, present after epoch 0) and R6 (change point within
the first epochs), adversarial.md, 'Figures and tables', with per-unit values judged by :func:`learndyn.claims.claim`.

R1, primary reading (docs/perturb_r1.md): the distance from every image to the model's nearest
decision boundary (minimal-norm attack from the model's own prediction, the boundary table); per
(image, run) the ratio of that distance at step 0 to its value at the end of epoch 0 and at the
final checkpoint; the claim is the median ratio over images x runs with its interval. The old
fixed-eps reading (success among the images correct at step 0) stays, labelled as what it is.

R6: the hinge change point tau of each run's series (Reading A: breakpoint density along a fixed
direction; Reading B: fixed-eps success and the distance to the boundary); the median tau over runs
(a run whose hinge BIC does not accept a change point counts as tau = inf: no change point within
training) and the fraction of runs whose accepted tau lies in epoch 0 or 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.claims import claim, fmt

STUDY = "perturb"
F1, F2 = "figures/perturb/dynamics.png", "figures/perturb/breakpoints.png"
CRITERIA = {
    "r1_kind": "linf_pgd",
    "r1_ratio": 2.0,
    "r6_max_epochs": 1.0,
    "r6_early_epochs": 2.0,
    "r6_fraction": 0.5,
    "r6_series_a": "density_fixed",
    "r6_series_b": "success",
    "r6_kind_b": "linf_pgd",
}
END0 = 1.0 + 1e-9  # epoch_float of the end of epoch 0 (with rounding)


def _end_of_epoch0(g: pd.DataFrame) -> int:
    e = g.drop_duplicates("step").sort_values("step")
    return int(e[e["epoch_float"] <= END0]["step"].iloc[-1])


def fixed_eps_row(summ: pd.DataFrame, crit: dict) -> dict:
    fixed = summ[summ["kind"] == crit["r1_kind"]]
    diffs, notes, undefined = [], [], []
    for run, g in fixed.groupby("run", sort=False):
        g = g.sort_values("step")
        s0, end = g[g["step"] == 0], g[g["step"] == _end_of_epoch0(g)].iloc[0]
        if len(s0) and np.isfinite(s0["success_rate"].iloc[0]) and np.isfinite(end["success_rate"]):
            diffs.append(end["success_rate"] - s0["success_rate"].iloc[0])
        else:
            undefined.append(run)
        notes.append(
            f"{run}: {int(s0['n_kept'].sum())}/{int(s0['n_correct'].sum())} at step 0 -> "
            f"{int(end['n_kept'])}/{int(end['n_correct'])} at step {int(end['step'])}"
        )
    return claim(
        STUDY,
        "R1-success-fixed-eps",
        f"fixed-eps success ({crit['r1_kind']}, among the images correctly "
        "classified at that checkpoint) at step 0 <= at the end of epoch 0",
        "success(end of epoch 0) - success(step 0)",
        threshold=0.0,
        direction=">=",
        aggregate="all",
        unit="run",
        values=diffs,
        reading="weak reading (adversarial.md, 'Figures and tables'): at chance accuracy the few images correct at "
        "step 0 sit at tiny "
        "margins; every run must satisfy it; runs with no correct image at step 0 are undefined (listed)",
        not_run="" if len(fixed) else f"no {crit['r1_kind']} attack in perturb.attack.attacks",
        detail="; ".join(notes)
        + (f" | undefined (no correct image at step 0): {', '.join(undefined)}" if undefined else ""),
        figure=F1,
    )


def _distance(g: pd.DataFrame) -> pd.Series:
    """Distance per image; 'flat' (no boundary a gradient can reach, e.g. a constant model) = inf."""
    return g["dist"].where(g["reason"] != "flat", np.inf)


def boundary_rows(bnd: pd.DataFrame, crit: dict) -> list[dict]:
    rows = []
    for attack, a in bnd.groupby("attack", sort=True):
        per_run, reasons = [], {}
        for run, g in a.groupby("run", sort=False):
            steps = {"step 0": 0, "end of epoch 0": _end_of_epoch0(g), "final": int(g["step"].max())}
            d = {k: _distance(g[g["step"] == s].set_index("image")) for k, s in steps.items()}
            for k, s in steps.items():
                for reason, c in g[g["step"] == s]["reason"].value_counts().items():
                    if reason != "ok":
                        reasons[(k, reason)] = reasons.get((k, reason), 0) + int(c)
            per_run.append(pd.DataFrame({"run": run, "model": g["model"].iloc[0], **d}))
        u = pd.concat(per_run)
        norm, kind = a["norm"].iloc[0], a["kind"].iloc[0]
        x_norm, nn = float(a["x_norm"].iloc[0]), float(a["nn_other"].iloc[0])
        med = {k: float(np.nanmedian(u[k].replace(np.inf, np.nan))) for k in ("step 0", "end of epoch 0", "final")}
        scale = "; ".join(
            f"{k}: median {v:.3g} = {v / x_norm:.3g} median||x|| = {v / nn:.3g} nn_other" for k, v in med.items()
        )
        dropped = "; ".join(f"{c} at {k} ({r})" for (k, r), c in sorted(reasons.items())) or "none"
        common = (
            f"unit: image x run ({u['run'].nunique()} runs x {a['image'].nunique()} images); distances in "
            f"{norm} ({kind}, own prediction): {scale}; median||x||_{norm[1:]} = {x_norm:.4g}, nn_other "
            f"(median distance to the nearest training image of another class) = {nn:.4g}; without a distance "
            f"(NaN, dropped from the ratio; 'flat' counts as inf): {dropped}"
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = {
                "epoch0": u["step 0"] / u["end of epoch 0"],
                "final": u["step 0"] / u["final"],
                "late": u["final"] / u["end of epoch 0"],
            }
        for key, ref in (("epoch0", "the end of epoch 0"), ("final", "the final checkpoint")):
            r = ratios[key]
            per_model = r.groupby(u["model"]).median()
            rows.append(
                claim(
                    STUDY,
                    f"R1-dmin-{attack}-init-vs-{key}",
                    f"adversarial examples are absent at init: the distance to "
                    f"the nearest decision boundary ({norm}) at step 0 is at least {crit['r1_ratio']:g}x "
                    f"its value at {ref}",
                    f"d_boundary(step 0) / d_boundary({ref})",
                    threshold=crit["r1_ratio"],
                    direction=">=",
                    aggregate="median",
                    unit="image x run",
                    values=r.to_numpy(float),
                    reading="'not present at init' read as: the boundary is much farther from the data at step 0 than "
                    f"later (at least {crit['r1_ratio']:g}x, perturb.claims.r1_ratio); median over images x runs "
                    "(all models, seeds) with its order-statistics interval; docs/perturb_r1.md",
                    detail=f"per model median ratio {fmt(per_model.to_numpy())} for {', '.join(per_model.index)} | "
                    + common,
                    figure=F1,
                )
            )
        r = ratios["late"]
        rows.append(
            claim(
                STUDY,
                f"R1-dmin-{attack}-late",
                f"the distance to the boundary ({norm}) does not grow after epoch 0: final <= end of epoch 0",
                "d_boundary(final) / d_boundary(end of epoch 0)",
                threshold=1.0,
                direction="<=",
                aggregate="median",
                unit="image x run",
                values=r.to_numpy(float),
                reading="spec R1 '||delta_min|| non-increasing after the first few hundred steps', read on the "
                "end-of-epoch-0 and final checkpoints; median over images x runs",
                detail=common,
                figure=F1,
            )
        )
    return rows


def _tau_rows(g: pd.DataFrame, tag: str, what: str, crit: dict) -> list[dict]:
    acc = g["accepted"].to_numpy(bool)
    tau = np.where(acc, g["tau_epoch"].to_numpy(float), np.inf)
    unit = "run" if g.groupby("run")["attack"].nunique().max() == 1 else "run x attack"
    per = "; ".join(
        f"{r.run} {r.attack}: "
        + (
            f"tau epoch {r.tau_epoch:.3g} [{r.ci_low_epoch:.3g}, {r.ci_high_epoch:.3g}]"
            if r.accepted
            else f"no accepted hinge (BIC gain {r.bic_gain:.3g})"
        )
        for r in g.itertuples()
    )
    n_acc = int(acc.sum())
    early = crit["r6_early_epochs"]
    in0 = int((acc & (g["tau_epoch"].to_numpy(float) <= crit["r6_max_epochs"] + 1e-9)).sum())
    detail = (
        f"{n_acc}/{len(g)} hinges accepted by BIC ({len(g) - n_acc} without a change point counted as "
        f"tau = inf); {in0}/{len(g)} with tau in epoch 0; per unit, tau with its bootstrap 95% CI over images: " + per
    )
    label = (
        "reconstruction (adversarial.md, 'Breakpoint analysis (C1)'): hinge s = a + b u + c (u - tau)+ over u = "
        "log(1 + step), BIC vs a line"
    )
    return [
        claim(
            STUDY,
            f"R6-{tag}",
            f"the change point tau of {what} falls within the first "
            f"{crit['r6_max_epochs']:g} epoch(s) (median over runs)",
            "tau (epochs)",
            threshold=crit["r6_max_epochs"],
            direction="<=",
            aggregate="median",
            unit=unit,
            values=tau,
            reading=f"{label}; the median tau over runs with its order-statistics interval; a run whose BIC does "
            "not accept a hinge counts as tau = inf (no change point within training), not dropped",
            detail=detail,
            figure=F2,
        ),
        claim(
            STUDY,
            f"R6-{tag}-early",
            f"the change point tau of {what} lies in epoch 0 or 1 for most runs",
            f"fraction of runs with an accepted tau <= {early:g} epochs",
            threshold=crit["r6_fraction"],
            direction=">",
            aggregate="fraction",
            unit=unit,
            values=(acc & (g["tau_epoch"].to_numpy(float) <= early + 1e-9)).astype(float),
            reading=f"{label}; 'typically within the first epochs' read as: more than "
            f"{crit['r6_fraction']:g} of the runs (Clopper-Pearson interval); runs without an accepted hinge count "
            "as outside",
            detail=detail,
            figure=F2,
        ),
    ]


def changepoint_rows(cps: pd.DataFrame, crit: dict) -> list[dict]:
    rows = []
    picks = [
        ("A", "A", crit["r6_series_a"], None, f"Reading A ({crit['r6_series_a']})"),
        ("B", "B", crit["r6_series_b"], crit["r6_kind_b"], f"Reading B ({crit['r6_series_b']}, {crit['r6_kind_b']})"),
    ]
    for attack in sorted(cps.loc[cps["series"] == "dmin", "attack"].unique()):
        picks.append((f"B-dmin-{attack}", "B", "dmin", None, f"Reading B (distance to the boundary, {attack})"))
    for tag, reading, series, kind, what in picks:
        g = cps[(cps["reading"] == reading) & (cps["series"] == series)]
        if series == "dmin":
            g = g[g["attack"] == tag.rsplit("-", 1)[1]]
        if kind is not None:
            g = g[g["kind"] == kind]
        if len(g):
            rows += _tau_rows(g, tag, what, crit)
        else:
            rows.append(
                claim(
                    STUDY,
                    f"R6-{tag}",
                    f"the change point tau of {what} falls within the first epoch(s)",
                    "tau (epochs)",
                    threshold=crit["r6_max_epochs"],
                    direction="<=",
                    aggregate="median",
                    reading="reconstruction (adversarial.md, 'Breakpoint analysis (C1)')",
                    not_run=f"no {what} series in this config",
                    figure=F2,
                )
            )
    return rows


def claims_rows(tables: dict[str, pd.DataFrame], criteria=None) -> list[dict]:
    """R1 (attack summaries, boundary table) and R6 (change points)."""
    crit = {**CRITERIA, **(criteria or {})}
    rows = []
    summ = tables.get("attack_summary")
    if summ is not None and len(summ):
        rows.append(fixed_eps_row(summ, crit))
    bnd = tables.get("boundary")
    if bnd is not None and len(bnd):
        rows += boundary_rows(bnd, crit)
    else:
        rows.append(
            claim(
                STUDY,
                "R1-dmin",
                "adversarial examples are absent at init (distance to the boundary)",
                "d_boundary(step 0) / d_boundary(end of epoch 0)",
                threshold=crit["r1_ratio"],
                direction=">=",
                aggregate="median",
                reading="docs/perturb_r1.md",
                not_run="no minimal-norm attack in perturb.attack.boundary",
                figure=F1,
            )
        )
    cps = tables.get("changepoints")
    if cps is not None and len(cps):
        rows += changepoint_rows(cps, crit)
    return rows


__all__ = ["CRITERIA", "claims_rows"]
