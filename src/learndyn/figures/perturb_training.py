"""Perturb study, training figure: dynamics of accuracy and loss (dense epoch 0) and the
Fourier-feature contamination table (adversarial.md, 'Fourier-feature contamination experiment (C4)', T-feat), from
Parquet only."""

from __future__ import annotations

import numpy as np

from learndyn.figures.style import colour_cycle, empty_panel, new_figure, style, title


def _mean_curve(h, col):
    g = h.dropna(subset=[col]).groupby("step")[col]
    return g.mean(), g.std(ddof=0).fillna(0.0)


@style
def fig_training(training, contamination):
    datasets = list(dict.fromkeys(contamination["contaminated_dataset"])) if len(contamination) else []
    fig = new_figure(12, 6.8)
    top = fig.subfigures(2, 1, height_ratios=[1.1, 1])
    ax = top[0].subplots(1, 3)
    models = list(dict.fromkeys(training["model"]))
    for i, model in enumerate(models):
        h = training[training["model"] == model]
        for a, col in zip(ax[:2], ("eval_acc", "train_loss")):
            m, s = _mean_curve(h, col)
            a.plot(m.index, m.values, "-o", ms=2.5, lw=1, color=colour_cycle(i), label=model)
            a.fill_between(m.index, m - s, m + s, color=colour_cycle(i), alpha=0.15, lw=0)
        ends = h.dropna(subset=["test_acc"]).groupby("epoch_float")["test_acc"]
        ax[2].errorbar(
            ends.mean().index,
            ends.mean().values,
            yerr=ends.std(ddof=0).fillna(0).values,
            marker="o",
            ms=3,
            lw=1,
            capsize=2,
            color=colour_cycle(i),
            label=model,
        )
    ipe = training.loc[training["epoch_float"] == 1.0, "step"]
    for a, lab in zip(ax[:2], ("accuracy, fixed eval subset (fraction)", "running train loss (CE, nats)")):
        a.set_xscale("symlog", linthresh=1.0)
        a.set_xlabel("step (symlog; dashed: end of epoch 0)")
        a.set_ylabel(lab)
        if len(ipe):
            a.axvline(int(ipe.iloc[0]), color="0.5", ls="--", lw=0.8)
    ax[0].axhline(0.1, color="0.6", ls=":", lw=0.8)
    ax[1].set_yscale("log")  # a diverging run (loss 1e22) would flatten every other curve to zero
    # models: one legend right of the panels (inside, 7 curves leave it no free corner)
    ax[2].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)
    ax[2].set_xlabel("epoch (test set at epoch ends; 0 = init)")
    ax[2].set_ylabel("test accuracy (fraction)")
    ax[2].axhline(0.1, color="0.6", ls=":", lw=0.8)
    seeds = training["seed"].nunique()
    top[0].suptitle(
        f"training dynamics, mean ± sd over {seeds} seed(s), dataset(s) "
        f"{', '.join(dict.fromkeys(training['dataset']))}",
        fontsize=9,
    )
    bottom = top[1].subplots(1, max(1, len(datasets)), squeeze=False)[0]
    if not datasets:
        empty_panel(bottom[0], "no contamination runs")
    for a, ds in zip(bottom, datasets):
        g = contamination[contamination["contaminated_dataset"] == ds]
        x = np.arange(len(g))
        for j, (cond, lab) in enumerate((("clean", "clean"), ("contaminated", "contaminated"))):
            a.bar(
                x + (j - 0.5) * 0.38,
                g[f"{cond}_mean"],
                0.38,
                yerr=g[f"{cond}_sd"].fillna(0),
                capsize=2,
                color=("tab:gray", "tab:purple")[j],
                label=lab,
            )
        for xi, r in zip(x, g.itertuples()):
            top_bar = max(
                r.clean_mean + np.nan_to_num(r.clean_sd), r.contaminated_mean + np.nan_to_num(r.contaminated_sd)
            )
            a.text(xi, top_bar + 0.02, f"{r.gain_mean:+.3f}", ha="center", fontsize=6.5)
        a.set_xticks(x, [m.replace("_l1_", "\nl1_") for m in g["model"]], fontsize=6.5)
        a.set_ylim(0, 1.15)
        a.set_xlabel("model")
        a.set_ylabel("final test accuracy (fraction)")
        a.set_title(
            f"{g['dataset'].iloc[0]} -> {ds}\neps {g['eps'].iloc[0]:g}, p {g['p'].iloc[0]:g}, "
            f"{int(g['seeds'].min())} seed(s); gain above bars",
            fontsize=7.5,
        )
    if datasets:
        bottom[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)
    title(
        fig,
        "perturb: training dynamics and Fourier-feature contamination (T-feat)",
        "checkpoint grid dense in epoch 0 (perturb.train.checkpoints); contamination eps, p from "
        "perturb.datasets.<key>.contamination; best epoch selected on the test set as the authors did",
    )
    return fig


FIGURES = {"training": (fig_training, ("training", "contamination"))}
