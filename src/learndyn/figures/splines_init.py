"""F2 (breakpoint laws at init) and F3 (flat initial functions vs width) of the splines study."""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.figures.style import colour_cycle, empty_panel, new_figure, style, title


@style
def fig_breakpoint_laws(laws: pd.DataFrame, hists: pd.DataFrame):
    """F2: one panel per init case, empirical β density (log) vs the theoretical law, β clipped to ±10."""
    cases = list(dict.fromkeys(laws["case"])) or list(dict.fromkeys(hists["case"]))
    ncol = min(4, max(1, len(cases)))
    nrow = int(np.ceil(len(cases) / ncol)) if cases else 1
    fig = new_figure(3.3 * ncol, 2.6 * nrow + 0.7)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, sharex=True, sharey=True, squeeze=False)).ravel()
    n = int(laws["n"].max()) if len(laws) else 0
    title(
        fig,
        "F2 Breakpoints β = −b/w at initialisation vs theory",
        f"n = {n} draws per case; histogram on [−10, 10] (200 bins, mass beyond ±10 not shown); "
        "config: splines.init_laws",
    )
    for ax, case in zip(axes, cases):
        h = hists[hists["case"] == case].sort_values("bin_lo")
        law = laws[laws["case"] == case]
        edges = np.append(h["bin_lo"].to_numpy(), h["bin_hi"].to_numpy()[-1:])
        dens = h["density"].to_numpy()
        ax.stairs(np.where(dens > 0, dens, np.nan), edges, color="C0", lw=1.0, label="empirical")
        family = law["family"].iloc[0] if len(law) else ""
        if family in ("he", "glorot", "lecun") or (family == "gaussian" and "sb/sw=0" in case):
            ax.annotate(
                "theory: point mass at β = 0",
                xy=(0, dens.max() if dens.size else 1),
                xytext=(1.2, 1e-1),
                fontsize=7.5,
                color="C3",
                arrowprops={"arrowstyle": "->", "color": "C3", "lw": 0.8},
            )
        else:
            ax.stairs(h["theory_density"].to_numpy(), edges, color="C3", lw=1.0, ls="--", label="theory")
        mass = float(np.sum(dens * np.diff(edges)))
        lines = [f"P(|β|>10) = {1 - mass:.3f}"]
        if len(law):
            r = law.iloc[0]
            ok = "pass" if r["ks"] < r["ks_threshold"] else "FAIL"
            lines = [
                f"KS = {r['ks']:.4f} ({ok} < {r['ks_threshold']:.4f})",
                f"P(|β|≤1) = {r['p_abs_le_1']:.3f} (th. {r['theory_p_abs_le_1']:.3f})",
                f"P(|β|>2) = {r['p_abs_gt_2']:.3f} (th. {r['theory_p_abs_gt_2']:.3f})",
            ] + lines
        ax.text(
            0.02,
            0.97,
            "\n".join(lines),
            transform=ax.transAxes,
            va="top",
            fontsize=6.8,
            bbox={"fc": "white", "ec": "0.8", "alpha": 0.85},
        )
        ax.set_yscale("log")
        ax.set_title(case)
        ax.set_xlim(-10, 10)
        ax.axvspan(-1, 1, color="0.9", zorder=0)
    for ax in axes[len(cases) :]:
        ax.set_visible(False)
    if not cases:
        empty_panel(axes[0])
    for ax in axes[-ncol:]:
        ax.set_xlabel("breakpoint β (clipped to ±10)")
    for ax in axes[::ncol]:
        ax.set_ylabel("density (log)")
    axes[0].legend(loc="lower left", frameon=False)
    return fig


STATS = (
    ("sum_mu2", "theory_sum_mu2", "E Σ μ²  (all knots)"),
    ("fprime2", "theory_fprime2", "Var f₀'(x = 0.37)"),
    ("tv_0", None, "E TV on the hull = E Σ_hull |μ|"),
)


@style
def fig_flatness(flatness: pd.DataFrame, functions: pd.DataFrame):
    """F3: (a) draws of f_0 on [−1, 1] per init and width; (b) moments vs H (log-log) with theory."""
    from learndyn.splines.init_analysis import loglog_slope  # scipy.stats: not when the rules import the figure list

    families = list(dict.fromkeys(flatness["family"])) or list(dict.fromkeys(functions["family"]))
    widths = sorted(set(functions["width"]) | set(flatness["width"]))
    nf, nw = max(1, len(families)), max(1, len(widths))
    fig = new_figure(max(9.0, 2.3 * nw), 1.7 * nf + 3.6)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.7 * nf, 3.0])
    n_draws = functions.groupby(["family", "width"])["draw"].nunique()
    title(
        fig,
        "F3 Flat initial functions f₀ vs width H",
        f"(a) {int(n_draws.max()) if len(n_draws) else 0} draws of f₀ per (init, H); (b) means over "
        "R = max(min_draws, draws_budget/H) draws ± s.e.; config: splines.flatness",
    )
    ax_a = top.subplots(nf, nw, sharex=True, sharey=True, squeeze=False)
    top.suptitle("(a) draws of f₀ on the hull [−1, 1] (common y-scale)", fontsize=9)
    for i, fam in enumerate(families):
        for j, width in enumerate(widths):
            ax = ax_a[i, j]
            sub = functions[(functions["family"] == fam) & (functions["width"] == width)]
            for _, d in sub.groupby("draw"):
                ax.plot(d["x"], d["f"], lw=0.7, alpha=0.6, color=colour_cycle(i))
            if sub.empty:
                ax.text(0.5, 0.5, "no draws", transform=ax.transAxes, ha="center", color="0.5")
            ax.axhline(0, color="0.6", lw=0.5)
            ax.set_title(f"{fam}, H = {width}", fontsize=8)
            if j == 0:
                ax.set_ylabel("f₀(x)")
            if i == nf - 1:
                ax.set_xlabel("x")
    ax_b = bottom.subplots(1, 3, squeeze=False)[0]
    bottom.suptitle(
        "(b) flatness statistics vs H (log-log); solid: Monte Carlo, dashed: theory "
        "(splines.md, 'Delta-slope and function moments'), dotted: ∝ √H guide",
        fontsize=9,
    )
    for k, (col, theory, label) in enumerate(STATS):
        ax = ax_b[k]
        for i, fam in enumerate(families):
            sub = flatness[flatness["family"] == fam]
            if sub.empty:
                continue
            g = sub.groupby("width")[col]
            mean, sem = g.mean(), g.std().fillna(0) / np.sqrt(g.count())
            h = mean.index.to_numpy(float)
            slope = loglog_slope(sub["width"], sub[col]) if len(mean) > 1 and (mean > 0).all() else np.nan
            ax.errorbar(
                h,
                mean,
                yerr=sem,
                marker="o",
                ms=4,
                capsize=2,
                color=colour_cycle(i),
                label=f"{fam} (slope {slope:.2f})",
            )
            if theory is not None:
                th = sub.groupby("width")[theory].first()
                ax.plot(th.index, th.to_numpy(), ls="--", color=colour_cycle(i), lw=1)
            elif len(h):
                ax.plot(h, mean.iloc[0] * np.sqrt(h / h[0]), ls=":", color=colour_cycle(i), lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log", nonpositive="mask")
        ax.set_xlabel("width H")
        ax.set_title(label)
        ax.legend(frameon=False, fontsize=7)
    return fig
