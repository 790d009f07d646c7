"""Readability checks of a rendered figure at the size it is saved: overlapping text, text cut
off by the canvas, legends over plotted data, axes without labels.

Geometry comes from matplotlib itself (``get_window_extent`` after a draw), so the checks see
what a reader sees in the PNG.  :func:`layout_problems` returns plain sentences, so a failing
figure test says which labels collide.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.legend import Legend
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from learndyn.figures.style import DPI

TOLERANCE_PX = 1.0  # antialiasing slack: boxes that share a pixel row are not a collision


def _shown(axis) -> list[Text]:
    """The tick labels of ``axis`` that are drawn (none when the axis is hidden: twinx, axis off)."""
    labels = [
        lab
        for tick in axis._update_ticks()
        for lab in (tick.label1, tick.label2)
        if lab.get_visible() and tick.get_visible() and lab.get_text().strip()
    ]
    return labels if axis.get_visible() and axis.axes.axison else []


def _tick_labels(fig) -> tuple[list[Text], set[int]]:
    """(the tick labels matplotlib draws, ids of every tick label object, drawn or pooled)."""
    drawn, pooled = [], set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            # the ticks inside the view interval: the ones matplotlib draws (get_ticklabels also
            # returns labels of ticks just outside it, which a reader never sees); this call may
            # add ticks to the pool, so the pool is read after it
            shown = _shown(axis)
            for tick in (*axis.majorTicks, *axis.minorTicks):
                pooled.update((id(tick.label1), id(tick.label2)))
            drawn += shown
    return drawn, pooled


def _texts(fig, renderer) -> list[tuple[str, object]]:
    """(description, window bbox) of every visible, non-empty text of the figure."""
    drawn, pooled = _tick_labels(fig)
    in_legend = {id(t) for lg in fig.findobj(Legend) for t in (*lg.get_texts(), lg.get_title())}
    others = [t for t in fig.findobj(Text) if id(t) not in pooled]
    out = []
    for t in [*drawn, *others]:
        if not t.get_visible() or not t.get_text().strip() or t.get_alpha() == 0:
            continue
        if t.axes is not None and not t.axes.get_visible():
            continue
        bb = t.get_window_extent(renderer)
        if bb.width < 1 or bb.height < 1:
            continue
        kind = "legend entry" if id(t) in in_legend else "tick label" if id(t) in pooled else "text"
        out.append((f"{kind} {t.get_text()[:40]!r}", bb))
    return out


def _overlap(a, b, tol=TOLERANCE_PX) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > tol) and (min(a.y1, b.y1) - max(a.y0, b.y0) > tol)


def _along(xy: np.ndarray, step_px: float = 3.0) -> np.ndarray:
    """Points every ``step_px`` display pixels along a polyline (its vertices included)."""
    pts = [xy[:1]]
    for a, b in pairwise(xy):
        n = max(1, int(np.hypot(*(b - a)) // step_px))
        pts.append(a + (b - a) * (np.arange(1, n + 1) / n)[:, None])
    return np.concatenate(pts)


def _data_points(ax) -> list[tuple[str, np.ndarray]]:
    """Display coordinates of the marks a reader reads: lines, scatter points, bar tops."""
    out = []
    for line in ax.get_lines():
        # reference lines (axhline / axvline) live partly in axes coordinates: decoration, not data
        if not line.get_visible() or line.get_transform() != ax.transData:
            continue
        xy = np.asarray(line.get_xydata(), float).reshape(-1, 2)
        xy = ax.transData.transform(xy[np.isfinite(xy).all(1)])
        if len(xy) > 1 and line.get_linestyle() not in ("None", "", " "):
            xy = _along(xy)  # a drawn segment under a legend hides data as much as a marker does
        if len(xy):
            out.append((f"line {line.get_label()!r}", xy))
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and coll.get_visible():
            off = np.asarray(coll.get_offsets(), float).reshape(-1, 2)
            off = off[np.isfinite(off).all(1)]
            if len(off):
                out.append(("scatter", coll.get_offset_transform().transform(off)))
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_visible() and patch.get_height() != 0:
            bb = patch.get_window_extent()
            top = bb.y1 if patch.get_height() > 0 else bb.y0
            out.append(("bar", np.array([[bb.x0, top], [(bb.x0 + bb.x1) / 2, top], [bb.x1, top]])))
    return out


def layout_problems(fig, *, require_labels: bool = True, dpi: float = DPI) -> list[str]:
    """Everything unreadable about ``fig`` at its saved size; an empty list when it is clean.

    - two texts (tick labels, axis labels, titles, legend entries, annotations) overlap;
    - a text sticks out of the canvas (cut off in the PNG);
    - an axes' legend covers a data point, a drawn line or a bar top of that axes;
    - with ``require_labels``: an axes with tick labels on a side has no axis label there
      (the label is where the unit goes).
    """
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)  # a bare Figure has no renderer; save_figure draws with Agg too
    fig.set_dpi(dpi)  # the resolution save_figure writes: constrained layout depends on it
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    texts = _texts(fig, renderer)
    c = fig.bbox
    for name, bb in texts:
        if (
            bb.x0 < c.x0 - TOLERANCE_PX
            or bb.x1 > c.x1 + TOLERANCE_PX
            or bb.y0 < c.y0 - TOLERANCE_PX
            or bb.y1 > c.y1 + TOLERANCE_PX
        ):
            problems.append(f"{name} is cut off by the figure edge")
    for i, (na, a) in enumerate(texts):
        for nb, b in texts[i + 1 :]:
            if _overlap(a, b):
                problems.append(f"{na} overlaps {nb}")
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        lg = ax.get_legend()
        if lg is not None and lg.get_visible():
            lb = lg.get_window_extent(renderer)
            for what, pts in _data_points(ax):
                inside = (pts[:, 0] > lb.x0) & (pts[:, 0] < lb.x1) & (pts[:, 1] > lb.y0) & (pts[:, 1] < lb.y1)
                if inside.any():
                    problems.append(
                        f"legend of axes {ax.get_title()[:40]!r} covers {int(inside.sum())} point(s) of {what}"
                    )
                    break
        if require_labels:
            for side, axis, label in (("x", ax.xaxis, ax.get_xlabel()), ("y", ax.yaxis, ax.get_ylabel())):
                if _shown(axis) and not label.strip():
                    problems.append(f"axes {ax.get_title()[:40]!r}: {side} axis has tick labels but no label (unit)")
    return problems
