"""Claims rows of the kernel study (pseudo_kernel.md, 'Expected qualitative outcomes and tests', O1–O8; beyond the
paper: SW, KR), computed from the tables; thresholds come from the config (``kernel.claims``), never from the results.

Every row goes through :func:`learndyn.claims.claim` with per-unit values (a unit = a Std/Large
pair, a net, a replicate or a run); its ``reading`` says how the spec's wording was read.  Exact
checks (closed form vs autograd, the deterministic SMG net, frozen biases) stay exact.

The rows are built by family: O1-O2 in :mod:`learndyn.kernel.validation_claims`, O3-O8 and T4 in
:mod:`learndyn.kernel.multitask_claims`, SW and KR in :mod:`learndyn.kernel.beyond_claims`.
"""

from __future__ import annotations

from learndyn.claims import CLAIMS, claims_frame
from learndyn.io import read_table, write_table
from learndyn.job import Job
from learndyn.kernel import tables as kt
from learndyn.kernel.beyond_claims import regime_claims, sweep_claims
from learndyn.kernel.multitask_claims import multitask_claims
from learndyn.kernel.validation_claims import validation_claims


def write_claims(job: Job) -> None:
    i, cfg = job.inputs, job.cfg
    rows = validation_claims(
        read_table(i["onestep"], kt.ONESTEP),
        read_table(i["smg_summary"], kt.SMG_SUMMARY),
        read_table(i["smg_track"], kt.SMG_TRACK),
        read_table(i["smg_corr"], kt.SMG_CORR),
        cfg["claims"],
    )
    rows += multitask_claims(
        read_table(i["runs"], kt.SUMMARY),
        read_table(i["ari"], kt.ARI),
        read_table(i["correlations"], kt.CORRELATIONS),
        cfg["ari"],
        cfg["claims"],
    )
    if "splines_regime_stats" in i:  # only when the splines study is in the DAG
        rows += regime_claims(
            read_table(i["splines_regime_stats"], kt.REGIME_STATS),
            cfg["claims"],
            read_table(i["splines_regime"], kt.REGIME),
            cfg["splines_regime_pool"],
        )
    rows += sweep_claims(
        read_table(i["sweep"], kt.SUMMARY), read_table(i["sweep_stats"], kt.SWEEP_STATS), cfg["claims"]
    )
    df = claims_frame(rows)
    write_table(df, job.output("claims"), CLAIMS, job.provenance())
    job.log(df[["claim_id", "value", "ci_lo", "ci_hi", "verdict"]].to_string())
