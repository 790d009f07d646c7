"""F1 (spline anatomy), F6 (training trajectories) and F8 (knots vs curvature) of the splines study; F7 is in
:mod:`learndyn.figures.splines_regularisation`.

All drawn from the trajectory tables' stored (w, b, v, c) and spline coordinates, never checkpoints.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from scipy.interpolate import CubicSpline

from learndyn.figures.splines_common import (
    STEP0_OFFSET,
    data_lines,
    f_of_params,
    first_run,
    hull_pad,
    log_steps,
    presets_in_order,
    run_data,
    status,
)
from learndyn.figures.style import (
    ORIENTATION_COLOURS,
    PRESET_COLOURS,
    SIGN_COLOURS,
    colour_cycle,
    empty_panel,
    new_figure,
    style,
    title,
)
from learndyn.splines.tables import run_params

ANATOMY_RANGE = (-3.0, 3.0)
ALPHA_QUANTILE = 0.9  # F6: opacity ∝ |μ|, saturating at this quantile of the panel's |μ|


def _anatomy_run(runs: pd.DataFrame) -> pd.Series:
    presets = presets_in_order(runs)
    return first_run(runs, "torch_like" if "torch_like" in presets else presets[0])


@style
def fig_anatomy(traj: pd.DataFrame, runs: pd.DataFrame, datasets: pd.DataFrame):
    """F1: f = c~ + Σ μ_i[s_i(x − β_i)]_+ of one trained net, its knots and its individual hinges."""
    row = _anatomy_run(runs)
    x, y, dname = run_data(runs, datasets)
    step = int(traj.loc[traj["run"] == row["run"], "step"].max())
    g = traj[(traj["run"] == row["run"]) & (traj["step"] == step)].sort_values("unit")
    p = run_params(traj, int(row["run"]), step)
    lo, hi = ANATOMY_RANGE
    knots = g[(~g["far"]) & g["breakpoint"].between(lo, hi)]
    grid = np.unique(np.concatenate([np.linspace(lo, hi, 1201), knots["breakpoint"].to_numpy()]))
    f = f_of_params(p, grid)
    fig = new_figure(9.5, 7.5)
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[1.4, 1])
    title(
        fig,
        "F1 Spline anatomy of a shallow ReLU net: f(x) = c̃ + Σᵢ μᵢ [sᵢ (x − βᵢ)]₊",
        f"preset {row['preset']}, H = {int(row['width'])}, seed {int(row['seed'])}, {dname}, after {step} GD steps "
        f"({status(row)}); config: splines.sweeps.presets, splines.train",
    )
    for a in (ax, ax2):
        a.axvspan(x.min(), x.max(), color="0.92", zorder=0, label="data hull" if a is ax else None)
    ax.plot(grid, f, color="k", lw=1.6, label="f(x)", zorder=2)
    ax.scatter(x, y, color="k", marker="x", s=30, zorder=4, label=f"data {dname}")
    amax = float(np.abs(knots["delta_slope"]).max()) if len(knots) else 1.0
    fk = f_of_params(p, knots["breakpoint"].to_numpy())
    for s, colour in ORIENTATION_COLOURS.items():
        k = knots["orientation"].to_numpy() == s
        size = 6 + 140 * np.abs(knots["delta_slope"].to_numpy()[k]) / amax
        ax.scatter(
            knots["breakpoint"].to_numpy()[k],
            fk[k],
            s=size,
            color=colour,
            alpha=0.75,
            edgecolors="k",
            linewidths=0.3,
            zorder=3,
            label=f"knot β_i, s = {s:+d} ({'right' if s > 0 else 'left'}-facing); area ∝ |μ_i|",
        )
    left = knots[knots["orientation"] == -1]
    if len(left):
        inside = left[left["breakpoint"].between(x.min(), x.max())]
        u = (inside if len(inside) else left).loc[lambda d: d["delta_slope"].abs().idxmax()]
        wv = float(u["w"] * u["v"])
        fb = float(f_of_params(p, [u["breakpoint"]])[0])
        ax.annotate(
            f"unit {int(u['unit'])}, left-facing (w < 0)\nslope jump μ = v|w| = {u['delta_slope']:+.3f}\n"
            f"w·v = {wv:+.3f} = −μ: slope it adds on its\nactive (left) side, not the jump",
            xy=(u["breakpoint"], fb),
            xytext=(0.02, 0.05),
            textcoords="axes fraction",
            fontsize=7.5,
            arrowprops={"arrowstyle": "->", "color": ORIENTATION_COLOURS[-1]},
            bbox={"fc": "white", "ec": ORIENTATION_COLOURS[-1], "alpha": 0.9},
        )
    n_out = int((~g["far"] & ~g["breakpoint"].between(lo, hi)).sum()) + int(g["far"].sum())
    ax.set_ylabel("f(x)")
    ax.set_title(f"f and its {len(knots)} knots in [{lo:g}, {hi:g}] ({n_out} more outside or far)")
    ax.legend(loc="upper right", fontsize=7, framealpha=0.9)
    offset = float(p["c"]) + float(np.sum(p["v"][p["w"] == 0] * np.maximum(p["b"][p["w"] == 0], 0)))
    for _, u in knots.iterrows():
        h = u["delta_slope"] * np.maximum(u["orientation"] * (grid - u["breakpoint"]), 0)
        ax2.plot(
            grid,
            h,
            color=ORIENTATION_COLOURS[int(u["orientation"])],
            lw=0.8,
            alpha=float(0.15 + 0.85 * abs(u["delta_slope"]) / amax),
        )
    ax2.axhline(offset, color="k", lw=0.8, ls="--")
    ax2.set_ylabel("μ_i [s_i (x − β_i)]₊")
    ax2.set_xlabel("x")
    ax2.set_xlim(lo, hi)
    ax2.set_title("individual hinges (colour = s_i, opacity ∝ |μ_i|; dashed: offset c̃); f = c̃ + their sum")
    return fig


def _beta_segments(g: pd.DataFrame):
    """Per-unit (log t, β) segments between consecutive steps, with μ at the segment's end."""
    segs, mus = [], []
    for _, u in g.sort_values(["unit", "step"]).groupby("unit"):
        t, b, m = log_steps(u["step"]), u["breakpoint"].to_numpy(), u["delta_slope"].to_numpy()
        ok = (~u["far"].to_numpy()) & np.isfinite(b)
        keep = ok[:-1] & ok[1:]
        segs.append(np.stack([np.c_[t[:-1], b[:-1]], np.c_[t[1:], b[1:]]], axis=1)[keep])
        mus.append(m[1:][keep])
    return (np.concatenate(segs) if segs else np.empty((0, 2, 2))), (np.concatenate(mus) if mus else np.empty(0))


def _snapshot_steps(steps, n: int = 6) -> list[int]:
    """Step 0, the last step and recorded steps nearest to log-spaced targets in between."""
    steps = np.unique(np.asarray(steps, int))
    if steps.size <= n:
        return list(steps)
    pos = steps[steps > 0]
    targets = np.geomspace(pos[0], pos[-1], n - 1)
    picks = pos[np.abs(np.log(pos)[None, :] - np.log(targets)[:, None]).argmin(axis=1)]
    return list(np.unique(np.r_[steps[0], picks, steps[-1]]))


@style
def fig_trajectories(traj: pd.DataFrame, runs: pd.DataFrame, datasets: pd.DataFrame):
    """F6: β_i(t), μ_i(t) and snapshots of f_t for one run (smallest seed) of each preset."""
    presets = presets_in_order(runs)
    x, y, dname = run_data(runs, datasets)
    blo, bhi = hull_pad(x, 0.5)
    fig = new_figure(4.3 * max(1, len(presets)), 10.5)
    axes = fig.subplots(3, max(1, len(presets)), squeeze=False)
    width = int(runs["width"].iloc[0]) if len(runs) else 0
    title(
        fig,
        "F6 Knot trajectories during GD training, per init preset",
        f"H = {width} on {dname}, smallest seed per preset; step 0 drawn at t = {STEP0_OFFSET}; "
        f"β axis clipped to [{blo:g}, {bhi:g}]; config: splines.sweeps.presets, splines.train",
    )
    if not presets:
        empty_panel(axes[0, 0])
    for j, preset in enumerate(presets):
        row = first_run(runs, preset)
        g = traj[traj["run"] == row["run"]]
        ax = axes[0, j]
        segs, mus = _beta_segments(g)
        amax = float(np.quantile(np.abs(g["delta_slope"]), ALPHA_QUANTILE)) or 1.0
        colours = np.array([SIGN_COLOURS[1] if m >= 0 else SIGN_COLOURS[-1] for m in mus])
        rgba = np.array([to_rgba(c) for c in colours]) if len(colours) else np.empty((0, 4))
        if len(rgba):
            rgba[:, 3] = np.clip(0.06 + 0.94 * np.abs(mus) / amax, 0, 1)
        ax.add_collection(LineCollection(segs, colors=rgba, linewidths=1.0))
        data_lines(ax, x, axis="y", color="k", lw=0.8, ls="--", alpha=0.6)
        ax.set_xscale("log")
        ax.set_xlim(STEP0_OFFSET * 0.8, log_steps(g["step"]).max() * 1.25)
        ax.set_ylim(blo, bhi)
        ax.set_title(f"{preset} (seed {int(row['seed'])}): {status(row)}", color=PRESET_COLOURS.get(preset, "k"))
        ax.set_ylabel("knot β_i(t)")
        ax.set_xlabel("GD step t (log)")
        if j == 0:
            ax.legend(
                handles=[
                    Line2D([], [], color=SIGN_COLOURS[1], label="μ > 0"),
                    Line2D([], [], color=SIGN_COLOURS[-1], label="μ < 0"),
                    Line2D([], [], color="k", ls="--", label="data x_n"),
                ],
                fontsize=7,
                loc="upper left",
                title=f"opacity ∝ |μ| (full at the\n{ALPHA_QUANTILE:.0%} quantile of |μ|)",
                title_fontsize=7,
                framealpha=0.85,
            )
        ax = axes[1, j]
        for unit, u in g.sort_values("step").groupby("unit"):
            m = u["delta_slope"].to_numpy()
            ax.plot(log_steps(u["step"]), np.abs(m), lw=0.6, alpha=0.5, color=SIGN_COLOURS[1 if m[-1] >= 0 else -1])
        ax.set_xscale("log")
        ax.set_yscale("log", nonpositive="mask")
        ax.set_ylabel("|μ_i(t)| (log)")
        ax.set_xlabel("GD step t (log)")
        ax.set_title("delta-slopes |μ_i(t)| (colour: sign of μ_i at the last step)")
        ax = axes[2, j]
        lo, hi = hull_pad(x, 0.15)
        grid = np.linspace(lo, hi, 801)
        snaps = _snapshot_steps(g["step"])
        cmap = matplotlib.colormaps["viridis"]
        for k, st in enumerate(snaps):
            ax.plot(
                grid,
                f_of_params(run_params(traj, int(row["run"]), int(st)), grid),
                lw=1.1,
                color=cmap(k / max(1, len(snaps) - 1)),
                label=f"t = {st}",
            )
        ax.scatter(x, y, color="k", marker="x", s=25, zorder=3)
        ax.set_xlabel("x")
        ax.set_ylabel("f_t(x)")
        ax.set_title("snapshots of f_t")
        ax.legend(fontsize=6.5, ncol=2, loc="best", framealpha=0.8)
    return fig


def _curvature_density(x, y, grid, power: float) -> np.ndarray:
    d2 = np.abs(CubicSpline(x, y, bc_type="natural").derivative(2)(grid)) ** power
    area = np.trapezoid(d2, grid)
    return d2 / area if area > 0 else d2


def _hull_knots(traj: pd.DataFrame, step_of_run: dict, lo: float, hi: float):
    rows = [traj[(traj["run"] == r) & (traj["step"] == s)] for r, s in step_of_run.items()]
    g = pd.concat(rows) if rows else traj.iloc[:0]
    g = g[(~g["far"]) & g["breakpoint"].between(lo, hi)]
    return g["breakpoint"].to_numpy(), np.abs(g["delta_slope"].to_numpy())


@style
def fig_knots_vs_curvature(traj: pd.DataFrame, runs: pd.DataFrame, datasets: pd.DataFrame):
    """F8: |μ|-weighted histogram of final knots (all seeds pooled) vs |f''|^{2/5} and |f''|^{1/2} densities."""
    x, y, dname = run_data(runs, datasets)
    lo, hi = float(x.min()), float(x.max())
    last = traj.groupby("run")["step"].max().to_dict()
    first = traj.groupby("run")["step"].min().to_dict()
    bT, wT = _hull_knots(traj, last, lo, hi)
    b0, w0 = _hull_knots(traj, first, lo, hi)
    fig = new_figure(12, 4.8)
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.35, 1])
    presets = ", ".join(presets_in_order(runs))
    title(
        fig,
        "F8 (speculative) Where do the knots go? Final knots vs the target's curvature",
        f"preset {presets}, H = {int(runs['width'].iloc[0])}, {len(last)} runs pooled, {dname} (N = {x.size}); "
        "config: splines.sweeps.curvature, splines.data.d5_points, splines.train",
    )
    edges = np.linspace(lo, hi, 41)
    grid = np.linspace(lo, hi, 2001)
    if wT.sum() > 0:
        ax.hist(
            bT,
            bins=edges,
            weights=wT,
            density=True,
            color="C0",
            alpha=0.55,
            label=f"final knots, |μ|-weighted ({bT.size} in hull)",
        )
    if w0.sum() > 0:
        ax.hist(
            b0,
            bins=edges,
            weights=w0,
            density=True,
            histtype="step",
            color="0.4",
            ls="--",
            label="initial knots, |μ|-weighted",
        )
    for p, colour, why in ((0.4, "C3", "L2 free-knot optimum"), (0.5, "C2", "L∞ free-knot optimum")):
        ax.plot(
            grid,
            _curvature_density(x, y, grid, p),
            color=colour,
            lw=1.6,
            label=f"∝ |f''|^{p:g} ({why}; classical theory, not the paper)",
        )
    ax.set_xlabel("x")
    ax.set_ylabel("density on the hull")
    ax.set_title("knot density vs curvature densities (f'' from the data's natural cubic spline)")
    ax.legend(fontsize=7, loc="upper center", framealpha=0.9)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.35)
    grid2 = np.linspace(*hull_pad(x, 0.1), 801)
    for i, (_, r) in enumerate(runs.sort_values("run").iterrows()):
        ls = "-" if r["converged"] else "--"
        ax2.plot(
            grid2,
            f_of_params(run_params(traj, int(r["run"])), grid2),
            color=colour_cycle(i),
            lw=1,
            ls=ls,
            label=f"seed {int(r['seed'])}: {status(r)}",
        )
    ax2.scatter(x, y, color="k", s=8, zorder=3, label=f"data {dname}")
    data_lines(ax2, [lo, hi])
    ax2.set_xlabel("x")
    ax2.set_ylabel("f_T(x)")
    ax2.set_title("final functions (dashed: not converged)")
    ax2.legend(fontsize=6.5, loc="best")
    return fig
