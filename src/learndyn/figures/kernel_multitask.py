"""Kernel study, multitask figures E–K (pseudo_kernel.md, 'Figures to reproduce')."""

from __future__ import annotations

import numpy as np

from learndyn.figures.style import empty_panel, new_figure, style, title
from learndyn.kernel.tables import EMBEDDING, GROUPINGS

INIT_COLOURS = {"std": "tab:blue", "large": "tab:orange"}
SCHED_MARKERS = {"LR": "o", "ET": "s"}
PHASES = {
    1: ("single_test", "single_train", "phase 1: single-task training"),
    2: ("multi_test", "multi_train", "phase 2: multitask fine-tuning"),
}


def _phase(curves, phase):
    T = curves[curves.phase == 1].step.max()
    sel = curves[(curves.step <= T) if phase == 1 else (curves.step >= T)]
    return sel.assign(t=sel.step - (0 if phase == 1 else T))


@style
def fig_loss_curves(curves):
    scheds = list(curves.schedule.unique())
    fig = new_figure(9, 3.2 * len(scheds))
    axes = np.atleast_2d(fig.subplots(len(scheds), 2, squeeze=False))
    for row, s in enumerate(scheds):
        for col, phase in enumerate(PHASES):
            test, train, label = PHASES[phase]
            ax = axes[row, col]
            c = _phase(curves[curves.schedule == s], phase)
            for init, colour in INIT_COLOURS.items():
                ci = c[c.init == init]
                te = ci[ci.set == test].groupby("t")["sse"].agg(["mean", "std"]).fillna(0)
                ax.semilogy(te.index, te["mean"], color=colour, label=f"{init} test (mean ± s.d.)")
                ax.fill_between(
                    te.index, (te["mean"] - te["std"]).clip(lower=1e-3), te["mean"] + te["std"], color=colour, alpha=0.2
                )
                tr = ci[ci.set == train].groupby("t")["sse"].mean()
                ax.semilogy(tr.index, tr, color=colour, ls=":", lw=1, label=f"{init} train")
                one = ci[(ci.set == test) & (ci.replicate == ci.replicate.min())]
                ax.semilogy(one.t, one.sse, color=colour, lw=0.5, alpha=0.6)
            n = c.replicate.nunique()
            ax.set(xlabel="step in phase", ylabel="summed SSE", title=f"{s}, {label} (n = {n})")
        axes[row, 0].legend(fontsize=6.5)
    title(fig, "E. Generalisation loss, Std vs Large init", "kernel.schedules, kernel.data, kernel.net")
    return fig


def _paired(c, set_name):
    w = c[c.set == set_name].pivot_table(index=["replicate", "t"], columns="init", values="sse")
    d = (w["large"] - w["std"]).groupby("t").agg(["mean", "std"]).fillna(0)
    return d


@style
def fig_paired_delta(curves):
    scheds = list(curves.schedule.unique())
    fig = new_figure(9, 3 * len(scheds))
    axes = fig.subplots(len(scheds), 2, squeeze=False)
    for row, s in enumerate(scheds):
        for col, phase in enumerate(PHASES):
            test, _, label = PHASES[phase]
            ax = axes[row, col]
            d = _paired(_phase(curves[curves.schedule == s], phase), test)
            ax.plot(d.index, d["mean"], "k")
            ax.fill_between(d.index, d["mean"] - d["std"], d["mean"] + d["std"], color="0.6", alpha=0.4)
            ax.axhline(0, color="tab:red", lw=0.8)
            ax.set(
                xlabel="step in phase",
                ylabel="Large − Std test SSE",
                title=f"{s}, {label}: final {d['mean'].iloc[-1]:+.2f}",
            )
    title(fig, "F. Paired Large − Std test SSE (mean ± s.d. over replicates); > 0: Std better", "kernel.schedules")
    return fig


FEATURE_OF_INPUT = np.tile(np.arange(3), 4)  # stimulus unit 3i + f -> feature f (predicted input groups)
DIM_OF_TASK = np.repeat(np.arange(4), 3)  # task 3i + g -> input dimension i (predicted task groups)


@style
def fig_embedding(emb, ari):
    """2 x 4 trajectories (Std, Large) and, below, Std's early snapshots coloured by the predicted
    groups (the authors' inset: inputs at snapshot 3 grouped by feature; snapshots 3 and 15)."""
    fig = new_figure(13, 9)
    top, bottom = fig.subfigures(2, 1, height_ratios=[2, 1])
    axes = top.subplots(2, len(GROUPINGS))
    run = emb.run.iloc[0]
    n_snap = emb.snapshot.max()
    for row, init in enumerate(("std", "large")):
        for col, g in enumerate(GROUPINGS):
            ax = axes[row, col]
            e = emb[(emb.init == init) & (emb.grouping == g)].sort_values("snapshot")
            for _, tr in e.groupby("item"):
                ax.plot(tr.e1, tr.e2, color="0.7", lw=0.5, zorder=0)
            sc = ax.scatter(e.e1, e.e2, c=100 * e.snapshot / n_snap, cmap="viridis", s=4)
            ax.set(title=f"{init}: {g} ({GROUPINGS[g]} items)", xticks=[], yticks=[])
    top.colorbar(sc, ax=axes[:, -1], label="training % (phase 1)")
    panels = [(g, s) for g in ("input", "task") for s in sorted({min(3, n_snap), min(15, n_snap)})]
    for ax, (g, snap) in zip(bottom.subplots(1, len(panels)), panels):
        e = emb[(emb.init == "std") & (emb.grouping == g) & (emb.snapshot == snap)].sort_values("item")
        labels = (FEATURE_OF_INPUT if g == "input" else DIM_OF_TASK)[e.item.to_numpy()]
        ax.scatter(e.e1, e.e2, c=[f"C{k}" for k in labels], s=30)
        for item, x, y in zip(e.item, e.e1, e.e2):
            ax.annotate(str(item), (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points")
        a = ari[
            (ari.run == run)
            & (ari.init == "std")
            & (ari.grouping == g)
            & (ari.snapshot == snap)
            & (ari.space == "embedding")
        ].ari
        what = "feature" if g == "input" else "input dimension"
        ax.set(
            title=f"Std {g}s, snapshot {snap}\ncolour: predicted {what}"
            + (f"; k-means ARI {a.iloc[0]:.2f}" if len(a) else ""),
            xticks=[],
            yticks=[],
        )
    title(
        fig,
        f"G. Hidden-representation trajectories, {EMBEDDING.upper()} embedding (M-PHATE substitute), run {run}",
        "PCA fitted on all snapshot x item rows of each array; kernel.analysis",
    )
    return fig


@style
def fig_ari(ari, ari_cfg):
    sel = ari[(ari.schedule == ari_cfg["schedule"]) & (ari.replicate < ari_cfg["replicates"])]
    fig = new_figure(9, 3.6)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, space in zip(axes, ("embedding", "raw")):
        for g, colour in (("input", "tab:green"), ("task", "tab:purple")):
            for init, ls in (("std", "-"), ("large", "--")):
                c = sel[(sel.space == space) & (sel.grouping == g) & (sel.init == init)]
                if c.empty:
                    continue
                m = c.groupby("snapshot")["ari"].agg(["mean", "std"]).fillna(0)
                ax.plot(m.index, m["mean"], color=colour, ls=ls, label=f"{g} ({init})")
                if init == "std":
                    ax.fill_between(m.index, m["mean"] - m["std"], m["mean"] + m["std"], color=colour, alpha=0.2)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.set(
            xlabel="snapshot (first half of phase 1)",
            title=f"k-means on {EMBEDDING if space == 'embedding' else 'raw 200-D'}",
        )
    axes[0].set_ylabel("adjusted Rand index vs predicted groups")
    axes[0].legend()
    title(
        fig,
        f"H. Predicted groupings in hidden learning ({ari_cfg['schedule']})",
        f"{sel.replicate.nunique()} replicates, band: Std mean ± s.d.; kernel.ari, kernel.analysis.kmeans_seed",
    )
    return fig


def _group_panels(sub, ev, grouping, colour):
    """3 x 3 panels, one per output unit k = 3g + m: |v_k| over the training examples sorted by
    `grouping` (task, or the stimulus unit the task reads), lines at group boundaries (pseudo_kernel.md, 'Group
    plots')."""
    axes = sub.subplots(3, 3, sharex=True)
    for k, ax in enumerate(axes.ravel()):
        e = ev[(ev.output == k) & (ev[grouping] >= 0)].sort_values([grouping, "example"], kind="stable")
        ax.plot(np.arange(len(e)), np.abs(e.v), lw=0.5, color=colour)
        for b in np.flatnonzero(np.diff(e[grouping].to_numpy())) + 1:
            ax.axvline(b, color="0.6", lw=0.4)
        ax.set_title(f"k = {k}: λ = {e.eigenvalue.iloc[0]:.3g}" if len(e) else f"k = {k}", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in axes[-1]:
        ax.set_xlabel(f"example, sorted by {grouping}", fontsize=7)


@style
def fig_eigenvectors(eigvec, groups):
    """Std and Large: 3 x 3 leading-eigenvector panels by task and by input (+ the solver-order
    variant when computed), and the heat-map companion (mean |v_k| per group)."""
    variants = [
        (init, mode)
        for mode in ("sorted", "authors")
        for init in ("std", "large")
        if ((eigvec.init == init) & (eigvec["mode"] == mode)).any()
    ]
    fig = new_figure(15, 4.2 * (len(variants) + 1))
    rows = fig.subfigures(len(variants) + 1, 1)
    for row, (init, mode) in zip(rows, variants):
        ev = eigvec[(eigvec.init == init) & (eigvec["mode"] == mode)]
        for sub, g in zip(row.subfigures(1, 2), ("task", "input")):
            _group_panels(sub, ev, g, INIT_COLOURS[init])
            order = "sorted by |λ|" if mode == "sorted" else "solver order, ill-posed (authors' variant)"
            sub.suptitle(f"{init}: leading eigenvector per output, by {g} ({order})", fontsize=9)
    axes = rows[-1].subplots(1, 4)
    gr = groups[groups["mode"] == "sorted"]
    for ax, (init, g) in zip(axes, [(i, g) for i in ("std", "large") for g in ("task", "input")]):
        m = gr[(gr.init == init) & (gr.grouping == g)].pivot(index="output", columns="group", values="mean_abs")
        if m.empty:
            empty_panel(ax)
            continue
        im = ax.imshow(m.to_numpy(), aspect="auto", cmap="magma")
        rows[-1].colorbar(im, ax=ax, fraction=0.05)
        ax.set(xlabel=f"{g} (12 groups)", ylabel="output unit k = 3g + m", title=f"{init}: mean |v_k| by {g}")
    title(
        fig,
        f"I. Leading eigenvectors of the t = 0 pseudo-kernel per output (run {eigvec.run.iloc[0]})",
        "train x train kernel, eigenvalues sorted by |λ| (pseudo_kernel.md, 'Per-output eigen/SVD decomposition at "
        "t = 0' default); input = the stimulus unit the "
        "task reads (3i + f)",
    )
    return fig


@style
def fig_silhouette(runs, corr):
    fig = new_figure(9, 7)
    axes = fig.subplots(2, 2)
    for col, (loss, colname) in enumerate((("single", "final_single_test"), ("multi", "final_multi_test"))):
        ax = axes[0, col]
        for (s, init), g in runs.groupby(["schedule", "init"]):
            ax.scatter(
                g.silhouette,
                g[colname],
                color=INIT_COLOURS[init],
                marker=SCHED_MARKERS.get(s, "o"),
                label=f"{s} {init} (n = {len(g)})",
                s=18,
            )
        r = corr[(corr.loss == loss) & (corr.pool != "paired_delta")]
        ax.set(
            xlabel="t = 0 silhouette",
            ylabel=f"final {loss}-task test SSE",
            title="; ".join(f"{x.schedule}: r = {x.r:.2f} (n = {x.n})" for x in r.itertuples()),
        )
        ax.legend(fontsize=6.5)
        ax = axes[1, col]
        w = runs.pivot_table(index=["schedule", "replicate"], columns="init", values=["silhouette", colname])
        if w.empty or "std" not in w["silhouette"]:
            empty_panel(ax)
            continue
        ds = w["silhouette"]["std"] - w["silhouette"]["large"]
        dl = w[colname]["std"] - w[colname]["large"]
        for s in ds.index.get_level_values(0).unique():
            ax.scatter(ds.loc[s], dl.loc[s], marker=SCHED_MARKERS.get(s, "o"), color="k", s=18, label=s)
        r = corr[(corr.loss == loss) & (corr.pool == "paired_delta")]
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set(
            xlabel="Δ silhouette (Std − Large)",
            ylabel=f"Δ {loss}-task SSE (Std − Large)",
            title="paired: " + "; ".join(f"{x.schedule}: r = {x.r:.2f} (n = {x.n})" for x in r.itertuples()),
        )
        ax.legend(fontsize=6.5)
    title(fig, "J. t = 0 pseudo-kernel structure vs final performance", "kernel.stats; silhouette of KMeans(12)")
    return fig


@style
def fig_replicates(curves):
    s = "ET" if "ET" in set(curves.schedule) else curves.schedule.iloc[0]
    c = _phase(curves[curves.schedule == s], 1)
    reps = sorted(c.replicate.unique())[:10]
    fig = new_figure(12, 5)
    axes = fig.subplots(2, 5, sharey=True).ravel()
    for ax, rep in zip(axes, reps):
        for init, colour in INIT_COLOURS.items():
            g = c[(c.replicate == rep) & (c.init == init) & (c.set == "single_test")]
            ax.semilogy(g.t, g.sse, color=colour, label=init)
        fin = c[(c.replicate == rep) & (c.set == "single_test") & (c.t == c.t.max())].set_index("init")["sse"]
        ax.set(
            title=f"rep {rep}: Std {fin.get('std', np.nan):.1f} / Large {fin.get('large', np.nan):.1f}", xlabel="step"
        )
    for ax in axes[len(reps) :]:
        empty_panel(ax)
    axes[0].legend()
    title(fig, f"K. Single-task test SSE per replicate, schedule {s} (open question: ET ordering)", "kernel.schedules")
    return fig
