"""The claims ladder's figure (one per study) and page: claim value with its 95% interval against
the scale rung, the threshold drawn, coloured by verdict."""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from learndyn.claims_page import COLOUR
from learndyn.figures.style import empty_panel, new_figure, save_figure

MARKER = {"reproduced": "tab:green", "not reproduced": "tab:red", "inconclusive": "goldenrod", "not run": "0.6"}


def plot_ladder(diag: pd.DataFrame, study: str, path) -> None:
    ids = list(dict.fromkeys(diag["claim_id"]))
    cols = min(4, max(1, len(ids)))
    rows = max(1, math.ceil(len(ids) / cols))
    fig = new_figure(3.2 * cols, 2.5 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    if not ids:
        empty_panel(axes[0], f"{study}: every claim reproduced at every rung")
    for ax, cid in zip(axes, ids):
        g = diag[diag["claim_id"] == cid].sort_values("rung_index")
        x = g["rung_index"].to_numpy()
        y = g["value"].to_numpy(float)
        lo = np.where(np.isnan(g["ci_lo"]), y, g["ci_lo"])
        hi = np.where(np.isnan(g["ci_hi"]), y, g["ci_hi"])
        ax.vlines(x, lo, hi, color="0.3", lw=1.2)
        for xi, yi, v in zip(x, y, g["verdict"]):
            ax.plot([xi], [yi], "o", color=MARKER.get(v, "k"), ms=6, zorder=3)
        thr = float(g["threshold"].iloc[0])
        ax.axhline(thr, color="k", ls="--", lw=0.9)
        ax.set_xticks(x, g["rung"].tolist())
        ax.set_xlim(-0.5, max(x.max(), 1) + 0.5)
        ax.set_title(f"{cid} ({g['direction'].iloc[0]} {thr:.3g})", fontsize=8)
        ax.set_xlabel(g["trend"].iloc[0], fontsize=7)
    for ax in axes[len(ids) :]:
        ax.set_visible(False)
    handles = [axes[0].plot([], [], "o", color=c, label=v)[0] for v, c in MARKER.items()]
    handles.append(axes[0].plot([], [], "k--", lw=0.9, label="threshold")[0])
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=7)
    fig.suptitle(f"{study}: claims not reproduced at some scale, value and 95% interval by rung")
    save_figure(fig, path)


def ladder_html(diag: pd.DataFrame, rungs: list[str]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in ("study", "claim", "criterion", *rungs, "trend"))
    body = []
    for (study, cid), g in diag.groupby(["study", "claim_id"], sort=False):
        by = g.set_index("rung")
        cells = []
        for r in rungs:
            if r not in by.index:
                cells.append("<td></td>")
                continue
            x = by.loc[r]
            ci = "" if np.isnan(x.ci_lo) or x.ci_lo == x.ci_hi else f" [{x.ci_lo:.3g}, {x.ci_hi:.3g}]"
            val = "" if np.isnan(x.value) else f"{x.value:.3g}{ci}<br>"
            cells.append(f"<td style='background:{COLOUR.get(x.verdict, '#fff')}'>{val}{e(x.verdict)} (n = {x.n})</td>")
        first = g.iloc[0]
        body.append(
            f"<tr><td>{e(study)}</td><td>{e(cid)}</td><td>{e(first.direction)} {first.threshold:.3g}</td>"
            f"{''.join(cells)}<td>{e(first.trend)}</td></tr>"
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>learndyn claims ladder</title><style>"
        "body{font-family:system-ui,sans-serif;margin:16px;font-size:14px}table{border-collapse:collapse}"
        "td,th{border:1px solid #aaa;padding:3px 6px;vertical-align:top}</style></head><body>"
        "<h1>Claims ladder</h1><p>Every claim that is not reproduced at some rung, evaluated at each scale "
        f"({' &lt; '.join(e(r) for r in rungs)}): value, 95% interval, verdict; the trend compares the "
        "smallest and largest rung with a value.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>"
    )
