"""F4 (loss-surface slices) and F5 (Hessian spectra, spline vs network coordinates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm

from learndyn.figures.splines_common import data_lines
from learndyn.figures.style import empty_panel, new_figure, style, title
from learndyn.splines.spline import gap_index
from learndyn.splines.tables import dataset_xy


def slice_dataset(slices: pd.DataFrame, datasets: pd.DataFrame) -> tuple[str, np.ndarray]:
    """The data set the slices were computed on: the one whose gap index reproduces the table's."""
    beta = slices["beta"].to_numpy()
    for name in dict.fromkeys(datasets["dataset"]):
        x, _ = dataset_xy(datasets, name)
        if np.array_equal(gap_index(x, beta), slices["gap"].to_numpy()):
            return str(name), x
    raise ValueError("no data set in the datasets table reproduces the loss slices' gap column")


def _grid(df: pd.DataFrame, xcol: str, ycol: str):
    piv = df.pivot_table(index=ycol, columns=xcol, values="loss", aggfunc="first").sort_index().sort_index(axis=1)
    return piv.columns.to_numpy(), piv.index.to_numpy(), piv.to_numpy()


def _contours(ax, X, Y, Z):
    Z = np.ma.masked_invalid(Z)
    lo, hi = float(Z.min()), float(Z.max())
    levels = np.geomspace(lo, hi, 16) if hi > lo > 0 else 16
    cs = ax.contourf(X, Y, Z, levels=levels, norm=LogNorm(lo, hi) if hi > lo > 0 else None, cmap="viridis")
    ax.contour(X, Y, Z, levels=cs.levels, colors="k", linewidths=0.3, alpha=0.5)
    return cs


@style
def fig_loss_slices(slices: pd.DataFrame, datasets: pd.DataFrame):
    """F4: per slice unit, L vs β_i (others fixed) and L over (β_i, μ_i) and over (μ_i, γ_i = μ_iβ_i)."""
    units = sorted(slices["unit"].unique())
    nu = max(1, len(units))
    fig = new_figure(12.5, 3.3 * nu + 0.6)
    axes = fig.subplots(nu, 3, squeeze=False)
    name, x = slice_dataset(slices, datasets) if len(slices) else ("?", np.array([]))
    n_beta = int((slices["kind"] == "beta_slice").sum() / nu)
    title(
        fig,
        "F4 Loss surface along one unit's spline coordinates",
        f"generic point (H = 5, knots off the data) on {name} (N = {x.size}); {n_beta} β values per slice; "
        "dotted: data x_n (cell boundaries); config: splines.landscape.slice_points",
    )
    if not units:
        empty_panel(axes[0, 0])
    for r, unit in enumerate(units):
        u = slices[slices["unit"] == unit]
        s = int(u["orientation"].iloc[0])
        sl = u[u["kind"] == "beta_slice"].sort_values("beta")
        mu_i = float(sl["mu"].iloc[0]) if len(sl) else np.nan
        ax = axes[r, 0]
        ax.plot(sl["beta"], sl["loss"], color="C0", lw=1.3)
        data_lines(ax, x)
        ax.set_xlabel(f"β_{unit}")
        ax.set_ylabel("L")
        ax.set_title(
            f"unit {unit} (s = {s:+d}, μ = {mu_i:.3f}): L vs β, others fixed\n"
            "convex quadratic in each gap, kinks only at data x_n"
        )
        ax = axes[r, 1]
        g = u[u["kind"] == "beta_mu_grid"]
        if len(g):
            B, M, Z = _grid(g, "beta", "mu")
            cs = _contours(ax, B, M, Z)
            fig.colorbar(cs, ax=ax, label="L (log colour)", format="%.2g")
            ax.axhline(mu_i, color="w", lw=1.2, ls="--", label="slice of left panel")
            data_lines(ax, x, color="w", alpha=0.9, zorder=3)
            ax.legend(loc="lower right", fontsize=7, framealpha=0.6)
        ax.set_xlabel(f"β_{unit}")
        ax.set_ylabel(f"μ_{unit}")
        ax.set_title("L over (β, μ)")
        ax = axes[r, 2]
        g = u[u["kind"] == "mu_gamma_grid"]
        if len(g):
            M, G, Z = _grid(g, "mu", "gamma")
            cs = _contours(ax, M, G, Z)
            fig.colorbar(cs, ax=ax, label="L (log colour)", format="%.2g")
            mline = np.array([M.min(), M.max()])
            for xn in x:  # β = x_n is the ray γ = x_n μ: the cell boundaries, straight in (μ, γ)
                ax.plot(mline, xn * mline, color="w", lw=0.7, ls=":", alpha=0.9)
            ax.plot([mu_i, mu_i], [mu_i * sl["beta"].min(), mu_i * sl["beta"].max()], color="w", lw=1.2, ls="--")
            ax.set_ylim(G.min(), G.max())
        ax.set_xlabel(f"μ_{unit}")
        ax.set_ylabel(f"γ_{unit} = μβ")
        ax.set_title("L over (μ, γ): convex quadratic in each cell\n(dotted rays γ = x_n μ bound the cells)")
    return fig


CASES = (
    ("minimum", "interpolating minimum (D3)"),
    ("saddle", "strict saddle (D4)"),
    ("minimum_rebalanced", "same minimum, re-balanced a_i"),
)
COORDS = {
    "spline": ("o", "C0", "spline (β, μ, c)", 18, 4, (-8, -16)),
    "nn": ("s", "C1", "network (w, b, v, c)", 34, 3, (6, 6)),
}  # marker, colour, label, size, z, text offset
FLOOR = 1e-18


@style
def fig_hessian_spectra(spectra: pd.DataFrame):
    """F5: sorted |λ| (log) by index for each construction, spline vs NN coordinates, zeros and λ < 0 marked."""
    cases = [c for c in CASES if c[0] in set(spectra["case"])] + [
        (c, c) for c in dict.fromkeys(spectra["case"]) if c not in {k for k, _ in CASES}
    ]
    fig = new_figure(4.2 * max(1, len(cases)), 4.2)
    axes = fig.subplots(1, max(1, len(cases)), sharey=True, squeeze=False)[0]
    title(
        fig,
        "F5 Hessian spectra in spline vs network coordinates",
        "sorted |λ| (hollow: counted as zero, |λ| < 1e-6·max|λ|; red: λ < 0); constructions of spec T12/T13, "
        "fixed seeds, no config keys",
    )
    if not cases:
        empty_panel(axes[0])
    for ax, (case, label) in zip(axes, cases):
        sub = spectra[spectra["case"] == case]
        for coords, (marker, colour, name, size, z, offset) in COORDS.items():
            d = sub[sub["coordinates"] == coords].sort_values("index")
            if d.empty:
                continue
            lam = np.maximum(d["abs_eigenvalue"].to_numpy(), FLOOR)
            zero, neg = d["is_zero"].to_numpy(), (d["eigenvalue"].to_numpy() < 0) & ~d["is_zero"].to_numpy()
            idx = d["index"].to_numpy()
            ax.plot(idx, lam, color=colour, lw=0.6, alpha=0.5)
            ax.scatter(
                idx[~zero & ~neg],
                lam[~zero & ~neg],
                marker=marker,
                color=colour,
                s=size,
                zorder=z,
                label=f"{name}: dim {len(d)}, {int(zero.sum())} zero, {int(neg.sum())} negative",
            )
            ax.scatter(idx[zero], lam[zero], marker=marker, facecolors="none", edgecolors=colour, s=size, zorder=z)
            if neg.any():
                ax.scatter(
                    idx[neg],
                    lam[neg],
                    marker=marker,
                    color="red",
                    edgecolors=colour,
                    s=size * 1.6,
                    linewidths=1.2,
                    zorder=z + 2,
                )
                for i, v in zip(idx[neg], d["eigenvalue"].to_numpy()[neg]):
                    ax.annotate(
                        f"{coords}: λ = {v:.3g} < 0",
                        (i, lam[idx == i][0]),
                        xytext=offset,
                        textcoords="offset points",
                        fontsize=7,
                        color="red",
                        ha="left" if offset[0] > 0 else "right",
                    )
        if case == "minimum_rebalanced":
            ref = spectra[(spectra["case"] == "minimum") & (spectra["coordinates"] == "nn")].sort_values("index")
            if len(ref):
                ax.plot(
                    ref["index"],
                    np.maximum(ref["abs_eigenvalue"], FLOOR),
                    color="0.5",
                    lw=1,
                    ls="--",
                    label="network, before re-balancing",
                )
        ax.set_yscale("log")
        ax.set_xlabel("index (sorted by |λ|, descending)")
        ax.set_title(label)
        ax.legend(fontsize=6.8, loc="upper right", frameon=True, framealpha=0.85)
    axes[0].set_ylabel("|λ| (log; exact zeros drawn at 1e-18)")
    return fig
