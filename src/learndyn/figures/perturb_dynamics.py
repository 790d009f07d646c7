"""F1 (perturbation dynamics) and F2 (breakpoints over training) of the perturb study (adversarial.md, 'Figures and
tables').

Read Parquet only: the perturbations table of one run, the prepared images, the attack summaries
and the breakpoint / change-point tables.  HFF, Hoyer and maxlog are perturb-spectra's metrics (adversarial.md,
'Quantitative metrics') metrics (learndyn.perturb.spectra), stored per image in the breakpoints table.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from learndyn.figures.style import colour_cycle, empty_panel, new_figure, style, title

PRIMARY_KINDS = ("l2_pgd", "ddn", "l2fmn", "linf_pgd")  # image rows: the L2 probe first (adversarial.md, 'Attacks')
LINESTYLES = {"linf_pgd": "-", "l2_pgd": "--", "ddn": ":", "l2fmn": "-."}


def _x(step):
    return np.asarray(step, float) + 1.0  # log axis of step + 1 (step 0 is the untrained model)


def _epoch_line(ax, frame: pd.DataFrame) -> None:
    e = frame.drop_duplicates("step").sort_values("step")
    end0 = e[e["epoch_float"] <= 1.0 + 1e-9]
    if len(end0) and len(e) > len(end0):
        ax.axvline(_x(end0["step"].iloc[-1]), color="0.5", ls=":", lw=1)


def _primary(kinds: dict) -> str | None:
    for k in PRIMARY_KINDS:
        names = [a for a, kind in kinds.items() if kind == k]
        if names:
            return names[0]
    return None


def _image_panel(ax, img, cmap="gray", sym=False, label=None):
    img = np.asarray(img)
    img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    if sym:
        v = float(np.abs(img).max()) or 1.0
        ax.imshow(img if img.ndim == 2 else img.mean(-1), cmap="RdBu_r", vmin=-v, vmax=v)
    elif img.ndim == 3:
        ax.imshow(np.clip(img, 0, 1))
    else:
        ax.imshow(img, cmap=cmap)
    ax.set_xticks([])
    ax.set_yticks([])
    if label:
        ax.set_title(label, fontsize=7.5)


def _pick(pert: pd.DataFrame, kinds: dict):
    """(attack, step, kept rows) for the image rows: the primary attack first, its last checkpoint
    with images both correct and attacked."""
    order = [_primary(kinds)] + [a for a in kinds if a != _primary(kinds)]
    kept = pert[pert["correct"] & pert["success"] & (pert["attack"] != "saliency")]
    for attack in order:
        k = kept[kept["attack"] == attack]
        if len(k):
            step = int(k["step"].max())
            return attack, step, k[k["step"] == step].sort_values("image")
    return order[0], int(pert["step"].max()), kept.iloc[:0]


@style
def fig_dynamics(
    pert: pd.DataFrame,
    data: dict,
    summary: pd.DataFrame,
    bps: pd.DataFrame,
    *,
    run: str,
    rows: int = 8,
    boundary: pd.DataFrame | None = None,
):
    """F1: image rows of one run, then success rate, ‖δ‖₂, the distance to the decision boundary, HFF and
    Hoyer vs log-step (all runs)."""
    from learndyn.perturb.spectra import log_magnitude, spectral_metrics

    kinds = dict(summary.drop_duplicates("attack")[["attack", "kind"]].itertuples(index=False))
    attack, step, kept = _pick(pert, kinds)
    images = kept["image"].to_numpy()[:rows]
    n_rows = max(len(images), 1)
    fig = new_figure(13, 1.45 * n_rows + 5.5)
    sub = fig.subfigures(2, 1, height_ratios=[1.45 * n_rows, 5.5])
    title(
        fig,
        f"F1 Perturbation dynamics: {run}, attack {attack!r} ({kinds.get(attack)})",
        f"image rows: checkpoint step {step} (the last with correct and attacked images); curves vs step "
        "over checkpoints; dotted line = end of epoch 0; config: perturb.attack, perturb.spectra",
    )
    p = pert[pert["attack"] == attack]
    last = int(pert["step"].max())
    shape = data["shape"]
    cols = ["x", "x_adv", "δ", "log|DFT δ|", "saliency g", "log|DFT g|", "maxlog(δ) vs step", "‖δ‖₂ vs step"]
    axes = np.atleast_2d(sub[0].subplots(n_rows, len(cols)))
    if not len(images):
        for ax in axes[0]:
            ax.set_axis_off()
        empty_panel(axes[0, 0], "no image correct and attacked at any checkpoint")
    sal = pert[(pert["attack"] == "saliency") & (pert["step"] == step)].set_index("image")
    for r, i in enumerate(images):
        x = data["x_train"][i]
        d = np.asarray(kept.set_index("image").loc[i, "delta"], np.float32).reshape(shape)
        g = np.asarray(sal.loc[i, "delta"], np.float32).reshape(shape)
        head = r == 0
        _image_panel(axes[r, 0], x, label=cols[0] if head else None)
        _image_panel(axes[r, 1], x + d, label=cols[1] if head else None)
        _image_panel(axes[r, 2], d, sym=True, label=cols[2] if head else None)
        _image_panel(axes[r, 3], log_magnitude(d[None])[0][None], cmap="magma", label=cols[3] if head else None)
        _image_panel(axes[r, 4], g, sym=True, label=cols[4] if head else None)
        _image_panel(axes[r, 5], log_magnitude(g[None])[0][None], cmap="magma", label=cols[5] if head else None)
        series = p[p["image"] == i].sort_values("step")
        ok = (series["correct"] & series["success"]).to_numpy()
        deltas = np.stack(series["delta"].to_numpy()).reshape(-1, *shape)
        met = spectral_metrics(deltas[ok]) if ok.any() else None
        for ax, vals, name, ylabel in (
            (axes[r, 6], None if met is None else met["maxlog"], cols[6], "max log|DFT|"),
            (axes[r, 7], series["l2"].to_numpy()[ok], cols[7], "‖δ‖₂ (pixels)"),
        ):
            if vals is not None and len(vals):
                ax.plot(_x(series["step"].to_numpy()[ok]), np.asarray(vals), "o-", ms=2.5, lw=1)
            ax.set_xscale("log")
            ax.set_xlim(_x(0) * 0.8, _x(last) * 1.25)
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.ticklabel_format(axis="y", useOffset=False)
            ax.tick_params(labelsize=6.5, labelbottom=r == len(images) - 1)  # step ticks on the bottom row only
            ax.set_ylabel(ylabel, fontsize=6.5, labelpad=1)
            if head:
                ax.set_title(name, fontsize=7.5)
            if r == len(images) - 1:
                ax.set_xlabel("step + 1 (log)", fontsize=6.5)
        axes[r, 0].set_ylabel(f"image {i}", fontsize=7.5)
    _dynamics_panels(sub[1], summary, bps, boundary)
    return fig


def _boundary_panel(ax, boundary: pd.DataFrame | None, summary: pd.DataFrame, models: list) -> None:
    """Median over images of the distance to the nearest decision boundary (minimal-norm attack from the
    model's own prediction), in units of the data's spread nn_other, mean over seeds; L2 solid, L-inf dashed."""
    name = "distance to the decision boundary"
    if boundary is None or boundary.empty or boundary["dist_nn"].notna().sum() == 0:
        empty_panel(ax, "no minimal-norm attack (perturb.attack.boundary)")
        ax.set_title(name)
        return
    units = []
    for norm, ls in (("l2", "-"), ("linf", "--")):
        b = boundary[boundary["norm"] == norm]
        if b.empty:
            continue
        units.append(f"{norm}: nn_other {b['nn_other'].iloc[0]:.3g}, med‖x‖ {b['x_norm'].iloc[0]:.3g}")
        med = b.groupby(["model", "seed", "step"])["dist_nn"].median().groupby(["model", "step"]).mean()
        for mi, model in enumerate(models):
            if model in med.index.get_level_values(0):
                m = med.loc[model]
                ax.plot(_x(m.index), m.to_numpy(), ls, color=colour_cycle(mi), lw=1.2, marker="o", ms=2)
    _epoch_line(ax, summary)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step + 1 (log)")
    ax.set_ylabel("median d_boundary / nn_other (log)", fontsize=7)
    ax.set_title(name + "\n" + "; ".join(units) + "\n(L2 solid, L-inf dashed)", fontsize=7)


def _dynamics_panels(subfig, summary: pd.DataFrame, bps: pd.DataFrame, boundary: pd.DataFrame | None = None) -> None:
    axes = subfig.subplots(1, 5)
    models = list(dict.fromkeys(summary["model"]))
    mins = summary["kind"].isin(["ddn", "l2fmn"])
    panels = [
        ("success rate (kept / correct)", summary, "success_rate"),
        (
            "‖δ_min‖₂ (median, minimal-norm attack)" if mins.any() else "‖δ‖₂ (median over kept; PGD stops at ε)",
            summary[mins] if mins.any() else summary,
            "l2_median",
        ),
    ]
    bps = bps.assign(model=bps["run"].str.split("/").str[1])
    per_img = bps.groupby(["model", "attack", "kind", "step"], as_index=False)[["hff", "hoyer"]].mean()
    panels += [("HFF(δ) (r₀ = N/4)", per_img, "hff"), ("Hoyer(|DFT δ|)", per_img, "hoyer")]
    _boundary_panel(axes[4], boundary, summary, models)
    for ax, (name, frame, col) in zip(axes, panels):
        if frame.empty or frame[col].notna().sum() == 0:
            empty_panel(ax, "no data")
            ax.set_title(name)
            continue
        for mi, model in enumerate(models):
            for (attack, kind), g in frame[frame["model"] == model].groupby(["attack", "kind"], sort=False):
                m = g.groupby("step")[col].agg(["mean", "std"]).reset_index()  # over seeds
                ax.plot(
                    _x(m["step"]),
                    m["mean"],
                    LINESTYLES.get(kind, "-"),
                    color=colour_cycle(mi),
                    lw=1.2,
                    marker="o",
                    ms=2,
                )
                if m["std"].notna().any():
                    ax.fill_between(
                        _x(m["step"]),
                        m["mean"] - m["std"],
                        m["mean"] + m["std"],
                        color=colour_cycle(mi),
                        alpha=0.12,
                        lw=0,
                    )
        _epoch_line(ax, summary)
        ax.set_xscale("log")
        ax.set_xlabel("step + 1 (log)")
        ax.set_ylabel(
            {
                "success_rate": "fraction of correct images",
                "l2_median": "‖δ‖₂ (pixel units)",
                "hff": "fraction of power",
                "hoyer": "Hoyer sparsity [0, 1]",
            }[col],
            fontsize=7,
        )
        ax.set_title(name)
    # one legend below the panels: model = colour, attack = line style (14 entries in a panel cover its data)
    kinds = dict(summary.drop_duplicates("attack")[["attack", "kind"]].itertuples(index=False))
    handles = [Line2D([], [], color=colour_cycle(mi), lw=1.5, label=m) for mi, m in enumerate(models)]
    handles += [
        Line2D([], [], color="0.3", ls=LINESTYLES.get(k, "-"), lw=1.2, label=f"attack {a} ({k})")
        for a, k in kinds.items()
    ]
    subfig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5), fontsize=7, frameon=False)


@style
def fig_breakpoints(bps: pd.DataFrame, cps: pd.DataFrame):
    """F2: Reading A per checkpoint (means over images and seeds) and Reading B change points τ."""
    fig = new_figure(13, 8.2)
    title(
        fig,
        "F2 Breakpoints over training: Reading A (ReLU breakpoints on x₀ + tδ) and Reading B (hinge τ)",
        "means over images (kept = correct and attacked) and seeds; densities per unit L2 along δ (solid), "
        "the last checkpoint's δ rescaled (dashed) and random directions of equal norm (dotted); "
        "config: perturb.breakpoints",
    )
    axes = fig.subplots(2, 3).ravel()
    kinds = dict(bps.drop_duplicates("attack")[["attack", "kind"]].itertuples(index=False))
    attack = _primary(kinds)
    b = bps[bps["attack"] == attack]
    kept = b[b["kept"]]
    models = list(dict.fromkeys(bps["run"].str.split("/").str[1]))
    b = b.assign(model=b["run"].str.split("/").str[1])
    kept = kept.assign(model=kept["run"].str.split("/").str[1])
    # (title, y label with its unit, frame, column); L2 lengths are in pixel-value units ([0, 1] images)
    specs = [
        ("n_bp on (0,1) along δ", "breakpoints on the segment (count)", kept, "n_bp"),
        ("t₁·‖δ‖₂: first breakpoint distance", "L2 distance (pixel-value units)", kept, "t1_l2"),
        ("t×: first t with a wrong logit ≥ true", "t (fraction of δ)", kept, "t_cross"),
        (
            "same_region fraction (t× < t₁)",
            "fraction of kept images",
            kept.assign(same_region=kept["same_region"].astype(float)),
            "same_region",
        ),
    ]
    for ax, (name, ylabel, frame, col) in zip(axes[:4], specs):
        for mi, model in enumerate(models):
            m = frame[frame["model"] == model].groupby("step")[col].mean()
            if len(m):
                ax.plot(_x(m.index), m.to_numpy(), "o-", ms=2, lw=1.2, color=colour_cycle(mi), label=model)
        _epoch_line(ax, b)
        ax.set_xscale("log")
        ax.set_xlabel("step + 1 (log; dotted: end of epoch 0)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{name} [{attack}]")
    ax = axes[4]
    for mi, model in enumerate(models):
        for col, ls in (("density", "-"), ("density_fixed", "--"), ("density_random", ":")):
            m = b[b["model"] == model].groupby("step")[col].mean()
            ax.plot(_x(m.index), m.to_numpy(), ls, color=colour_cycle(mi), lw=1.2)
    _epoch_line(ax, b)
    ax.set_xscale("log")
    ax.set_xlabel("step + 1 (log; dotted: end of epoch 0)")
    ax.set_ylabel("breakpoints per unit L2 (pixel-value units)")
    ax.set_title(f"breakpoint density per unit L2 [{attack}]")
    styles = [
        Line2D([], [], color="0.3", ls=ls, label=lab)
        for ls, lab in (("-", "along δ"), ("--", "along the last δ"), (":", "random directions"))
    ]
    ax.legend(handles=styles, fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
    _tau_panel(axes[5], cps)
    # one legend for the model colours, outside every panel (7 models would cover a panel's data)
    handles = [Line2D([], [], color=colour_cycle(mi), marker="o", ms=3, lw=1.2, label=m) for mi, m in enumerate(models)]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(models), 7), fontsize=7, frameon=False)
    return fig


N_BOOT = 2000
READING_COLOURS = {"A": "tab:blue", "B": "tab:red"}
ATTACK_MARKERS = ("o", "s", "^", "D", "v")


def tau_summary(cps: pd.DataFrame, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Per model, reading and attack: median τ (epochs) over the accepted hinges of every run and
    series, its 95% interval by a seeded two-stage bootstrap (runs, then hinges within a run: a
    model's seeds are its units), and how many hinges BIC accepted out of all fitted (counted, not
    dropped)."""
    rows = []
    for (model, reading, attack), g in cps.groupby(["model", "reading", "attack"], sort=False):
        acc = g[g["accepted"] & g["tau_epoch"].notna()]
        per_run = [v["tau_epoch"].to_numpy(float) for _, v in acc.groupby("run", sort=True)]
        row = {
            "model": model,
            "reading": reading,
            "attack": attack,
            "n_accepted": len(acc),
            "n_fitted": len(g),
            "runs": g["run"].nunique(),
            "tau": np.nan,
            "low": np.nan,
            "high": np.nan,
        }
        if per_run:
            row["tau"] = float(np.median(np.concatenate(per_run)))
            rng = np.random.default_rng(zlib.crc32(f"{model}|{reading}|{attack}".encode()))
            boot = np.empty(n_boot)
            for b in range(n_boot):
                picks = rng.integers(0, len(per_run), len(per_run))
                boot[b] = np.median(np.concatenate([rng.choice(per_run[i], len(per_run[i])) for i in picks]))
            row["low"], row["high"] = (float(q) for q in np.quantile(boot, [0.025, 0.975]))
        rows.append(row)
    return pd.DataFrame(rows)


def _tau_panel(ax, cps: pd.DataFrame) -> None:
    """One row per model: median τ with its interval per reading (colour) and attack (marker)."""
    name = "change points τ per model (Reading A blue, B red)"
    summ = tau_summary(cps) if len(cps) else pd.DataFrame()
    if summ.empty or summ["n_accepted"].sum() == 0:
        empty_panel(ax, f"no hinge accepted by BIC ({len(cps)} fitted)")
        ax.set_title(name)
        return
    models = list(dict.fromkeys(summ["model"]))
    attacks = list(dict.fromkeys(summ["attack"]))
    combos = [(r, a) for r in ("A", "B") for a in attacks]
    offsets = np.linspace(-0.3, 0.3, len(combos)) if len(combos) > 1 else np.zeros(1)
    for (reading, attack), off in zip(combos, offsets):
        g = summ[(summ["reading"] == reading) & (summ["attack"] == attack)].set_index("model").reindex(models)
        y = np.arange(len(models)) + off
        lo = (g["tau"] - g["low"]).clip(lower=0).to_numpy()
        hi = (g["high"] - g["tau"]).clip(lower=0).to_numpy()
        ax.errorbar(
            g["tau"],
            y,
            xerr=[np.nan_to_num(lo), np.nan_to_num(hi)],
            fmt=ATTACK_MARKERS[attacks.index(attack) % len(ATTACK_MARKERS)],
            ms=4,
            color=READING_COLOURS[reading],
            ecolor=READING_COLOURS[reading],
            elinewidth=1,
            lw=0,
            label=f"Reading {reading} · {attack}",
        )
    ax.axvline(1.0, color="0.5", ls=":", lw=1)
    ax.set_yticks(np.arange(len(models)), models, fontsize=7)
    ax.set_ylim(len(models) - 0.5, -0.5)
    counts = summ.groupby(["model", "reading"])[["n_accepted", "n_fitted"]].sum()
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(
        np.arange(len(models)),
        [
            " ".join(
                f"{r} {counts.loc[(m, r), 'n_accepted']}/{counts.loc[(m, r), 'n_fitted']}"
                for r in ("A", "B")
                if (m, r) in counts.index
            )
            for m in models
        ],
        fontsize=6.5,
    )
    right.set_ylabel("hinges accepted / fitted")
    ax.set_xlabel("τ (epochs; dotted: end of epoch 0): median, 95% bootstrap CI over runs")
    ax.set_ylabel("model")
    ax.set_title(name)
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
