"""C4, the init presets: lazy nets stay in the kernel regime, rich nets move their knots onto the data
(splines.md, 'Implicit regularization: metrics, sweeps, expected outcomes'; spec T16, T17)."""

from __future__ import annotations

import pandas as pd

from learndyn.claims import claim, fmt
from learndyn.splines.claims_common import F6, F7, STUDY, _conv, unconverged


def _width(df: pd.DataFrame) -> str:
    return ", ".join(str(int(h)) for h in sorted(df["width"].unique())) or "none"


def _dataset(df: pd.DataFrame) -> str:
    return ", ".join(sorted(df["dataset"].unique())) or "none"


def _preset(m: pd.DataFrame, preset: str, sweep: str = "presets") -> pd.DataFrame:
    return m[(m["sweep"] == sweep) & (m["preset"] == preset)]


def _seed_row(
    df: pd.DataFrame,
    claim_id: str,
    statement: str,
    column: str,
    what: str,
    threshold: float,
    direction: str,
    reading: str,
    fig: str,
    extra: str = "",
) -> dict:
    """A regime claim over the seeds of one preset: median over seeds of the per-seed ``column``."""
    df = df.sort_values("seed")
    return claim(
        STUDY,
        claim_id,
        statement,
        f"{what} per seed (H = {_width(df)}, {_dataset(df)})",
        threshold=threshold,
        direction=direction,
        aggregate="median",
        values=df[column],
        reading=reading,
        unconverged=unconverged(df),
        detail=f"per seed {fmt(df[column])} (seeds {fmt(df['seed'])}){extra}; {_conv(df)}",
        figure=fig,
    )


LAZY_SWEEPS = ("presets", "kernel_limit")


def lazy_runs(metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lazy runs the kernel-regime rows read, and the narrower ones (reported in the detail).

    The widest lazy D1 runs of the presets and kernel_limit sweeps: the kernel limit is
    H -> infinity (splines.md, 'Kernel-regime curvature penalty ζ') and T16's H = 200 is a test size, at which the
    random-knot kernel interpolant scatters around the d_CS threshold.
    """
    lazy = metrics[metrics["sweep"].isin(LAZY_SWEEPS) & (metrics["preset"] == "lazy") & (metrics["dataset"] == "D1")]
    if lazy.empty:
        return lazy, lazy
    wide = lazy["width"] == lazy["width"].max()
    return lazy[wide], lazy[~wide]


def preset_claims(metrics: pd.DataFrame, n_data: int) -> list[dict]:
    lazy, other = lazy_runs(metrics)
    rich = _preset(metrics, "rich")
    typ = (
        "typically (splines.md, 'Implicit regularization: metrics, sweeps, expected outcomes'): "
        "median over seeds of the per-seed {}"
    )
    kernel = " at the widest lazy D1 width (the kernel limit is H -> infinity)"

    def narrower(column: str) -> str:
        return "".join(
            f"; narrower H={int(h)}: per seed {fmt(g.sort_values('seed')[column])}, "
            f"{int(g['converged'].sum())}/{len(g)} converged"
            for h, g in other.groupby("width")
        )

    return [
        _seed_row(
            lazy,
            "C4-lazy-frozen",
            "Lazy init: knots stay frozen",
            "displacement_median",
            "median |beta_T - beta_0|",
            1e-4,
            "<",
            typ.format("median displacement") + kernel,
            F6,
            extra=narrower("displacement_median"),
        ),
        _seed_row(
            lazy,
            "C4-lazy-cubic",
            "Lazy init: close to the natural cubic spline",
            "d_cs",
            "d_CS",
            0.25,
            "<",
            typ.format("d_CS") + kernel,
            F7,
            extra=narrower("d_cs"),
        ),
        _seed_row(
            lazy,
            "C4-lazy-prediction",
            "Lazy init: final function = frozen-breakpoint (kernel) prediction",
            "lazy_rms",
            "RMS(f_T - f_lazy)",
            5e-3,
            "<",
            typ.format("RMS(f_T - f_lazy)") + kernel,
            F7,
            extra=narrower("lazy_rms"),
        ),
        _seed_row(
            rich,
            "C4-rich-moves",
            "Rich init: knots relocate",
            "displacement_median",
            "median |beta_T - beta_0|",
            0.3,
            ">",
            typ.format("median displacement"),
            F6,
        ),
        _seed_row(
            rich,
            "C4-rich-pinned",
            "Rich init: kink mass pinned at data points",
            "pinning_fraction",
            "pinning fraction (eps = 0.01)",
            0.5,
            ">",
            typ.format("pinning fraction"),
            F6,
            extra=f"; chance baseline {rich['pinning_chance'].mean():.3f}",
        ),
        _seed_row(
            rich,
            "C4-rich-few-kinks",
            "Rich init: few effective kinks (<= N)",
            "effective_kinks",
            "effective kinks",
            float(n_data),
            "<=",
            typ.format("effective-kink count") + f"; N = {n_data}",
            F7,
        ),
    ]
