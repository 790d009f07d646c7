"""Splines figures F1–F8: each plotting function on small tables built with the package's own pure
functions, and `render` end to end through a hand-built Job and Parquet files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from learndyn.figures import splines as figs
from learndyn.io import write_table
from learndyn.job import Job
from learndyn.splines import init_analysis as ia
from learndyn.splines import landscape_analysis as la
from learndyn.splines.data import DATASETS, dataset_xy, make_datasets
from learndyn.splines.jobs import render_splines
from learndyn.splines.metrics import implicit_regularisation_metrics
from learndyn.splines.runs import RUNS, group_init, group_runs
from learndyn.splines.tables import schema as schema_of
from learndyn.splines.trajectory import METRIC_NAMES, METRICS, PARAM_NAMES, TRAJECTORY, trajectory_rows

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 8
STEPS = (0, 10, 100)


def _group(sweep, dataset, width=WIDTH, presets=None, preset=None, log10=None):
    return {
        "sweep": sweep,
        "dataset": dataset,
        "width": width,
        "presets": presets,
        "preset": preset,
        "log10": log10,
        "seeds": [0, 1],
    }


def _trained(params0: dict, step: int) -> dict:
    """A deterministic stand-in for training: knots drift and delta-slopes grow with the step."""
    t = np.log1p(step) / np.log1p(STEPS[-1])
    rng = np.random.default_rng(step)
    return {
        "w": params0["w"] * (1 + 0.2 * t),
        "b": params0["b"] + 0.1 * t * rng.standard_normal(params0["b"].shape),
        "v": params0["v"] * (1 + 2 * t),
        "c": params0["c"] + 0.05 * t,
    }


def _train(group: dict, datasets: pd.DataFrame):
    """(runs, trajectory, metrics) of one small group, with the DAG's schemas."""
    x, y = dataset_xy(datasets, group["dataset"])
    runs = group_runs(group)
    p0 = group_init(group, runs)
    traj = pd.concat([trajectory_rows(_trained(p0, s), x, y, s) for s in STEPS], ignore_index=True)
    pT = _trained(p0, STEPS[-1])
    name = f"{group['sweep']}-H{group['width']}"
    runs = runs.assign(
        group=name,
        converged=runs["run"] % 3 == 0,
        steps=STEPS[-1],
        final_loss=traj[traj["step"] == STEPS[-1]].groupby("run")["loss"].first().to_numpy(),
    )
    rows = []
    for r in runs.itertuples(index=False):
        m = implicit_regularisation_metrics(
            {k: p0[k][r.run] for k in PARAM_NAMES}, {k: pT[k][r.run] for k in PARAM_NAMES}, x, y
        )
        rows.append({**r._asdict(), **{k: float(m[k]) for k in METRIC_NAMES}})
    return (runs[[c for c, _ in RUNS.columns]], traj, pd.DataFrame(rows)[[c for c, _ in METRICS.columns]])


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    datasets = make_datasets(d2_seed=2020, d5_points=50)
    runs_p, traj_p, met_p = _train(_group("presets", "D1", presets=["lazy", "torch_like", "rich"]), datasets)
    runs_c, traj_c, met_c = _train(_group("curvature", "D5", presets=["rich"]), datasets)
    extra = [
        _train(g, datasets)[2]
        for g in (
            _group("rho", "D1", preset="rho", log10=[-1, 0]),
            _group("alpha", "D1", preset="antisymmetric", log10=[-1, 0]),
            _group("width", "D2", width=6, presets=["torch_like"]),
            _group("width", "D2", width=10, presets=["torch_like"]),
        )
    ]
    laws, hists = ia.breakpoint_law_tables([1.0], [[1.0, 2.0]], n=2000)
    x1, y1 = dataset_xy(datasets, "D1")
    flat, funcs = ia.flatness_tables(
        ["torch", "glorot"],
        [10, 30],
        draws_budget=200,
        min_draws=5,
        data_x=x1,
        data_y=y1,
        n_functions=3,
        grid_points=51,
    )
    x3, y3 = dataset_xy(datasets, "D3")
    slices, _ = la.loss_slice_tables(x3, y3, slice_points=41)
    spectra, _ = la.hessian_tables()
    return {
        "datasets": datasets,
        "trajectory_presets": traj_p,
        "runs_presets": runs_p,
        "trajectory_curvature": traj_c,
        "runs_curvature": runs_c,
        "implicit_regularisation": pd.concat([met_p, met_c, *extra], ignore_index=True),
        "breakpoint_laws": laws,
        "breakpoint_histograms": hists,
        "flatness": flat,
        "flat_functions": funcs,
        "loss_slices": slices,
        "hessian_spectra": spectra,
    }


# figure -> number of axes (F4: 2 units x 3 panels + 4 colour bars; F7: 3 presets + 4 metrics x 3 knobs)
EXPECTED_AXES = {
    "F1_anatomy": 2,
    "F2_breakpoint_laws": 4,
    "F3_flatness": 2 * 2 + 3,
    "F4_loss_slices": 10,
    "F5_hessian_spectra": 3,
    "F6_trajectories": 9,
    "F7_implicit_regularisation": 15,
    "F8_knots_vs_curvature": 2,
}


def _drawn(ax) -> int:
    return len(ax.lines) + len(ax.collections) + len(ax.patches) + len(ax.images)


@pytest.mark.parametrize("name", list(figs.FIGURES))
def test_figure_function(tables, name):
    func, inputs = figs.FIGURES[name]
    fig = func(*(tables[n] for n in inputs))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == EXPECTED_AXES[name]
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert visible and all(_drawn(ax) > 0 for ax in visible), [ax.get_title() for ax in visible if not _drawn(ax)]
    assert "reconstruction" in fig.get_suptitle()


def test_non_converged_runs_are_kept_and_marked(tables):
    fig = figs.fig_implicit_regularisation(
        tables["implicit_regularisation"], tables["trajectory_presets"], tables["runs_presets"], tables["datasets"]
    )
    hollow = [
        c
        for ax in fig.axes
        for c in ax.collections
        if isinstance(c, PathCollection) and len(c.get_offsets()) and len(c.get_facecolors()) == 0
    ]
    n_hollow = sum(len(c.get_offsets()) for c in hollow)
    m = tables["implicit_regularisation"]
    shown = m[m["sweep"].isin(["rho", "alpha", "width"])]
    # each non-converged run appears once per metric series drawn for it (2 + 2 + 1 + 1 per sweep column)
    assert n_hollow == 6 * int((~shown["converged"]).sum())


def test_render_writes_png_through_job(tables, tmp_path):
    schema = {n: schema_of(n) for n in tables}
    assert schema["trajectory_presets"] is TRAJECTORY and schema["datasets"] is DATASETS
    paths = {n: write_table(df, tmp_path / f"{n}.parquet", schema[n]) for n, df in tables.items()}
    for name, (_, inputs) in figs.FIGURES.items():
        out = tmp_path / "figures" / f"{name}.png"
        job = Job(
            rule=f"render_splines_{name}",
            inputs={n: str(paths[n]) for n in inputs},
            outputs={"figure": str(out)},
            cfg={"figure": name},
        )
        render_splines(job)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    with pytest.raises(KeyError, match="unknown splines figure"):
        render_splines(Job(rule="x", inputs={}, outputs={"figure": str(tmp_path / "x.png")}, cfg={"figure": "F9_x"}))


def test_every_figure_has_a_caption():
    for name in figs.FIGURES:
        caption = (ROOT / "workflow/report/splines" / f"{name}.rst").read_text()
        assert "reconstruction" in caption
        if name != "F5_hessian_spectra":  # F5's constructions have fixed seeds and no config keys
            assert "``splines." in caption
