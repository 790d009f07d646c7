"""Kernel study, validation figures: A (1-D one-step identity), B–D (SMG linear net)."""

from __future__ import annotations

import numpy as np

from learndyn.figures.style import colour_cycle, new_figure, style, title
from learndyn.kernel.tables import SMG_MARKED_TIMES

KERNEL_STYLES = {"pseudo": "-", "entk": "--"}
KERNEL_NAMES = {"pseudo": "P̄", "entk": "Θ̄"}


def _marks(ax, summary=None):
    for t in SMG_MARKED_TIMES:
        ax.axvline(t, color="0.3", ls=":", lw=1)
    if summary is not None:
        for r in summary.itertuples():
            if np.isfinite(r.half_time):
                ax.axvline(r.half_time, color=colour_cycle(r.mode - 1), ls="--", lw=0.8, alpha=0.6)


@style
def fig_one_step(relu1d, onestep):
    fig = new_figure(9, 6.5)
    axes = fig.subplots(2, 2)
    c = {k: g for k, g in relu1d.groupby("curve")}
    data = c["data"]
    ax = axes[0, 0]
    ax.plot(data.x, data.value, "ko", label="data")
    for name, st in (("initial", "0.5"), ("one_step_true", "tab:blue"), ("converged", "tab:green")):
        ax.plot(c[name].x, c[name].value, color=st, label=name.replace("_", " "))
    ax.set(xlabel="x", ylabel="f(x)", title="(a) data, initial, one-step and converged fits")
    ax.legend()
    for ax, name, lab in (
        (axes[0, 1], "entk", "(b) eNTK Θ(x, x_n; θ0)"),
        (axes[1, 0], "contribution", "(c) −η c ℓ′(ŷ_n, y_n) Θ(x, x_n; θ0)"),
    ):
        for n, g in c[name].groupby("point"):
            ax.plot(g.x, g.value, color=colour_cycle(n), lw=1, label=f"x_{n} = {data.x.iloc[n]:.1f}")
        ax.set(xlabel="x", title=lab)
    axes[0, 1].legend(ncol=2)
    ax = axes[1, 1]
    init = c["initial"].value.to_numpy()
    ax.plot(
        c["one_step_true"].x,
        c["one_step_true"].value - init,
        color="tab:blue",
        lw=3,
        alpha=0.5,
        label="true one-step Δf",
    )
    ax.plot(c["one_step_pred"].x, c["one_step_pred"].value - init, "k--", lw=1, label="Σ_n contributions")
    r1 = onestep[onestep.case == "relu1d"]
    errs = ", ".join(f"{r.lr:g}: {r.rel_sup:.0e}" for r in r1.itertuples())
    ax.set(xlabel="x", ylabel="Δf(x)", title=f"(d) pseudo-kernel sum vs true update\nsup rel. error (η: err) {errs}")
    ax.legend()
    title(
        fig,
        "A. One-step identity, 1-D ReLU net",
        "1-100-1 ReLU, frozen biases, mean MSE, lr 0.03; kernel.onestep (grid, lrs, converge_steps)",
    )
    return fig


@style
def fig_linear_loss(track, summary):
    fig = new_figure(6.5, 4)
    ax = fig.subplots()
    loss = track[track["mode"] == 1]
    ax.semilogy(loss.t, loss.loss, "k")
    _marks(ax, summary)
    ax.set(xlabel="epoch", ylabel="mean MSE (train = test)")
    taus = ", ".join(f"τ{r.mode}={r.half_time:g}" for r in summary.itertuples())
    ax.set_title(f"half-strength times (dashed): {taus}; dotted: authors' t = 190, 770")
    title(fig, "B. SMG linear net 4-3-5: stage-like loss", "kernel.linear (lr, epochs, seeds, init_scale)")
    return fig


@style
def fig_linear_vectors(marked, corr):
    fig = new_figure(9, 4)
    axes = fig.subplots(1, 2)
    for ax, t, idx in zip(axes, SMG_MARKED_TIMES, (1, 2)):
        m = marked[marked.t == t]
        sv = m[(m.kind == "sv") & (m.side == "train") & (m["index"] == idx)].sort_values("point")
        pr = m[(m.kind == "proj") & (m["index"] == idx)].sort_values("point")

        def unit(v):
            return v / np.linalg.norm(v)

        ax.plot(sv.point, unit(sv.value.to_numpy()), color="tab:red", lw=1, label=f"|SV{idx}| (train side)")
        ax.plot(pr.point, unit(pr.value.to_numpy()), color="k", lw=1, alpha=0.6, label=f"|x·u{idx}|")
        r = corr[(corr.t == t) & (corr.side == "train") & (corr.sv_index == idx)].set_index("mode")["r"]
        ax.set(
            xlabel="data index",
            ylabel="component (unit norm)",
            title=f"t = {t}: r(SV{idx}, |x·u_α|) = " + ", ".join(f"α{a}: {v:.2f}" for a, v in r.items()),
        )
        ax.legend()
    title(fig, "C. Pseudo-kernel singular vectors vs the data's mode projections", "kernel.linear")
    return fig


@style
def fig_linear_tracking(track, kernel_sv, sv_modes, summary):
    fig = new_figure(8.5, 10.5)
    axes = fig.subplots(4, 1, sharex=True)
    loss = track[track["mode"] == 1]
    axes[0].semilogy(loss.t, loss.loss, "k")
    axes[0].set_ylabel("mean MSE")
    for mode, g in track[track["mode"] <= 3].groupby("mode"):
        axes[1].plot(g.t, g.cos, color=colour_cycle(mode - 1), label=f"|cos(û, u{mode})|")
    axes[1].set(ylabel="alignment", ylim=(0, 1.05))
    axes[1].legend()
    for (kernel, idx), g in kernel_sv[kernel_sv["index"] <= 3].groupby(["kernel", "index"]):
        axes[2].semilogy(
            g.t, g.sv, color=colour_cycle(idx - 1), ls=KERNEL_STYLES[kernel], label=f"σ{idx}({KERNEL_NAMES[kernel]})"
        )
    axes[2].set(ylabel="kernel singular values")
    axes[2].legend(fontsize=6.5, ncol=2)
    # variant: which mode's data projection the leading singular vector matches, for P̄ and Θ̄
    for (kernel, mode), g in sv_modes[sv_modes["mode"] <= 3].groupby(["kernel", "mode"]):
        axes[3].plot(
            g.t,
            g.r,
            color=colour_cycle(mode - 1),
            ls=KERNEL_STYLES[kernel],
            label=f"{KERNEL_NAMES[kernel]}: r(|SV1|, |x·u{mode}|)",
        )
    axes[3].set(xlabel="epoch", ylabel="Pearson r across points", ylim=(-1.05, 1.05))
    axes[3].legend(fontsize=6.5, ncol=2)
    for ax in axes:
        _marks(ax, summary)
    sw = ", ".join(f"{r.switch_time:g}" for r in summary.itertuples() if np.isfinite(r.switch_time))
    axes[0].set_title(f"predicted-update direction switch times: {sw}")
    title(
        fig,
        "D. Predicted update direction û(t) tracks the mode being learned",
        "kernel.linear; solid: pseudo-kernel P̄ = Σ_k P_k, dashed: raw eNTK Θ̄ = Σ_k Θ_kk (residual-free variant)",
    )
    return fig
