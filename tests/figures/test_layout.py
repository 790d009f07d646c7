"""The readability checker itself: each problem it names is caught on a figure built to have it,
and a clean figure passes."""

from __future__ import annotations

import numpy as np

from learndyn.figures.layout import layout_problems
from learndyn.figures.style import new_figure


def _clean():
    fig = new_figure(5, 3.5)
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, 1, 4], "o-", label="data")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats)")
    ax.legend(loc="upper left")
    return fig, ax


def test_clean_figure_passes():
    fig, _ = _clean()
    assert layout_problems(fig) == []


def test_overlapping_tick_labels_are_caught():
    fig, ax = _clean()
    ax.set_yticks(np.linspace(0, 4, 60), [f"label {i}" for i in range(60)])
    problems = layout_problems(fig)
    assert any("tick label 'label" in p and "overlaps" in p for p in problems), problems


def test_legend_over_data_is_caught():
    fig, ax = _clean()
    ax.plot([0.05, 0.1], [3.9, 3.8], "s", label="under the legend")
    ax.legend(loc="upper left")
    assert any(p.startswith("legend of axes") for p in layout_problems(fig))


def test_text_cut_off_and_missing_label_are_caught():
    fig, ax = _clean()
    ax.set_ylabel("")
    fig.text(0.98, 0.5, "a long note that runs past the right edge of the canvas")
    problems = layout_problems(fig)
    assert any("cut off" in p for p in problems), problems
    assert any("y axis has tick labels but no label" in p for p in problems), problems


def test_reference_lines_do_not_count_as_data():
    fig, ax = _clean()
    ax.axhline(3.9, color="0.5")  # passes under the legend: decoration, not a data point
    assert layout_problems(fig) == []


def test_legend_over_a_drawn_segment_is_caught():
    fig, ax = _clean()
    ax.plot([0, 2], [3.95, 3.95], "-", label="a line through the legend, vertices outside it")
    ax.legend(loc="upper center")
    assert any(p.startswith("legend of axes") for p in layout_problems(fig))
