"""Rule entry points that span studies."""

from __future__ import annotations

import pandas as pd

from learndyn.claims import CLAIMS, claims_html
from learndyn.io import read_table, write_table
from learndyn.job import Job


def aggregate_claims(job: Job) -> None:
    inputs = job.inputs["claims"]
    paths = [inputs] if isinstance(inputs, str) else list(inputs)
    df = pd.concat([read_table(p, CLAIMS) for p in paths], ignore_index=True)
    write_table(df, job.output("table"), CLAIMS, job.provenance())
    job.output("page").write_text(claims_html(df))
    job.log(f"{len(df)} claims: {df['verdict'].value_counts().to_dict()}")
