"""The pseudo-kernel of the splines study's shallow ReLU nets at init, against their measured regime
(beyond the paper, pseudo_kernel.md, 'Caveats' caveat / 'Baselines' rich-vs-lazy).

Net f(x) = Σ_i v_i [w_i x + b_i]_+ + c, all of θ = (w, b, v, c) trained by the splines study's
full-batch GD on L = (1/2N) Σ_n (f(x_n) − y_n)², so ℓ_n = ½ r_n², c = 1/N and θ = every parameter
(the pseudo-kernel's θ must be what the optimiser moves).  The init is rebuilt from the splines
config with the splines study's own functions (``training_groups``/``group_runs``/``group_init``)
and the forward is the splines study's ``gd.forward``: nothing is duplicated.

Per run, from P(θ0) alone (probe = a grid on the data hull, loss points = the training data):
- knot share: ‖Δf̂_wb‖ / (‖Δf̂_wb‖ + ‖Δf̂_vc‖), Δf̂_block = −η c Σ_n P_block(·, x_n), the part of the
  predicted first step that moves knots (w, b) rather than re-weighting fixed ReLU features (v, c).
  Lazy = features fixed, so a share near 0 predicts lazy, near 1 rich (reconstruction).
- effective rank of P on train × train (participation ratio of its singular values);
- step alignment: cos(Δf̂ on the data, y − f0), how directly the first step heads for the targets;
- eNTK knot share tr Θ_wb / tr Θ on the data: the residual-free baseline (pseudo_kernel.md, 'Baselines').
The measured regime is the splines study's M6 ``lazy_rms`` = RMS(f_T − f_lazy) (small = lazy) and
M2 ``displacement_median`` (knot motion).  Spearman rho across runs says whether P(θ0) predicts it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from learndyn.io import read_table, write_table
from learndyn.job import Job
from learndyn.kernel.pseudo_kernel import empirical_ntk, pseudo_kernel
from learndyn.kernel.stats import spearman
from learndyn.kernel.tables import REGIME, REGIME_STATS  # noqa: F401 (schemas: tables.py)

PREDICTORS = ("knot_share", "eff_rank", "step_alignment", "ntk_knot_share")
REGIME_MEASURES = ("lazy_rms", "displacement_median")
KNOTS, FEATURES = ("w", "b"), ("v", "c")


class ShallowReLU(nn.Module):
    """One splines-study net as an nn.Module (so the generic torch.func pseudo-kernel applies)."""

    def __init__(self, w, b, v, c):
        super().__init__()
        as_t = lambda a: nn.Parameter(torch.as_tensor(np.asarray(a, dtype=np.float64)))  # noqa: E731
        self.w, self.b, self.v, self.c = (
            as_t(w),
            as_t(b),
            as_t(v),
            as_t(np.reshape(c, (1,))),
        )  # (1,): torch.func kernels flatten per-parameter dims

    def forward(self, x):
        from learndyn.splines.gd import forward  # the splines study's own forward (run axis of 1)

        out = forward(self.w[None], self.b[None], self.v[None], self.c, x.reshape(-1))
        return out.reshape(-1, 1)


def half_sse(f, y):
    return 0.5 * ((f - y) ** 2).sum()


def _participation_ratio(s: np.ndarray) -> float:
    s = np.abs(s)
    return float(s.sum() ** 2 / (s**2).sum()) if (s > 0).any() else np.nan


def regime_predictors(params: dict, x: np.ndarray, y: np.ndarray, n_probe: int) -> dict:
    """The t = 0 pseudo-kernel measures of one net (params: w, b, v of shape (H,), scalar c)."""
    net = ShallowReLU(params["w"], params["b"], params["v"], params["c"])
    xt = torch.tensor(np.asarray(x, float)).reshape(-1, 1)  # copies: Parquet arrays are read-only
    yt = torch.tensor(np.asarray(y, float)).reshape(-1, 1)
    grid = torch.linspace(float(xt.min()), float(xt.max()), n_probe, dtype=torch.float64).reshape(-1, 1)
    step = {
        blk: pseudo_kernel(net, grid, xt, yt, params=list(blk), loss_term=half_sse).sum(1)[:, 0]
        for blk in (KNOTS, FEATURES)
    }  # Σ_n P_block(x, x_n): minus the predicted step / (η c)
    n_wb, n_vc = (float(torch.linalg.norm(step[b])) for b in (KNOTS, FEATURES))
    P = pseudo_kernel(net, xt, xt, yt, params="all", loss_term=half_sse)[:, :, 0]
    with torch.no_grad():
        resid = (yt - net(xt))[:, 0]
    move = -P.sum(1)
    align = float(move @ resid / (torch.linalg.norm(move) * torch.linalg.norm(resid)))
    ntk = {
        b: float(torch.diagonal(empirical_ntk(net, xt, xt, params=list(b), diagonal=True)[:, :, 0]).sum())
        for b in (KNOTS, FEATURES)
    }
    return {
        "knot_share": n_wb / (n_wb + n_vc) if n_wb + n_vc > 0 else np.nan,
        "eff_rank": _participation_ratio(np.linalg.svd(P.numpy(), compute_uv=False)),
        "step_alignment": align,
        "ntk_knot_share": ntk[KNOTS] / (ntk[KNOTS] + ntk[FEATURES]),
    }


def regime_table(metrics: pd.DataFrame, groups: dict, datasets: pd.DataFrame, n_probe: int) -> pd.DataFrame:
    """One row per splines run: its t = 0 pseudo-kernel measures next to its measured regime."""
    from learndyn.splines.data import dataset_xy
    from learndyn.splines.runs import group_init, group_runs

    rows = []
    for name, m in metrics.groupby("group", sort=False):
        if name not in groups:
            raise KeyError(
                f"splines metrics table has group {name!r}, which the splines config does not define "
                f"(have {sorted(groups)}): rerun the splines study"
            )
        runs = group_runs(groups[name])
        key = ["run", "preset", "seed"]
        if not runs[key].equals(m.sort_values("run")[key].reset_index(drop=True)):
            raise ValueError(
                f"splines group {name!r}: metrics rows do not match the runs the splines config "
                f"builds (run, preset, seed): rerun the splines study"
            )
        init = group_init(groups[name], runs)
        x, y = dataset_xy(datasets, groups[name]["dataset"])
        for r in m.itertuples(index=False):
            p = {k: init[k][r.run] for k in ("w", "b", "v", "c")}
            rows.append(
                {
                    "group": name,
                    "run": r.run,
                    "sweep": r.sweep,
                    "dataset": r.dataset,
                    "width": r.width,
                    "preset": r.preset,
                    "knob_value": r.knob_value,
                    "seed": r.seed,
                    "converged": r.converged,
                    **regime_predictors(p, x, y, n_probe),
                    "lazy_rms": r.lazy_rms,
                    "displacement_median": r.displacement_median,
                    "d_cs": r.d_cs,
                }
            )
    return pd.DataFrame(rows)[[c for c, _ in REGIME.columns]]


def regime_stats(table: pd.DataFrame, pool: list[str]) -> pd.DataFrame:
    """Spearman rho(predictor, regime measure): the configured pool (same data and width, only the
    init differs), every run, and each sweep."""
    pools = [("pool", table[table.sweep.isin(pool)]), ("all", table)]
    pools += [(f"sweep:{s}", g) for s, g in table.groupby("sweep", sort=False)]
    rows = [
        (name, pred, meas, len(g), *spearman(g[pred], g[meas]))
        for name, g in pools
        for pred in PREDICTORS
        for meas in REGIME_MEASURES
    ]
    return pd.DataFrame(rows, columns=[c for c, _ in REGIME_STATS.columns])


def splines_regime(job: Job) -> None:
    """Run by learndyn.kernel.jobs.kernel_splines_regime: read the splines study's tables, rebuild its inits, write both
    tables."""
    from learndyn.splines.data import DATASETS
    from learndyn.splines.trajectory import METRICS

    torch.set_num_threads(job.threads)
    cfg = job.cfg
    metrics = read_table(job.inputs["metrics"], METRICS)
    table = regime_table(
        metrics, cfg["groups"], read_table(job.inputs["datasets"], DATASETS), cfg["regime"]["probe_points"]
    )
    write_table(table, job.output("regime"), REGIME, job.provenance())
    st = regime_stats(table, cfg["regime"]["pool"])
    write_table(st, job.output("stats"), REGIME_STATS, job.provenance())
    job.log(f"{len(table)} splines runs\n" + st[st["pool"].isin(["pool", "all"])].to_string())
