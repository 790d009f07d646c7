"""Motor study figures M1-M7 (Pyle & Rosenbaum 2019; motor.md, 'Metrics and figures', 'Parkinson's disease and
automaticity protocol'), drawn from Parquet only.

Tables: ``results`` (one row per member), ``traces`` (thinned per-member traces), ``summary``
(per condition). Every figure is titled as a reconstruction; the Parkinson's panels (motor.md, 'Parkinson's disease and
automaticity protocol') and the Task-3 joint usage (M7, motor.md, 'Metrics and figures') are the spec's own
reconstructions. M1-M3 show the standard runs at the default joint cost; the cost comparison is M7's (M4 has every run).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.figures.style import empty_panel, new_figure, style, title
from learndyn.motor.tables import JOINT_PATH
from learndyn.motor.tasks import SUCCESS_THRESHOLD

MODEL_COLOURS = {"force": "tab:blue", "rmhl": "tab:orange", "supertrex": "tab:green"}
W_COLOURS = {
    "w1_norm": "tab:purple",
    "w2_norm": "tab:green",
}  # as the scripts' figures (motor.md, 'Metrics and figures')
COST_COLOURS = {"default": "tab:red", "beta": "tab:purple", "none": "0.45"}


def _standard(df: pd.DataFrame) -> pd.DataFrame:
    """Standard-protocol runs at the default joint cost (no PD runs, no Task-3 cost variants)."""
    return df[~df["run"].str.startswith("pd-") & (df["arm_cost"].isna() | (df["arm_cost"] == "default"))]


def _runs(res: pd.DataFrame) -> list[str]:
    order = {"force": 0, "rmhl": 1, "supertrex": 2}
    r = _standard(res)[["run", "task", "model", "variant"]].drop_duplicates()
    r = r.assign(k=r["model"].map(order)).sort_values(["task", "variant", "k"])
    return r["run"].tolist()


def _label(run: str) -> str:
    return run.replace("-scripts", "").replace("-", " ")


def _first_seed(tr: pd.DataFrame, run: str, condition: str = "H") -> pd.DataFrame:
    t = tr[(tr["run"] == run) & (tr["condition"] == condition)]
    return t[t["seed"] == t["seed"].min()] if len(t) else t


def _settings(res: pd.DataFrame, seed_design: str) -> str:
    sc = res.groupby("task")[["N", "S"]].first()
    scale = "; ".join(f"{t}: N={r.N}, S={r.S}" for t, r in sc.iterrows())
    return (
        f"{scale}; seeds {sorted(res['seed'].unique().tolist())}; seed design {seed_design}"
        " (motor.scale, motor.experiments, motor.seeds)"
    )


@style
def fig_trajectories(tr: pd.DataFrame, res: pd.DataFrame, seed_design: str = ""):
    """M1: hand (pen) path over the last test period vs the butterfly target, first seed per run."""
    tasks = sorted(_standard(res)["task"].unique())
    fig = new_figure(max(7.0, 3.6 * len(tasks)), 3.9)
    axes = np.atleast_1d(fig.subplots(1, max(1, len(tasks))))
    for ax, task in zip(axes, tasks):
        last = None
        for run in [r for r in _runs(res) if r.startswith(task + "-")]:
            t = _first_seed(tr, run)
            t = t[t["phase"] == "test"]
            if not len(t):
                continue
            S = int(res.loc[res["run"] == run, "S"].iloc[0])
            last = t[t["step"] > t["step"].max() - S]
            model, variant = run.split("-")[1], run.split("-")[2]
            ax.plot(
                last["hand_x"],
                last["hand_y"],
                lw=1.0,
                color=MODEL_COLOURS[model],
                ls="-" if variant == "scripts" else "--",
                label=_label(run.removeprefix(task + "-")),
            )
        if last is not None:
            ax.plot(last["target_x"], last["target_y"], color="k", lw=0.8, ls=":", label="target f")
            ax.set_aspect("equal", adjustable="datalim")
            ax.legend(loc="lower left")
        else:
            empty_panel(ax)
        ax.set_title(f"{task}: last test period")
        ax.set_xlabel("hand x")
        ax.set_ylabel("hand y")
    if not tasks:
        empty_panel(axes[0])
    title(fig, "M1 test trajectories vs target (teacher-forced test)", _settings(res, seed_design))
    return fig


@style
def fig_error_traces(tr: pd.DataFrame, res: pd.DataFrame, seed_design: str = ""):
    """M2: distance from target D_t (log), every seed thin, median bold; test starts at the grey line."""
    tasks = sorted(_standard(res)["task"].unique())
    fig = new_figure(3.6 * max(1, len(tasks)), 3.2)
    axes = np.atleast_1d(fig.subplots(1, max(1, len(tasks)), sharey=True))
    for ax, task in zip(axes, tasks):
        for run in [r for r in _runs(res) if r.startswith(task + "-")]:
            t = tr[(tr["run"] == run) & (tr["condition"] == "H")]
            model = run.split("-")[1]
            piv = t.pivot_table(index="step", columns="seed", values="D")
            c = MODEL_COLOURS[model]
            ax.plot(piv.index, piv.to_numpy(), color=c, lw=0.4, alpha=0.4)
            ax.plot(piv.index, piv.median(axis=1), color=c, lw=1.4, label=_label(run.removeprefix(task + "-")))
            test = t.loc[t["phase"] == "test", "step"]
            if len(test):
                ax.axvline(test.min(), color="0.6", lw=0.8)
        ax.axhline(SUCCESS_THRESHOLD, color="k", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_title(task)
        ax.set_xlabel("step")
        ax.legend(loc="upper right")
    axes[0].set_ylabel("D_t (display-filtered distance)")
    title(fig, "M2 error traces: D_t over training and test", _settings(res, seed_design))
    return fig


@style
def fig_weight_norms(tr: pd.DataFrame, res: pd.DataFrame, seed_design: str = ""):
    """M3: ||W1|| (purple) and ||W2|| (green), parity sqrt-Gram norm, every seed; the standard runs."""
    runs = _runs(res)
    n = max(1, len(runs))
    cols = min(4, n)
    rows = -(-n // cols)
    fig = new_figure(3.0 * cols, 2.6 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, run in zip(axes, runs):
        t = tr[(tr["run"] == run) & (tr["condition"] == "H")]
        for key, c in W_COLOURS.items():
            piv = t.pivot_table(index="step", columns="seed", values=key)
            if piv.notna().to_numpy().any():
                ax.plot(piv.index, piv.to_numpy(), color=c, lw=0.6, alpha=0.6)
                ax.plot([], [], color=c, label="||W1||" if key == "w1_norm" else "||W2||")
        ax.set_title(_label(run))
        ax.set_xlabel("step")
        ax.legend(loc="upper left")
    for ax in axes[len(runs) :]:
        empty_panel(ax)
    title(fig, "M3 readout weight norms (flat at test)", _settings(res, seed_design))
    return fig


@style
def fig_success(res: pd.DataFrame, summ: pd.DataFrame, seed_design: str = ""):
    """M4: test deviation per seed (log) per run and condition; success fraction above each column."""
    keys = summ[["run", "condition"]].drop_duplicates().to_numpy().tolist()
    fig = new_figure(max(5.0, 0.55 * len(keys) + 1.5), 3.8)
    ax = fig.subplots()
    top = np.nanmax(res["deviation"].to_numpy()) if res["deviation"].notna().any() else 1.0
    for i, (run, cond) in enumerate(keys):
        r = res[(res["run"] == run) & (res["condition"] == cond)]
        c = MODEL_COLOURS.get(r["model"].iloc[0], "0.3")
        ok = r[r["completed"]]
        x = i + np.linspace(-0.15, 0.15, max(1, len(ok)))[: len(ok)]
        ax.scatter(x, ok["deviation"], s=14, color=c, zorder=3)
        nb = int((~r["completed"]).sum())
        if nb:
            ax.scatter([i], [top * 1.5], marker="x", color="r", s=20, zorder=3)
        s = summ[(summ["run"] == run) & (summ["condition"] == cond)].iloc[0]
        ax.text(i, top * 2.2, f"{s['success_fraction']:.2f}", ha="center", fontsize=6.5)
    ax.axhline(SUCCESS_THRESHOLD, color="k", ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(
        [f"{_label(r)}" if c == "H" else f"{_label(r)}\n{c}" for r, c in keys], rotation=70, fontsize=6.5
    )
    ax.set_ylabel("test deviation (mean D over test)")
    title(fig, "M4 deviation per seed and success fraction (< 0.5; x = blew up)", _settings(res, seed_design))
    return fig


@style
def fig_automaticity(res: pd.DataFrame, seed_design: str = ""):
    """M5: gate opening and ||W1|| > ||W2|| crossing (periods) and W1's share at end of training."""
    st = res[(res["model"] == "supertrex") & (res["condition"] == "H")]  # standard runs and PD's H
    fig = new_figure(8.0, 3.2)
    a, b = fig.subplots(1, 2)
    runs = list(dict.fromkeys(st["run"]))
    for i, run in enumerate(runs):
        r = st[st["run"] == run]
        S = r["S"].to_numpy()
        for col, m, c, dx in (("gate_open_step", "o", "tab:blue", -0.12), ("w_cross_step", "s", "tab:purple", 0.12)):
            v = r[col].to_numpy() / S
            v = np.where(r[col].to_numpy() > 0, v, np.nan)
            a.scatter(
                np.full(v.size, i + dx),
                v,
                marker=m,
                color=c,
                s=16,
                label=("gate opens (ebar < theta)" if col == "gate_open_step" else "||W1|| > ||W2||")
                if i == 0
                else None,
            )
        share = r["w1_norm_end"] / (r["w1_norm_end"] + r["w2_norm_end"])
        b.scatter(np.full(len(r), i), share, color="tab:purple", s=16)
    for ax in (a, b):
        ax.set_xticks(range(len(runs)))
        ax.set_xticklabels([_label(r) for r in runs], rotation=30, fontsize=7)
    a.set_ylabel("training period")
    a.legend(loc="upper right")
    b.axhline(0.5, color="k", ls=":", lw=0.8)
    b.set_ylabel("||W1|| / (||W1|| + ||W2||), end of training")
    if not runs:
        empty_panel(a)
        empty_panel(b)
    title(fig, "M5 automaticity: the cortical W1 takes over from the BG W2 (SUPERTREX)", _settings(res, seed_design))
    return fig


def _strip(ax, groups, labels):
    for i, g in enumerate(groups):
        ok = g[g["completed"]]
        ax.scatter(np.full(len(ok), i), ok["deviation"], s=12, color="tab:green", alpha=0.7)
        if len(ok):
            ax.plot([i - 0.25, i + 0.25], [ok["deviation"].median()] * 2, color="k", lw=1.2)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(labels, rotation=45, fontsize=7)
    ax.axhline(SUCCESS_THRESHOLD, color="k", ls=":", lw=0.8)
    ax.set_yscale("log")


@style
def fig_parkinsons(res: pd.DataFrame, seed_design: str = ""):
    """M6: DA(g) grid, LES(k) grid, BGON vs H, LDOPA vs DA(g) (motor.md, 'Parkinson's disease and automaticity protocol'
    reconstruction)."""
    pd_ = res[res["experiment"] == "parkinsons"]
    fig = new_figure(11.0, 3.4)
    axes = fig.subplots(1, 4, sharey=True)
    if not len(pd_):
        for ax in axes:
            empty_panel(ax, "parkinsons not run")
        title(fig, "M6 Parkinson's protocol", "")
        return fig
    H = pd_[(pd_["run"] == "pd-da") & (pd_["condition"] == "H")]
    da = pd_[pd_["run"] == "pd-da"]
    gs = sorted(da["da_gain"].unique(), reverse=True)
    _strip(axes[0], [da[da["da_gain"] == g] for g in gs], [f"{g:g}" for g in gs])
    axes[0].set_xlabel("dopamine gain g_DA")
    axes[0].set_title("graded depletion DA(g)")
    les = pd_[pd_["run"] == "pd-lesion"]
    ks = sorted(les["lesion_after"].unique())
    _strip(axes[1], [les[les["lesion_after"] == k] for k in ks] + [H], [f"{k}" for k in ks] + ["H"])
    axes[1].set_xlabel("BG lesioned after period k")
    axes[1].set_title("lesion LES(k); H = post-training")
    bg = pd_[pd_["run"] == "pd-bgon"]
    _strip(axes[2], [H, bg], ["H (BG off at test)", "BGON"])
    axes[2].set_title("BG kept at test")
    ld = pd_[pd_["run"] == "pd-ldopa"]
    groups, labels = [H], ["H"]
    for (g, k), grp in ld.groupby(["da_gain", "ldopa_until"]):
        groups += [da[da["da_gain"] == g], grp]
        labels += [f"DA({g:g})", f"LDOPA({g:g},{k})"]
    _strip(axes[3], groups, labels)
    axes[3].set_title("L-DOPA restoration")
    axes[0].set_ylabel("test deviation")
    title(
        fig,
        "M6 Parkinson's protocol (motor.md, 'Parkinson's disease and automaticity protocol' reconstruction)",
        _settings(pd_, seed_design),
    )
    return fig


@style
def fig_joint_usage(res: pd.DataFrame, seed_design: str = ""):
    """M7: Task-3 joint usage (mean angular path per test period) per joint and cost, every seed;
    last panel: path_1 / path_3 per seed across costs (lines join a seed's runs)."""
    t3 = res[(res["experiment"] == "task3") & res["completed"]]
    panels = t3[["model", "variant"]].drop_duplicates().sort_values(["model", "variant"]).to_numpy().tolist()
    fig = new_figure(max(8.0, 3.2 * (len(panels) + 1)), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(panels) + 1))
    costs = [c for c in COST_COLOURS if c in set(t3["arm_cost"])]
    for ax, (model, variant) in zip(axes, panels):
        g = t3[(t3["model"] == model) & (t3["variant"] == variant)]
        for j, cost in enumerate(costs):
            gc = g[g["arm_cost"] == cost]
            for k, col in enumerate(JOINT_PATH):
                x = k + (j - (len(costs) - 1) / 2) * 0.22
                ax.scatter(
                    np.full(len(gc), x),
                    gc[col],
                    s=12,
                    color=COST_COLOURS[cost],
                    alpha=0.7,
                    label=f"c: {cost}" if k == 0 else None,
                )
                if len(gc):
                    ax.plot([x - 0.09, x + 0.09], [gc[col].median()] * 2, color="k", lw=1.2)
        ax.set_xticks(range(len(JOINT_PATH)))
        ax.set_xticklabels(["joint 1\n(proximal)", "joint 2", "joint 3\n(distal, free)"], fontsize=7)
        ax.set_ylabel("angular path per test period (units of pi)")
        ax.set_title(f"{model} {variant}")
        ax.legend(loc="upper right")
    last = axes[-1]
    if len(panels):
        positive = False
        for (model, variant), ls in zip(panels, ("-", "--", ":", "-.")):
            g = t3[(t3["model"] == model) & (t3["variant"] == variant)]
            ratio = (g[JOINT_PATH[0]] / g[JOINT_PATH[2]]).replace([np.inf, -np.inf], np.nan)
            piv = g.assign(ratio=ratio).pivot_table(index="seed", columns="arm_cost", values="ratio")
            piv = piv[[c for c in costs if c in piv.columns]]
            xs = [costs.index(c) for c in piv.columns]
            last.plot(xs, piv.to_numpy().T, color=MODEL_COLOURS[model], ls=ls, lw=0.6, alpha=0.6, marker="o", ms=3)
            positive |= bool((piv.to_numpy() > 0).any())
            last.plot([], [], color=MODEL_COLOURS[model], ls=ls, label=f"{model} {variant}")
        last.set_xticks(range(len(costs)))
        last.set_xticklabels(costs)
        if positive:  # (a joint that never moves gives 0/0)
            last.set_yscale("log")
        last.set_xlabel("joint cost c")
        last.set_ylabel("path_1 / path_3 (proximal / distal)")
        last.set_title("paired by seed")
        last.legend(loc="upper right")
    else:
        for ax in axes:
            empty_panel(ax, "task3 not run (paper.yaml: N = 1000)")
    title(
        fig,
        "M7 Task 3 joint usage by joint cost c (default, beta, none = 0)",
        _settings(t3, seed_design) if len(t3) else "",
    )
    return fig


FIGURES = {  # figure -> (plotting function, input tables in argument order)
    "M1_trajectories": (fig_trajectories, ("traces", "results")),
    "M2_error_traces": (fig_error_traces, ("traces", "results")),
    "M3_weight_norms": (fig_weight_norms, ("traces", "results")),
    "M4_success": (fig_success, ("results", "summary")),
    "M5_automaticity": (fig_automaticity, ("results",)),
    "M6_parkinsons": (fig_parkinsons, ("results",)),
    "M7_joint_usage": (fig_joint_usage, ("results",)),
}
