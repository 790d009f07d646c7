"""What the kernel claims modules share: the study's rows and figures, and how a number is written in a row."""

from __future__ import annotations

from learndyn.claims import claim

STUDY = "kernel"
FIG = "figures/kernel/{}.png"  # relative to results/


def _c(cid: str, statement: str, metric: str, **kw) -> dict:
    return claim(STUDY, cid, statement, metric, **kw)
