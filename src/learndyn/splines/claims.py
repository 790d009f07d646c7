"""Claims of the splines study (spec: abstract claims C1-C4, checks T5/T6/T12/T16-T18).

Every row goes through the common rule of :func:`learndyn.claims.claim` with per-unit values:

- exact identities and constructions (C1, C2) are strict: ``all`` over every stored network /
  every (unit, data point) pair / every coordinate system, or an exact ``value``;
- regime claims over seeds (C4 presets) read "typically": the ``median`` over seeds of the
  per-seed statistic, with its order-statistic interval (at 5 seeds that is [min, max], so one
  bad seed makes the row inconclusive, not reproduced; from 9 seeds one outlier is tolerated);
- statistics the study computes itself (log-log slopes, Spearman trends, ratios of means) are a
  ``value`` with a seeded bootstrap interval computed here (over draws or over seeds).

Runs that did not reach the loss tolerance are not evidence: a claim that reads them lists
them as ``unconverged`` and is inconclusive.  Thresholds are the spec's.

The rows of C1 are built here; C2 in :mod:`learndyn.splines.landscape_claims`, C3 in
:mod:`learndyn.splines.init_claims`, C4 in :mod:`learndyn.splines.preset_claims` (lazy vs rich
inits) and :mod:`learndyn.splines.sweep_claims` (rho, alpha and width trends).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.claims import CLAIMS, claim, claims_frame
from learndyn.io import read_table, write_table
from learndyn.job import Job
from learndyn.splines import tables as st
from learndyn.splines.claims_common import F1, STUDY
from learndyn.splines.init_claims import init_claims
from learndyn.splines.landscape_claims import landscape_claims
from learndyn.splines.preset_claims import preset_claims
from learndyn.splines.spline import evaluate_pieces, network_forward, spline_from_network, spline_pieces
from learndyn.splines.sweep_claims import sweep_claims
from learndyn.splines.tables import DATASETS, METRICS, SLICE_CHECKS, SPECTRUM_CHECKS, TRAJECTORY, dataset_xy, run_params

# ---- C1 -------------------------------------------------------------------------------------------


def spline_identity_errors(traj: pd.DataFrame) -> np.ndarray:
    """|net - spline| / (1 + max|f|) of every stored network, on x in [-50, 50] and at knots +- 1e-9."""
    errors = []
    for run, step in traj[["run", "step"]].drop_duplicates().itertuples(index=False):
        p = run_params(traj, run, step)
        w, b, v, c = p["w"], p["b"], p["v"], p["c"]
        sp = spline_from_network(w, b, v, c)
        knots = sp.breakpoint[np.isfinite(sp.breakpoint) & (np.abs(sp.breakpoint) < 50)]
        x = np.concatenate([np.linspace(-50, 50, 20001), knots, knots - 1e-9, knots + 1e-9])
        net = network_forward(w, b, v, c, x)
        errors.append(np.max(np.abs(net - evaluate_pieces(spline_pieces(sp), x))) / (1 + np.max(np.abs(net))))
    return np.asarray(errors, dtype=float)


def splines_claims(metrics, laws, flatness, traj, n_data: int) -> list[dict]:
    errors = spline_identity_errors(traj)
    rows = [
        claim(
            STUDY,
            "C1-identity",
            "A shallow ReLU net equals its spline reparametrisation exactly",
            "|net - spline| / (1 + max|f|) per stored network",
            threshold=1e-12,
            direction="<=",
            aggregate="all",
            values=errors,
            unit="network",
            reading="an exact identity for every network: all stored networks (spec T1)",
            detail=f"{len(errors)} networks (presets group, every checkpoint), x in [-50, 50] plus "
            f"knots +- 1e-9; worst {errors.max():.3g}",
            figure=F1,
        )
    ]
    rows += init_claims(laws, flatness)
    rows += preset_claims(metrics, n_data)
    rows += sweep_claims(metrics)
    return rows


def write_claims(job: Job) -> None:
    metrics = read_table(job.inputs["implicit_regularisation"], METRICS)
    laws = read_table(job.inputs["breakpoint_laws"], st.LAWS)
    flatness = read_table(job.inputs["flatness"], st.FLATNESS)
    traj = read_table(job.inputs["trajectory_presets"], TRAJECTORY)
    x, _ = dataset_xy(read_table(job.inputs["datasets"], DATASETS), "D1")
    rows = splines_claims(metrics, laws, flatness, traj, len(x))
    rows += landscape_claims(
        read_table(job.inputs["hessian_checks"], SPECTRUM_CHECKS),
        read_table(job.inputs["loss_slice_checks"], SLICE_CHECKS),
    )
    df = claims_frame(rows)
    write_table(df, job.output("claims"), CLAIMS, job.provenance())
    for r in df.itertuples():
        job.log(
            f"{r.claim_id}: {r.aggregate} {r.metric} = {r.value:.4g} [{r.ci_lo:.4g}, {r.ci_hi:.4g}] "
            f"({r.direction} {r.threshold:.4g}) -> {r.verdict}{' (' + r.why + ')' if r.why else ''}"
        )
