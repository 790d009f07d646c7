"""C2 (splines.md, 'Loss surface, critical points, Hessian'): loss-slice jumps at the data, zero eigenvalues at
a minimum, strict saddles, and the spectra under re-balancing, on deterministic constructions."""

from __future__ import annotations

import pandas as pd

from learndyn.claims import claim
from learndyn.splines.claims_common import F4, F5, STUDY


def landscape_claims(checks: pd.DataFrame, slice_checks: pd.DataFrame) -> list[dict]:
    """C2: the loss surface and Hessian as the spline view predicts (constructions of spec T12/T13).

    Deterministic constructions, so every row is strict: ``all`` over its cases or an exact value.
    """

    def at(case, coords):
        return checks[(checks["case"] == case) & (checks["coordinates"] == coords)].iloc[0]

    mins = checks[checks["case"] == "minimum"]
    saddle, reb_s, reb_n = at("saddle", "spline"), at("minimum_rebalanced", "spline"), at("minimum_rebalanced", "nn")
    jumps = slice_checks[slice_checks["check"] == "jump"]
    jumps = jumps[jumps["predicted"].abs() > 1e-12]
    exact = "a derived identity on a construction: exact, no sampling"
    return [
        claim(
            STUDY,
            "C2-slice-jumps",
            "dL/dbeta_i jumps by mu_i r_m / N as a knot crosses data point x_m",
            "relative error, predicted vs one-sided FD jump, per (unit, data point)",
            threshold=1e-5,
            direction="<",
            aggregate="all",
            values=jumps["rel_error"],
            unit="(unit, data point)",
            reading="derived for every crossing: all pairs (spec T8)",
            detail=f"{len(jumps)} (unit, data point) pairs on D3",
            figure=F4,
        ),
        claim(
            STUDY,
            "C2-zero-eigenvalues",
            "At an interpolating minimum the Hessian has >= 2H+1-N (spline) and >= 3H+1-N (NN) zero eigenvalues",
            "zero-eigenvalue count minus the theoretical minimum, per coordinate system",
            threshold=0.0,
            direction=">=",
            aggregate="all",
            values=(mins["n_zero"] - mins["min_zero_theory"]).to_numpy(float),
            unit="coordinate system",
            reading="both coordinate systems (spec T12)",
            detail="; ".join(
                f"{r.coordinates}: {r.n_zero} zero of {r.dim} (theory >= {r.min_zero_theory:.0f})"
                for r in mins.itertuples()
            ),
            figure=F5,
        ),
        claim(
            STUDY,
            "C2-strict-saddle",
            "A unit with mu_j = 0 at a critical point gives a strict saddle (one lambda < 0)",
            "lambda_min in spline coordinates",
            threshold=0.0,
            direction="<",
            aggregate="value",
            value=float(saddle["lambda_min"]),
            reading=exact,
            detail=f"bounds [{saddle['saddle_lower']:.3g}, {saddle['saddle_upper']:.3g}]",
            figure=F5,
        ),
        claim(
            STUDY,
            "C2-spectrum-spline-invariant",
            "Re-balancing per-unit scales leaves the spline-coordinate spectrum unchanged",
            "max |lambda change| / lambda_max (spline coordinates)",
            threshold=1e-8,
            direction="<",
            aggregate="value",
            value=float(reb_s["max_abs_diff_vs_minimum"] / abs(reb_s["lambda_max"])),
            reading=exact,
            detail="same f, balanced a_i",
            figure=F5,
        ),
        claim(
            STUDY,
            "C2-spectrum-nn-changes",
            "...but changes the network-coordinate spectrum (hidden per-unit scales)",
            "max |lambda change| / lambda_max (NN coordinates)",
            threshold=1e-3,
            direction=">",
            aggregate="value",
            value=float(reb_n["max_abs_diff_vs_minimum"] / abs(reb_n["lambda_max"])),
            reading=exact,
            detail="same f, balanced a_i",
            figure=F5,
        ),
    ]
