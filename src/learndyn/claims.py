"""The claims table: one row per paper claim, with the measured value and an honest verdict.

Each study writes its rows; a rule concatenates them into ``results/claims.parquet`` and the
report shows them first.  A claim that does not reproduce at our scale is reported as such.
"""

from __future__ import annotations

import html
import math

import pandas as pd
import pyarrow as pa

from learndyn.io import Table

CLAIMS = Table("claims", (
    ("study", pa.string()), ("claim_id", pa.string()), ("statement", pa.string()),
    ("metric", pa.string()), ("value", pa.float64()), ("threshold", pa.float64()),
    ("direction", pa.string()), ("seeds", pa.int64()), ("verdict", pa.string()),
    ("detail", pa.string()),
))
_COMPARE = {"<": lambda v, t: v < t, "<=": lambda v, t: v <= t,
            ">": lambda v, t: v > t, ">=": lambda v, t: v >= t}


def claim(study: str, claim_id: str, statement: str, metric: str, value: float,
          threshold: float, direction: str, seeds: int, detail: str = "") -> dict:
    """A claims row: the verdict is the comparison ``value <direction> threshold``."""
    if direction not in _COMPARE:
        raise ValueError(f"claim {claim_id}: direction must be one of {sorted(_COMPARE)}, got {direction!r}")
    value = float(value)
    if math.isnan(value):
        verdict = "inconclusive"
    else:
        verdict = "reproduced" if _COMPARE[direction](value, float(threshold)) else "not reproduced"
    return {"study": study, "claim_id": claim_id, "statement": statement, "metric": metric,
            "value": value, "threshold": float(threshold), "direction": direction,
            "seeds": int(seeds), "verdict": verdict, "detail": detail}


def claims_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[c for c, _ in CLAIMS.columns])


def claims_html(df: pd.DataFrame) -> str:
    """A self-contained HTML page of the claims table (the report's first page)."""
    colour = {"reproduced": "#d9f2d9", "not reproduced": "#f8d7d7", "inconclusive": "#f3f3d0"}
    head = "".join(f"<th>{html.escape(c)}</th>" for c in
                   ("study", "claim", "statement", "metric", "value", "criterion", "seeds", "verdict", "detail"))
    body = []
    for r in df.itertuples(index=False):
        body.append(
            f"<tr style='background:{colour.get(r.verdict, '#fff')}'><td>{html.escape(r.study)}</td>"
            f"<td>{html.escape(r.claim_id)}</td><td>{html.escape(r.statement)}</td>"
            f"<td>{html.escape(r.metric)}</td><td>{r.value:.4g}</td>"
            f"<td>{html.escape(r.direction)} {r.threshold:.4g}</td><td>{r.seeds}</td>"
            f"<td><b>{html.escape(r.verdict)}</b></td><td>{html.escape(r.detail)}</td></tr>")
    counts = df["verdict"].value_counts().to_dict()
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>learndyn claims</title>"
            "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
            "td,th{border:1px solid #999;padding:4px 8px;vertical-align:top}</style></head><body>"
            f"<h1>Claims</h1><p>{len(df)} claims: {html.escape(summary)}.</p>"
            f"<table><tr>{head}</tr>{''.join(body)}</table></body></html>")
