"""Rule entry points that span studies."""

from __future__ import annotations

from learndyn.claims import CLAIMS, verdict_counts
from learndyn.claims_page import claims_html, claims_summary_rst
from learndyn.io import read_tables, write_table
from learndyn.job import Job


def aggregate_claims(job: Job) -> None:
    df = read_tables(job.inputs["claims"], CLAIMS)
    write_table(df, job.output("table"), CLAIMS, job.provenance())
    job.output("page").write_text(claims_html(df))
    job.output("summary").write_text(claims_summary_rst(df))
    job.log(f"{len(df)} claims:\n{verdict_counts(df).to_string()}")
