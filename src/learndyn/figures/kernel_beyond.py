"""Kernel study, beyond the paper: the init-scale sweep (L) and the pseudo-kernel of the splines
study's shallow ReLU nets against their measured lazy/rich regime (M)."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm

from learndyn.figures.style import empty_panel, new_figure, style, title

LOSS_LABELS = {"final_single_test": "final single-task test SSE", "final_multi_test": "final multitask test SSE"}


def _rho_text(st, x, y) -> str:
    m = st[(st.x == x) & (st.y == y) & (st.level == "mean")]
    if m.empty:
        return "rho n/a"
    m = m.iloc[0]
    return f"Spearman rho across scales: mean {m.rho:.2f}\n95% CI [{m.ci_lo:.2f}, {m.ci_hi:.2f}] over {m.n} replicates"


@style
def fig_scale_sweep(sweep, sweep_curves, sweep_stats):
    fig = new_figure(13, 7.5)
    axes = fig.subplots(2, 3)
    norm = LogNorm(sweep.w.min(), sweep.w.max()) if sweep.w.nunique() > 1 else None
    cmap = colormaps["viridis"]
    for ax, col in zip(axes[0], ("silhouette", "final_single_test", "final_multi_test")):
        for _, g in sweep.groupby("replicate"):
            ax.plot(g.w, g[col], color="0.7", lw=0.7, marker=".", zorder=0)
        m = sweep.groupby("w")[col].agg(["mean", "std"]).fillna(0)
        ax.errorbar(m.index, m["mean"], yerr=m["std"], color="k", marker="o", capsize=3, label="mean ± s.d.")
        ax.set_xscale("log")
        if col != "silhouette":
            ax.set_yscale("log")
        ax.set(
            xlabel="init scale w (U[-w, w])",
            ylabel=LOSS_LABELS.get(col, "t = 0 silhouette"),
            title=_rho_text(sweep_stats, "w", col),
        )
    axes[0, 0].legend()
    for ax, col in zip(axes[1, :2], LOSS_LABELS):
        sc = ax.scatter(sweep.silhouette, sweep[col], c=sweep.w, cmap=cmap, norm=norm, s=22)
        ax.set_yscale("log")
        ax.set(xlabel="t = 0 silhouette", ylabel=LOSS_LABELS[col], title=_rho_text(sweep_stats, "silhouette", col))
    fig.colorbar(sc, ax=axes[1, 1], label="init scale w")
    ax = axes[1, 2]
    if sweep_curves.empty:
        empty_panel(ax)
    else:
        T = sweep_curves[sweep_curves.phase == 1].step.max()
        w_of = sweep.drop_duplicates("init").set_index("init")["w"]
        for init in sorted(sweep_curves.init.unique(), key=w_of.get):
            g = sweep_curves[sweep_curves.init == init]
            test = g[((g.step <= T) & (g.set == "single_test")) | ((g.step > T) & (g.set == "multi_test"))]
            m = test.groupby("step")["sse"].mean()
            ax.semilogy(m.index, m, color=cmap(norm(w_of[init])) if norm else "k", label=f"w = {w_of[init]:g}")
        ax.axvline(T, color="0.5", ls=":", lw=0.8)
        ax.set(
            xlabel="step (phase 1: single-task test; phase 2: multitask test)",
            ylabel="test SSE (mean)",
            title="test loss by init scale",
        )
        ax.legend(fontsize=6.5)
    sched = ", ".join(sorted(sweep.schedule.unique()))
    title(
        fig,
        f"L. Init-scale sweep (beyond the paper): t = 0 structure vs final losses ({sched}, "
        f"lr {', '.join(f'{v:g}' for v in sorted(sweep.lr.unique()))})",
        "grey: one replicate (one draw scaled to every w, same data); kernel.sweep, kernel.claims.sweep_rho",
    )
    return fig


SWEEP_MARKERS = {"presets": "o", "rho": "s", "alpha": "^", "width": "D", "curvature": "v"}


@style
def fig_splines_regime(regime, stats):
    fig = new_figure(13, 4.2)
    axes = fig.subplots(1, 3)
    pool = stats[stats["pool"] == "pool"]
    floor = 1e-12  # knot shares reach ~1e-9 (lazy); clip for the log axis
    for ax, col in zip(axes[:2], ("lazy_rms", "displacement_median")):
        for i, (sweep, g) in enumerate(regime.groupby("sweep", sort=False)):
            ax.scatter(
                g.knot_share.clip(lower=floor),
                g[col].clip(lower=floor),
                s=16,
                label=f"{sweep} (n = {len(g)})",
                marker=SWEEP_MARKERS.get(sweep, "o"),
                color=f"C{i}",
                alpha=0.8,
            )
        r = pool[(pool.predictor == "knot_share") & (pool.regime == col)]
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="knot share of the t = 0 pseudo-kernel step",
            ylabel={
                "lazy_rms": "M6 RMS(f_T - f_lazy) (small = lazy)",
                "displacement_median": "M2 median knot displacement",
            }[col],
            title=f"pool rho = {r.rho.iloc[0]:.2f} (n = {r.n.iloc[0]})" if len(r) else "",
        )
    axes[0].legend(fontsize=6.5)
    ax = axes[2]
    if pool.empty:
        empty_panel(ax)
    else:
        preds = list(pool.predictor.unique())
        for j, (meas, g) in enumerate(pool.groupby("regime", sort=False)):
            g = g.set_index("predictor").loc[preds]
            ax.bar(np.arange(len(preds)) + 0.4 * j - 0.2, g.rho, width=0.4, label=meas)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.set_xticks(np.arange(len(preds)), [p.replace("_", "\n") for p in preds], fontsize=7)
        ax.set(ylabel="Spearman rho across runs (pool)", ylim=(-1, 1), title="t = 0 measures vs regime")
        ax.legend(fontsize=6.5)
    title(
        fig,
        "M. Splines nets (beyond the paper): does the t = 0 pseudo-kernel predict the lazy/rich regime?",
        "knot share = |step of (w, b)| / (|step of (w, b)| + |step of (v, c)|); ntk_knot_share: residual-free "
        "eNTK baseline; kernel.splines_regime",
    )
    return fig
