"""Perturb study, spectral figures (adversarial.md, 'Figures and tables'): F3 linear FC vs conv, F4 LC vs conv, F5
kernel sweep, and the theory figure (T1 Gunasekar 1-D, T2 Donoho-Stark, T3 lambda_max).  Parquet only.

    fc_vs_conv    fig_fc_vs_conv(spectra_final, spectra_summary, theory_t1)
    lc_vs_conv    fig_lc_vs_conv(spectra_final, spectra_summary)
    kernel_sweep  fig_kernel_sweep(spectra_summary, kernel_theory)
    theory        fig_theory(theory_t1, theory_summary, kernel_theory)

Every quantitative spectral metric is a reconstruction (adversarial.md, 'Quantitative metrics'); titles say so.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from learndyn.figures.style import colour_cycle, empty_panel, new_figure, style, title
from learndyn.perturb import spectra_claims as sc

_CONV = re.compile(r"^conv_(lin|relu)_l(\d+)_k(\d+)_c\d+$")
_LC = re.compile(r"^lc_(lin|relu)_k(\d+)")
L2 = set(sc.L2_KINDS)
METHOD_COLOURS = {"conv": "tab:blue", "l1": "tab:cyan", "fc": "tab:red", "svm": "tab:orange", "teacher": "0.55"}


def _log_ticks(ax, values, min_ratio: float = 1.3, fontsize=None) -> None:
    """Ticks at the given kernel sizes on a log axis, dropping any closer than ``min_ratio`` to
    the previous label (28 and 32 collide at panel width); the largest is always labelled."""
    ks = sorted({int(k) for k in values})
    keep = []
    for k in ks:
        if keep and k / keep[-1] < min_ratio:
            if k == ks[-1]:
                keep[-1] = k
            continue
        keep.append(k)
    ax.set_xticks(ks, [str(k) if k in keep else "" for k in ks], **({"fontsize": fontsize} if fontsize else {}))


def _legend_in_headroom(ax, ncol: int, fontsize=6.5, room: float = 0.3) -> None:
    """A one- or two-row legend in a band added above the data (bars and error bars of any
    height stay below it)."""
    y0, y1 = ax.get_ylim()
    ax.set_ylim(y0, y1 + (y1 - y0) * room)
    ax.legend(fontsize=fontsize, loc="upper center", ncol=ncol, frameon=False, columnspacing=1.0, handlelength=1.2)


def _dataset(df: pd.DataFrame) -> str | None:
    return df["dataset"].value_counts().index[0] if len(df) else None


def _final_means(summary: pd.DataFrame, ds, source, names=None, kinds=None) -> pd.DataFrame:
    s = summary[summary["final"] & (summary["dataset"] == ds) & (summary["source"] == source)]
    s = s[s["name"].isin(names)] if names is not None else s
    s = s[s["kind"].isin(kinds)] if kinds is not None else s
    per_seed = s.groupby(["model", "seed"], as_index=False)[["hff", "hoyer", "centroid", "f_half"]].mean()
    g = per_seed.groupby("model")
    sem = g.sem(numeric_only=True).add_suffix("_sem")  # (join's rsuffix is deprecated in pandas)
    return g.mean(numeric_only=True).join(sem).drop(columns=["seed", "seed_sem"])


def _map(final, ds, model, *, source, names=None, kinds=None):
    """The final log-power map of the smallest seed (None if absent)."""
    f = final[(final["dataset"] == ds) & (final["model"] == model) & (final["source"] == source)]
    f = f[f["name"].isin(names)] if names is not None else f
    f = f[f["kind"].isin(kinds)] if kinds is not None else f
    if not len(f):
        return None
    r = f.sort_values("seed").iloc[0]
    return np.asarray(r["log_power"]).reshape(int(r["side"]), int(r["side"])), r


def _maps_row(axes, final, ds, models, label, **sel):
    for ax in axes[len(models) :]:
        ax.set_axis_off()
    first = True
    for ax, m in zip(axes, models):
        got = _map(final, ds, m, **sel)
        if got is None:
            empty_panel(ax, f"{m}\nno {label}")
            continue
        img, r = got
        n = img.shape[0]
        im = ax.imshow(img, cmap="magma", extent=(-n / 2 - 0.5, n / 2 - 0.5, n / 2 - 0.5, -n / 2 - 0.5))
        ax.set_title(f"{m}\n{label}, n={int(r['n'])}", fontsize=7.5)
        ax.set_xticks([-n // 2, 0, n // 2 - 1]), ax.set_yticks([-n // 2, 0, n // 2 - 1])
        # frequency in cycles per image (DFT index after fftshift, DC at 0); k_y once per row
        ax.set_xlabel("k_x (cycles/image)", fontsize=7.5)
        if first:
            ax.set_ylabel("k_y (cycles/image)", fontsize=7.5)
        else:
            ax.tick_params(labelleft=False)
        first = False
        ax.figure.colorbar(im, ax=ax, shrink=0.75, label="ln mean power")


def _radial(ax, final, ds, models, label, **sel):
    drew = False
    for i, m in enumerate(models):
        got = _map(final, ds, m, **sel)
        if got is None:
            continue
        cum = np.asarray(got[1]["radial_cumulative"])
        ax.plot(np.arange(len(cum)), cum, "-", lw=1.2, color=colour_cycle(i), label=m)
        drew = True
    if not drew:
        return empty_panel(ax, f"no {label}")
    ax.set_xlabel("radius rho (DFT index units)")
    ax.set_ylabel("cumulative energy fraction")
    ax.set_title(f"radial profile: {label}")
    ax.legend(fontsize=6.5)


def _bars(ax, tables: dict, models, metric, ylabel):
    """Grouped bars: one group per model, one bar per target (mean ± s.e.m. over seeds)."""
    width = 0.8 / max(1, len(tables))
    x = np.arange(len(models))
    for j, (lab, t) in enumerate(tables.items()):
        vals = [t.loc[m, metric] if m in t.index else np.nan for m in models]
        errs = [t.loc[m, f"{metric}_sem"] if m in t.index else 0 for m in models]
        ax.bar(
            x + (j - (len(tables) - 1) / 2) * width,
            vals,
            width,
            yerr=np.nan_to_num(errs),
            capsize=2,
            color=colour_cycle(j),
            label=lab,
        )
    ax.set_xticks(x, [m.replace("_", "\n", 2) for m in models], fontsize=6.5)
    ax.set_xlabel("model")
    ax.set_ylabel(ylabel)
    _legend_in_headroom(ax, ncol=len(tables))


@style
def fig_fc_vs_conv(final, summary, t1):
    ds = _dataset(summary)
    models = sorted({m for m in summary["model"] if sc._fc(m, "lin")})[:2]
    conv = sorted(
        {m for m in summary["model"] if _CONV.match(m) and _CONV.match(m)[1] == "lin"},
        key=lambda m: (int(_CONV.match(m)[2]), int(_CONV.match(m)[3])),
    )
    models += conv[:3] if len(conv) <= 3 else [conv[0], conv[len(conv) // 2], conv[-1]]
    cols = max(3, len(models))
    fig = new_figure(max(11.5, 2.3 * cols), 9.2)
    sub = fig.subfigures(3, 1, height_ratios=[1, 1, 1.05])
    _maps_row(sub[0].subplots(1, cols, squeeze=False)[0], final, ds, models, "delta_L2", source="delta", kinds=L2)
    _maps_row(
        sub[1].subplots(1, cols, squeeze=False)[0],
        final,
        ds,
        models,
        "beta (end-to-end)",
        source="target",
        names=["beta"],
    )
    ax = sub[2].subplots(1, 4)
    _radial(ax[0], final, ds, models, "delta_L2", source="delta", kinds=L2)
    tabs = {
        "delta_L2": _final_means(summary, ds, "delta", kinds=L2),
        "saliency": _final_means(summary, ds, "delta", names=["saliency"]),
        "beta": _final_means(summary, ds, "target", names=["beta"]),
    }
    _bars(ax[1], tabs, models, "hoyer", "Hoyer of |DFT| (higher = Fourier-sparser)")
    _bars(ax[2], tabs, models, "hff", "HFF (r > N/4)")
    _t1_inset(ax[3], t1)
    title(
        fig,
        f"F3 linear FC vs conv: spectra of delta_L2 and beta ({ds}, final checkpoint)",
        "maps: fftshifted log mean power (DC at centre), smallest seed; bars: mean ± s.e.m. over seeds of "
        "per-map metrics on kept maps; inset: adversarial.md, 'Theory checks' T1 (1-D Gunasekar check)",
    )
    return fig


def _t1_inset(ax, t1):
    if not len(t1):
        return empty_panel(ax, "no T1 table")
    methods = [m for m in ("conv", "l1", "fc", "svm") if m in set(t1["method"])]
    d = len(t1[t1["method"] == methods[0]])
    w = 0.8 / len(methods)
    for j, m in enumerate(methods):
        f = t1[t1["method"] == m].sort_values("index")["fourier_modulus"].to_numpy()
        ax.bar(np.arange(d) + (j - (len(methods) - 1) / 2) * w, f, w, color=METHOD_COLOURS[m], label=f"beta_{m}")
    ax.set_xlabel(f"DFT index k (D = {d})")
    ax.set_ylabel("|F beta| (unit-norm beta)")
    ax.set_title("T1 (1-D): conv ~ Fourier-l1, FC ~ SVM")
    _legend_in_headroom(ax, ncol=2, room=0.35)  # 4 columns overflow a quarter-width panel


def _lc_models(summary):
    lcs = sorted({m for m in summary["model"] if _LC.match(m)}, key=lambda m: int(_LC.match(m)[2]))
    out = []
    for lc in lcs:
        act, k = _LC.match(lc)[1], _LC.match(lc)[2]
        conv = [
            m
            for m in sorted(set(summary["model"]))
            if _CONV.match(m) and _CONV.match(m)[1] == act and _CONV.match(m)[3] == k and _CONV.match(m)[2] == "1"
        ]
        out += [lc] + conv[:1]
    acts = {_LC.match(m)[1] for m in lcs}  # the FC reference of each activation present
    fc = [sorted(m for m in set(summary["model"]) if sc._fc(m, act))[:1] for act in sorted(acts)]
    return out, [m for pick in fc for m in pick]


@style
def fig_lc_vs_conv(final, summary):
    ds = _dataset(summary)
    pairs, fc = _lc_models(summary)
    models = pairs + fc
    cols = max(4, len(models))
    fig = new_figure(max(11.5, 2.3 * cols), 6.6)
    sub = fig.subfigures(2, 1, height_ratios=[1, 1.05])
    if not pairs:
        empty_panel(sub[0].subplots(), "no locally connected model in perturb.dynamics.models")
        return fig
    _maps_row(sub[0].subplots(1, cols, squeeze=False)[0], final, ds, models, "delta_L2", source="delta", kinds=L2)
    ax = sub[1].subplots(1, 4)
    _radial(ax[0], final, ds, models, "delta_L2", source="delta", kinds=L2)
    tabs = {
        "delta_L2": _final_means(summary, ds, "delta", kinds=L2),
        "saliency": _final_means(summary, ds, "delta", names=["saliency"]),
    }
    _bars(ax[1], tabs, models, "hoyer", "Hoyer of |DFT|")
    _bars(ax[2], tabs, models, "hff", "HFF (r > N/4)")
    lc = summary[(summary["dataset"] == ds) & (summary["source"] == "target") & (summary["kind"] == "lc")]
    if len(lc):
        for i, (m, g) in enumerate(lc.groupby("model")):
            s = g.groupby("step")["weight_departure"].mean()
            ax[3].plot(s.index, s.values, "-o", ms=2.5, color=colour_cycle(i), label=m)
        ax[3].set_xscale("symlog", linthresh=1.0)
        ax[3].set_xlabel("step")
        ax[3].set_ylabel("relative departure (0 = shared weights)")
        ax[3].set_title("LC: sum ||W_l - mean W||² / sum ||W_l||²", fontsize=7.5)
        ax[3].legend(fontsize=6.5)
    else:
        empty_panel(ax[3], "no LC filter rows")
    title(
        fig,
        f"F4 locally connected vs conv at equal K ({ds}, final checkpoint)",
        "sharing -> Fourier sparsity (Hoyer), locality -> high frequency (HFF); bars mean ± s.e.m. over seeds",
    )
    return fig


@style
def fig_kernel_sweep(summary, kernels):
    ds = _dataset(summary)
    fig = new_figure(13, 3.8)
    ax = fig.subplots(1, 4)
    s = summary[summary["final"] & (summary["dataset"] == ds)]
    s = s[s["model"].map(lambda m: bool(_CONV.match(m)))]
    s = s.assign(
        act=s["model"].map(lambda m: _CONV.match(m)[1]),
        depth=s["model"].map(lambda m: int(_CONV.match(m)[2])),
        K=s["model"].map(lambda m: int(_CONV.match(m)[3])),
    )
    series = {
        "delta_L2": s[(s["source"] == "delta") & s["kind"].isin(L2)],
        "beta": s[(s["source"] == "target") & (s["name"] == "beta")],
    }
    for a, (metric, lab) in zip(
        ax[:3],
        (
            ("hff", "HFF (energy fraction, r > N/4)"),
            ("centroid", "spectral centroid / (N/2)"),
            ("f_half", "half-power radius f_0.5 (cycles/image)"),
        ),
    ):
        i = 0
        for src, d in series.items():
            for (act, depth), g in d.groupby(["act", "depth"]):
                per_seed = g.groupby(["K", "seed"])[metric].mean().groupby("K")
                m, e = per_seed.mean(), per_seed.sem().fillna(0)
                a.errorbar(
                    m.index,
                    m.values,
                    yerr=e.values,
                    marker="o",
                    ms=3,
                    capsize=2,
                    lw=1,
                    ls="-" if src == "delta_L2" else "--",
                    color=colour_cycle(i),
                    label=f"{src} conv_{act} depth {depth}",
                )
                i += 1
        if i == 0:
            empty_panel(a, "no conv models")
            continue
        a.set_xscale("log")
        _log_ticks(a, s["K"].unique())
        a.minorticks_off()
        a.set_xlabel("kernel size K")
        a.set_ylabel(lab)
    if len(ax[0].get_legend_handles_labels()[0]):
        ax[0].legend(fontsize=6, ncol=2, **BELOW)
    _lambda_curve(ax[3], kernels)
    title(
        fig,
        f"F5 kernel-size sweep ({ds}, final checkpoint, mean ± s.e.m. over seeds)",
        "expected (paper): smaller K and more depth -> higher-frequency delta; right: adversarial.md, 'Theory "
        "checks' T3 lambda_max(K)",
    )
    return fig


BELOW = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2), "frameon": False}  # legend under the x label


def _lambda_curve(ax, kernels):
    if not len(kernels):
        return empty_panel(ax, "no kernel_theory table")
    sides = sorted(kernels["side"].unique())
    for i, ((side, band), g) in enumerate(kernels.groupby(["side", "band"])):
        g = g.sort_values("kernel")
        ax.plot(
            g["kernel"],
            g["lambda_max"],
            "-o" if side == sides[-1] else "--s",
            ms=3,
            color=colour_cycle(i),
            label=f"N={side}, B: {band}",
        )
    ax.set_xscale("log")
    _log_ticks(ax, kernels["kernel"].unique(), fontsize=6.5)
    ax.minorticks_off()
    ax.set_xlabel("kernel size K")
    ax.set_ylabel("λ_max (energy fraction in band B)")
    ax.set_title("T3: K x K kernels cannot be low-pass")
    ax.legend(fontsize=6, ncol=2, **BELOW)


@style
def fig_theory(t1, t1_summary, kernels):
    fig = new_figure(13, 3.9)
    ax = fig.subplots(1, 4)
    if len(t1):
        for m in dict.fromkeys(t1["method"]):
            g = t1[t1["method"] == m].sort_values("index")
            ax[0].plot(
                g["index"], g["beta_unit"], "-o", ms=2.5, lw=1, color=METHOD_COLOURS.get(m, "k"), label=f"beta_{m}"
            )
        ax[0].set_xlabel("coordinate j")
        ax[0].set_ylabel("unit-norm beta")
        ax[0].set_title("T1: predictors in pixel space")
        ax[0].legend(fontsize=6.5, ncol=3, **BELOW)
        _t1_inset(ax[1], t1)
    else:
        empty_panel(ax[0]), empty_panel(ax[1])
    s = dict(zip(t1_summary["key"], t1_summary["value"])) if len(t1_summary) else {}
    if s:
        # in the title: a text box inside the axes would sit on the bars or the legend
        stats = "\n".join(
            ", ".join(f"{k} {s[k]:.3f}" for k in pair if k in s)
            for pair in (("cos_conv_l1", "cos_fc_svm"), ("hoyer_conv", "hoyer_fc"))
        )
        ax[1].set_title(f"{ax[1].get_title()}\n{stats}", fontsize=7.5)
    _lambda_curve(ax[2], kernels)
    ref = {2: 0.18, 3: 0.35, 5: 0.69, 7: 0.89, 11: 0.99}
    ax[2].plot(list(ref), list(ref.values()), "kx", ms=6, label="spec reference (N=32, r<=4)")
    ax[2].legend(fontsize=6, ncol=2, **BELOW)
    if len(kernels):
        for i, (side, g) in enumerate(kernels.drop_duplicates(["side", "kernel"]).groupby("side")):
            ax[3].plot(
                g["kernel"], g["random_fourier_support"], "o", color=colour_cycle(i), label=f"random kernel, N={side}"
            )
            ax[3].plot(g["kernel"], g["ds_bound"], "--", color=colour_cycle(i), label=f"ceil(N^2/K^2), N={side}")
        ax[3].set_xscale("log"), ax[3].set_yscale("log")
        ax[3].set_xlabel("kernel size K")
        ax[3].set_ylabel("nonzero DFT coefficients")
        ax[3].set_title("T2: Donoho-Stark |h|_0 |h^|_0 >= N^2")
        ax[3].legend(fontsize=6, ncol=2, **BELOW)
    else:
        empty_panel(ax[3])
    title(
        fig,
        "Theory checks (adversarial.md, 'Theory checks'): Gunasekar 1-D, Slepian lambda_max, Donoho-Stark",
        "T1: 2-layer circular conv and FC linear nets, normalised GD on the exponential loss (D=16, n=20)",
    )
    return fig


FIGURES = {
    "fc_vs_conv": (fig_fc_vs_conv, ("spectra_final", "spectra_summary", "theory_t1")),
    "lc_vs_conv": (fig_lc_vs_conv, ("spectra_final", "spectra_summary")),
    "kernel_sweep": (fig_kernel_sweep, ("spectra_summary", "kernel_theory")),
    "theory": (fig_theory, ("theory_t1", "theory_summary", "kernel_theory")),
}
