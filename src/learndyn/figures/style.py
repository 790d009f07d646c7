"""Shared look of the learndyn figures: Agg-only Figure objects, colours, titles, saving.

Figures are built with :class:`matplotlib.figure.Figure` directly (never pyplot), so rendering
holds no global state and never opens a display.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display, ever (harmless if pyplot was never imported)

from matplotlib.figure import Figure

from learndyn.io import atomic_write

DPI = 120
RECONSTRUCTION = "reconstruction (paper body unavailable)"
RC = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.titlesize": 11,
}
PRESET_COLOURS = {"lazy": "tab:blue", "torch_like": "tab:green", "rich": "tab:red"}
ORIENTATION_COLOURS = {1: "tab:orange", -1: "tab:purple"}  # s = +1 right-facing, s = -1 left-facing
SIGN_COLOURS = {1: "tab:red", -1: "tab:blue"}  # sign of a delta-slope mu
DATA_STYLE = {"color": "0.35", "lw": 0.7, "ls": ":", "zorder": 0}
REF_STYLE = {"ncs": {"color": "k", "ls": "--", "lw": 1.3}, "li": {"color": "0.45", "ls": ":", "lw": 1.5}}


def colour_cycle(i: int) -> str:
    return f"C{i % 10}"


def new_figure(width: float, height: float) -> Figure:
    """A constrained-layout Agg figure of the given size in inches."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def style(fn):
    """Decorator: build the figure under the shared rc settings."""

    def wrapped(*args, **kwargs):
        with matplotlib.rc_context(RC):
            return fn(*args, **kwargs)

    wrapped.__name__, wrapped.__doc__, wrapped.__wrapped__ = fn.__name__, fn.__doc__, fn
    wrapped.__module__, wrapped.__qualname__ = fn.__module__, fn.__qualname__
    return wrapped


def title(fig, text: str, settings: str = "") -> None:
    """Suptitle naming the figure as a reconstruction, with its settings wrapped below it."""
    width = max(40, int(fig.get_figwidth() * 11.5))  # characters per line at 11 pt
    lines = [f"{text} — {RECONSTRUCTION}"] + (textwrap.wrap(settings, width) if settings else [])
    fig.suptitle("\n".join(lines), fontsize=RC["figure.titlesize"])


def empty_panel(ax, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def save_figure(fig, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Write PNG atomically (temp file + rename) so an interrupted job leaves no half image."""
    path = Path(path)
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return path


def render_figure(job, study: str, figures: dict, schema_of, call=None, read=None) -> Path:
    """The figure rules' entry point, shared by every study.

    ``figures`` maps a figure name to (plotting function, names of its input tables);
    ``schema_of(name)`` gives each input's :class:`learndyn.io.Table`; ``call(name, func, frames)``
    (default ``func(*frames)``) lets a study pass figure-specific settings; ``read(name, paths)``, where
    given, reads an input instead (several files of one table, a table whose schema depends on the file).
    Figures read Parquet only: every input goes through :func:`learndyn.io.read_table` and its schema.
    """
    from learndyn.io import read_table

    name = job.cfg["figure"]
    if name not in figures:
        raise KeyError(f"unknown {study} figure {name!r}; known: {', '.join(figures)}")
    func, inputs = figures[name]
    missing = [n for n in inputs if n not in job.inputs]
    if missing:
        raise KeyError(f"figure {name}: inputs {missing} not given (have {sorted(job.inputs)})")
    frames = [read(n, job.inputs[n]) if read else read_table(job.inputs[n], schema_of(n)) for n in inputs]
    fig = call(name, func, frames) if call else func(*frames)
    path = save_figure(fig, job.output("figure"))
    job.log(f"{name}: wrote {path} ({len(fig.axes)} axes)")
    return path
