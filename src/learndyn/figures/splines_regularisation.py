"""F7 (implicit regularisation) of the splines study: the final functions of the init presets against the
cubic and linear interpolants, and the regime metrics along the rho, alpha and width sweeps (splines.md,
'Implicit regularization: metrics, sweeps, expected outcomes').
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from learndyn.figures.splines_common import f_of_params, hull_pad, presets_in_order, references, run_data
from learndyn.figures.style import PRESET_COLOURS, REF_STYLE, colour_cycle, empty_panel, new_figure, style, title
from learndyn.splines.tables import run_params

METRIC_ROWS = (
    (
        "distance to the interpolants (log)",
        "log",
        (("d_cs", "d_CS (to NCS)", "-", "o"), ("d_li", "d_LI (to LI)", "--", "s")),
    ),
    (
        "knot displacement (log)",
        "log",
        (
            ("displacement_median", "median |Δβ|", "-", "o"),
            ("displacement_weighted", "|μ|-weighted mean |Δβ|", "--", "s"),
        ),
    ),
    ("pinning fraction, ε = 0.01", "linear", (("pinning_fraction", "pinned |μ| mass", "-", "o"),)),
    ("effective kinks", "linear", (("effective_kinks", "effective kinks", "-", "o"),)),
)
SWEEP_COLUMNS = (
    ("rho", "layer ratio ρ (S2)", "knob_value"),
    ("alpha", "overall scale α (S3, antisymmetric)", "knob_value"),
    ("width", "width H (S4)", "width"),
)


def _preset_colour(preset: str, i: int) -> str:
    return PRESET_COLOURS.get(preset, colour_cycle(i + 4))


def _sweep_panel(ax, sub: pd.DataFrame, xcol: str, metrics, n_data: int | None, show_legend: bool) -> None:
    for i, (preset, d) in enumerate(sub.groupby("preset", sort=False)):
        colour = _preset_colour(preset, i)
        for col, label, ls, marker in metrics:
            agg = d.groupby(xcol)[col].agg(["mean", "std"]).sort_index()
            ax.errorbar(
                agg.index,
                agg["mean"],
                yerr=agg["std"].fillna(0),
                color=colour,
                ls=ls,
                marker=marker,
                ms=4.5,
                capsize=2.5,
                lw=1.2,
                label=f"{preset}: {label} (mean ± sd)",
            )
            conv = d["converged"].to_numpy(bool)
            xs, vs = d[xcol].to_numpy(float), d[col].to_numpy(float)
            ax.scatter(xs[conv], vs[conv], marker=marker, s=12, color=colour, alpha=0.6, zorder=3)
            ax.scatter(
                xs[~conv], vs[~conv], marker=marker, s=16, facecolors="none", edgecolors=colour, alpha=0.8, zorder=3
            )
    if metrics[0][0] == "pinning_fraction" and len(sub):
        ax.axhline(float(sub["pinning_chance"].mean()), color="0.4", ls=":", lw=1, label="chance baseline")
        ax.set_ylim(-0.03, 1.03)
    if metrics[0][0] == "effective_kinks" and n_data:
        ax.axhline(n_data, color="0.4", ls=":", lw=1, label=f"N = {n_data} data points")
    if show_legend:
        ax.legend(fontsize=6.3, loc="best", framealpha=0.85)


@style
def fig_implicit_regularisation(metrics: pd.DataFrame, traj: pd.DataFrame, runs: pd.DataFrame, datasets: pd.DataFrame):
    """F7: (a) final f of each preset vs NCS and LI; (b) metrics M1–M4 vs ρ, α and H, mean ± sd over seeds."""
    presets = presets_in_order(runs)
    x, y, dname = run_data(runs, datasets)
    fig = new_figure(13.5, 17.5)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 3.7])
    n_conv = int(metrics["converged"].sum())
    title(
        fig,
        "F7 Implicit regularisation: kernel (cubic spline) vs adaptive (linear spline) regimes",
        f"{len(metrics)} runs, {n_conv} converged (hollow markers / dashed curves: NOT converged, step cap hit); "
        "config: splines.sweeps.{presets, rho, alpha, width}, splines.seeds, splines.train",
    )
    ax_a = top.subplots(1, max(1, len(presets)), sharey=True, squeeze=False)[0]
    top.suptitle(
        f"(a) final f for each preset on {dname} (H = {int(runs['width'].iloc[0])}, all seeds) vs the "
        "natural cubic spline (NCS) and linear interpolant (LI)",
        fontsize=9,
    )
    grid = np.linspace(*hull_pad(x, 0.08), 801)
    ref = references(x, y, grid)
    for ax, preset in zip(ax_a, presets):
        colour = PRESET_COLOURS.get(preset, "C0")
        for _, r in runs[runs["preset"] == preset].sort_values("seed").iterrows():
            ax.plot(
                grid,
                f_of_params(run_params(traj, int(r["run"])), grid),
                color=colour,
                lw=1.1,
                alpha=0.75,
                ls="-" if r["converged"] else "--",
            )
        ax.plot(grid, ref["ncs"], **REF_STYLE["ncs"], label="NCS")
        ax.plot(grid, ref["li"], **REF_STYLE["li"], label="LI")
        ax.scatter(x, y, color="k", zorder=4, s=18)
        m = metrics[(metrics["sweep"] == "presets") & (metrics["preset"] == preset)]
        stats = (
            (
                f"d_CS {m['d_cs'].mean():.2f}, d_LI {m['d_li'].mean():.2f}, pinned {m['pinning_fraction'].mean():.2f}"
                f", kinks {m['effective_kinks'].mean():.1f}"
            )
            if len(m)
            else ""
        )
        r = runs[runs["preset"] == preset]
        ax.set_title(f"{preset}: {int(r['converged'].sum())}/{len(r)} converged\n{stats}", color=colour)
        ax.set_xlabel("x")
        ax.legend(
            handles=[
                Line2D([], [], color=colour, label="final f (dashed: not conv.)"),
                Line2D([], [], **REF_STYLE["ncs"], label="NCS"),
                Line2D([], [], **REF_STYLE["li"], label="LI"),
            ],
            fontsize=7,
            loc="best",
        )
    ax_a[0].set_ylabel("f_T(x)")
    ax_b = bottom.subplots(len(METRIC_ROWS), len(SWEEP_COLUMNS), squeeze=False, sharex="col")
    bottom.suptitle(
        "(b) metrics vs the regime knobs; lines: mean ± sd over seeds, markers: single seeds "
        "(filled: converged, hollow: not)",
        fontsize=9,
    )
    n_of = {d: int((datasets["dataset"] == d).sum()) for d in datasets["dataset"].unique()}
    for j, (sweep, xlabel, xcol) in enumerate(SWEEP_COLUMNS):
        sub = metrics[metrics["sweep"] == sweep]
        n_data = n_of.get(sub["dataset"].iloc[0]) if len(sub) else None
        for i, (row_label, yscale, cols) in enumerate(METRIC_ROWS):
            ax = ax_b[i, j]
            if sub.empty:
                empty_panel(ax, f"no '{sweep}' sweep in this run")
                continue
            _sweep_panel(ax, sub, xcol, cols, n_data, show_legend=(i == 0 or j == 0 or sweep == "width"))
            ax.set_xscale("log")
            if xcol == "width":  # few widths: label them plainly
                ax.set_xticks(sorted(sub["width"].unique()), [str(w) for w in sorted(sub["width"].unique())])
                ax.xaxis.set_minor_formatter(NullFormatter())
            if yscale == "log":
                ax.set_yscale("log", nonpositive="mask")
            if j == 0:
                ax.set_ylabel(row_label)
            if i == 0:
                ds = ", ".join(sorted(sub["dataset"].unique()))
                ax.set_title(f"{xlabel}; {ds}, H = {', '.join(map(str, sorted(sub['width'].unique())))}")
            if i == len(METRIC_ROWS) - 1:
                ax.set_xlabel(xlabel + " (log)")
    return fig
