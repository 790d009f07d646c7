"""``results/claims.html``: the claims table as one static page (no server, no network).

First the verdict rule, then a per-study summary, then one row per claim (value, 95% interval,
criterion, n, verdict coloured, why, link to its figure); a search box and click-to-sort headers
run in plain inline JavaScript.
"""

from __future__ import annotations

import html
import math

import pandas as pd

from learndyn.claims import REL_TOL, VERDICTS, verdict_counts

COLOUR = {"reproduced": "#cdeccd", "not reproduced": "#f5c9c9", "inconclusive": "#f3efc4", "not run": "#e4e4e4"}
RULE = (
    "<b>reproduced</b>: the 95% interval of the claim's aggregate lies on the claimed side of the "
    "threshold; <b>not reproduced</b>: it lies on the other side; <b>inconclusive</b>: it straddles the "
    "threshold, n is below the claim's minimum, or runs it needs did not converge; <b>not run</b>: the "
    f"claim needs runs this config does not have. Comparisons use a relative tolerance of {REL_TOL:g}, "
    "so no verdict flips on rounding. The aggregate follows the paper's wording (column <i>reading</i>): "
    "&ldquo;typically&rdquo; is a median or mean with its interval, &ldquo;every seed&rdquo; counts units."
)

_STYLE = """body{font-family:system-ui,sans-serif;margin:16px;font-size:14px}
table{border-collapse:collapse}td,th{border:1px solid #aaa;padding:3px 6px;vertical-align:top}
th{background:#eee;cursor:pointer;position:sticky;top:0}#summary td{text-align:right}
#claims td.d{font-size:12px;color:#333;max-width:420px}.v{font-weight:bold;white-space:nowrap}
#filter{width:320px;padding:4px;margin:8px 0}p.rule{max-width:1100px}"""

_SCRIPT = """const f=document.getElementById('filter'),rows=[...document.querySelectorAll('#claims tbody tr')];
f.oninput=()=>{const q=f.value.toLowerCase();
rows.forEach(r=>r.style.display=r.textContent.toLowerCase().includes(q)?'':'none')};
document.querySelectorAll('#claims th').forEach((th,i)=>th.onclick=()=>{
const b=th.parentNode.parentNode.parentNode.tBodies[0];
const dir=th.dataset.dir=th.dataset.dir==='1'?'-1':'1';
const key=r=>{const t=r.cells[i].dataset.k??r.cells[i].textContent;
const x=parseFloat(t);return isNaN(x)?t:x};[...b.rows].sort((a,c)=>{const p=key(a),q=key(c);
return (p>q?1:p<q?-1:0)*dir}).forEach(r=>b.appendChild(r))});"""


def _g(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def _interval(r) -> str:
    if math.isnan(r.ci_lo) or math.isnan(r.ci_hi):
        return ""
    if r.ci_lo == r.ci_hi:
        return "exact"
    return f"[{_g(r.ci_lo)}, {_g(r.ci_hi)}]"


def _summary(df: pd.DataFrame) -> str:
    counts = verdict_counts(df)
    head = "".join(f"<th>{v}</th>" for v in ("study", *VERDICTS, "total"))
    body = "".join(
        f"<tr><td>{html.escape(study)}</td>"
        + "".join(f"<td style='background:{COLOUR.get(v, '#fff')}'>{int(row[v])}</td>" for v in VERDICTS)
        + f"<td>{int(row['total'])}</td></tr>"
        for study, row in counts.iterrows()
    )
    tot = counts.sum()
    body += (
        "<tr><td><b>all</b></td>"
        + "".join(f"<td><b>{int(tot[v])}</b></td>" for v in VERDICTS)
        + f"<td><b>{int(tot['total'])}</b></td></tr>"
    )
    return f"<table id='summary'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def claims_html(df: pd.DataFrame, title: str = "learndyn claims") -> str:
    cols = (
        "study",
        "claim",
        "statement",
        "reading",
        "value",
        "95% interval",
        "criterion",
        "n",
        "verdict",
        "why",
        "detail",
        "figure",
    )
    head = "".join(f"<th title='click to sort'>{c}</th>" for c in cols)
    body = []
    for r in df.itertuples(index=False):
        e = html.escape
        fig = f"<a href='{e(r.figure)}'>{e(r.figure.rsplit('/', 1)[-1])}</a>" if r.figure else ""
        body.append(
            f"<tr><td>{e(r.study)}</td><td>{e(r.claim_id)}</td><td>{e(r.statement)}</td>"
            f"<td class='d'>{e(r.reading)}; {e(r.metric)} ({e(r.aggregate)} over {e(r.unit)}s)</td>"
            f"<td data-k='{_g(r.value)}'>{_g(r.value)}</td><td class='d'>{_interval(r)}</td>"
            f"<td>{e(r.direction)} {_g(r.threshold)}</td><td>{r.n}</td>"
            f"<td class='v' style='background:{COLOUR.get(r.verdict, '#fff')}'>{e(r.verdict)}</td>"
            f"<td class='d'>{e(r.why)}</td><td class='d'>{e(r.detail)}</td><td>{fig}</td></tr>"
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='rule'>{RULE}</p>{_summary(df)}"
        "<p><input id='filter' placeholder='filter rows (study, claim, verdict, text)'></p>"
        f"<table id='claims'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<script>{_SCRIPT}</script></body></html>"
    )


def claims_summary_rst(df: pd.DataFrame) -> str:
    """The per-study verdict counts as reStructuredText, included at the top of the report's first page."""
    counts = verdict_counts(df)
    head = ["study", *VERDICTS, "total"]
    rows = [[study, *(str(int(row[v])) for v in VERDICTS), str(int(row["total"]))] for study, row in counts.iterrows()]
    tot = counts.sum()
    rows.append(["**all**", *(f"**{int(tot[v])}**" for v in VERDICTS), f"**{int(tot['total'])}**"])
    lines = [
        ".. list-table:: Claims at this run's scale: verdicts per study (details: the claims page)",
        "   :header-rows: 1",
        "",
    ]
    for r in [head, *rows]:
        lines.append("   * - " + r[0])
        lines += [f"     - {c}" for c in r[1:]]
    return "\n".join(lines) + "\n"
