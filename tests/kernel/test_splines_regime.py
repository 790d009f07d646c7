"""The pseudo-kernel of the splines study's shallow ReLU nets at init (beyond the paper): the net and
loss conventions (one-step identity over all of θ), the knot share of lazy vs rich inits, the table
built from the splines config, the statistics and the claims rows."""

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from learndyn.kernel import splines_regime as sr
from learndyn.kernel.claims import regime_claims
from learndyn.kernel.pseudo_kernel import one_step_check
from learndyn.splines.data import make_datasets
from learndyn.splines.gd import forward
from learndyn.splines.init import draw_init
from learndyn.splines.runs import group_runs, training_groups
from smk import REPO

X = np.array([-1, -0.6, -0.1, 0.2, 0.7, 1.0])
Y = np.array([0, 0.8, -0.5, 0.6, 1.0, 0.2])


def _params(family, seed=0, width=50):
    p = draw_init(family, width, [seed])
    return {k: v[0] for k, v in p.items()}


def test_net_is_the_splines_forward_and_one_step_identity_holds():
    p = _params("torch_like")
    net = sr.ShallowReLU(p["w"], p["b"], p["v"], p["c"])
    x = torch.as_tensor(X)
    ref = forward(*(torch.as_tensor(np.atleast_1d(p[k]))[None] for k in "wbv"), torch.tensor([float(p["c"])]), x)
    assert torch.allclose(net(x)[:, 0], ref[0])
    grid = torch.linspace(-1, 1, 41, dtype=torch.float64).reshape(-1, 1)
    xt, yt = x.reshape(-1, 1), torch.as_tensor(Y).reshape(-1, 1)
    errs = []
    for lr in (0.02, 0.01):  # L = (1/2N) Σ r²: ℓ_n = ½ r², c = 1/N, θ = every parameter (what the splines GD moves)
        true, pred = one_step_check(
            net, grid, xt, yt, lr, params="all", loss_term=sr.half_sse, objective_scale=1 / len(X)
        )
        errs.append(float((true - pred).abs().max() / true.abs().max()))
    assert errs[0] < 1e-2 and errs[1] < 0.7 * errs[0]


def test_knot_share_separates_lazy_from_rich_inits():
    lazy = sr.regime_predictors(_params("lazy"), X, Y, 101)
    rich = sr.regime_predictors(_params("rich"), X, Y, 101)
    assert lazy["knot_share"] < 1e-3 and 0.9 < rich["knot_share"] <= 1
    assert lazy["ntk_knot_share"] < 1e-3 and 0.9 < rich["ntk_knot_share"]
    for m in (lazy, rich):
        assert 1 <= m["eff_rank"] <= len(X) and -1 <= m["step_alignment"] <= 1


@pytest.fixture(scope="module")
def smoke_groups():
    cfg = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())["splines"]
    return {g: spec for g, spec in training_groups(cfg).items() if g.startswith(("presets", "rho"))}


def _metrics(groups, rng):
    frames = []
    for name, g in groups.items():
        runs = group_runs(g).assign(group=name, converged=True)
        lazy = runs.preset.eq("lazy") | (runs.knob_value > 3)
        runs["lazy_rms"] = np.where(lazy, 1e-3, 0.1) * rng.uniform(0.5, 2, len(runs))
        runs["displacement_median"] = np.where(lazy, 1e-5, 0.1) * rng.uniform(0.5, 2, len(runs))
        runs["d_cs"] = 0.5
        frames.append(runs)
    return pd.concat(frames, ignore_index=True)


def test_table_stats_and_claims_from_the_splines_config(smoke_groups):
    metrics = _metrics(smoke_groups, np.random.default_rng(0))
    table = sr.regime_table(metrics, smoke_groups, make_datasets(2020, 50), 51)
    assert len(table) == len(metrics) and list(table.columns) == [c for c, _ in sr.REGIME.columns]
    st = sr.regime_stats(table, ["presets", "rho"])
    assert {"pool", "all", "sweep:presets", "sweep:rho"} == set(st["pool"])
    # regime measures built lazy for the lazy preset and rho = 10: the knot share ranks them
    ks = st[(st["pool"] == "pool") & (st.predictor == "knot_share")].set_index("regime").rho
    assert (ks > 0.5).all()
    rows = {r["claim_id"]: r for r in regime_claims(st, {"regime_rho": 0.5}, table, ["presets", "rho"])}
    assert set(rows) == {"KR-lazy", "KR-knots"} and rows["KR-lazy"]["value"] > 0.5
    # 12 noisy runs: rho 0.77, but the bootstrap interval over runs reaches below 0.5
    assert rows["KR-lazy"]["ci_lo"] < 0.5 < rows["KR-lazy"]["ci_hi"] and rows["KR-lazy"]["verdict"] == "inconclusive"
    # regime measures that the knot share ranks exactly: the interval sits at 1
    exact = table.assign(lazy_rms=table.knot_share, displacement_median=table.knot_share**2)
    ex_st = sr.regime_stats(exact, ["presets", "rho"])
    kr = {r["claim_id"]: r for r in regime_claims(ex_st, {"regime_rho": 0.5}, exact, ["presets", "rho"])}["KR-lazy"]
    assert kr["verdict"] == "reproduced" and kr["ci_lo"] == pytest.approx(1.0) and kr["n"] == len(exact)
    assert "ntk_knot_share" in kr["detail"] and kr["figure"] == "figures/kernel/M_splines_regime.png"
    # a pool run stopped before convergence has not reached its regime: no evidence, the row says which
    first = exact.index[exact.sweep == "rho"][0]
    exact.loc[first, "converged"] = False
    kr = {r["claim_id"]: r for r in regime_claims(ex_st, {"regime_rho": 0.5}, exact, ["presets", "rho"])}["KR-lazy"]
    assert kr["verdict"] == "inconclusive" and kr["n_unconverged"] == 1
    assert f"{exact.group[first]}/run {exact.run[first]}" in kr["why"]


def test_table_refuses_metrics_that_do_not_match_the_config(smoke_groups):
    metrics = _metrics(smoke_groups, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rerun the splines study"):
        sr.regime_table(metrics.assign(seed=metrics.seed + 7), smoke_groups, make_datasets(2020, 50), 11)
    with pytest.raises(KeyError, match="presets-H50"):
        sr.regime_table(
            metrics, {k: v for k, v in smoke_groups.items() if k != "presets-H50"}, make_datasets(2020, 50), 11
        )


def test_figure_m_renders(smoke_groups, tmp_path):
    from learndyn.figures import kernel_beyond as kb
    from learndyn.figures.style import save_figure

    table = sr.regime_table(_metrics(smoke_groups, np.random.default_rng(1)), smoke_groups, make_datasets(2020, 50), 11)
    out = save_figure(kb.fig_splines_regime(table, sr.regime_stats(table, ["presets", "rho"])), tmp_path / "M.png")
    assert out.stat().st_size > 10_000
