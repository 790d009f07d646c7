"""Reading A (line restriction) and Reading B (hinge change point), adversarial.md, 'Breakpoint analysis (C1)' and
'Theory checks' T4."""

import numpy as np
import pytest
import torch
from torch import nn

from learndyn.perturb.breakpoints import (
    READING_B,
    first_layer_breakpoints,
    hinge_changepoint,
    line_summary,
    segment_breakpoints,
)

N_SAMPLES = 4096
SPACING = 1.0 / (N_SAMPLES - 1)


def _line(b=4, shape=(1, 6, 6), seed=0, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(b, *shape, generator=g).numpy(), scale * torch.randn(b, *shape, generator=g).numpy())


def _matches(exact, sampled):
    """Every sampled change lies within one sample spacing of an exact breakpoint."""
    return all(np.min(np.abs(exact - t)) <= SPACING for t in sampled) if len(sampled) else True


def test_first_layer_closed_form_equals_dense_sampling():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 12), nn.ReLU(), nn.Linear(12, 3))
    x0, d = _line()
    w = model[1].weight.detach().double().numpy()
    bias = model[1].bias.detach().double().numpy()
    a = x0.reshape(len(x0), -1).astype(np.float64) @ w.T + bias
    s = d.reshape(len(d), -1).astype(np.float64) @ w.T
    by_hand = [np.sort(t[(t > 0) & (t < 1)]) for t in -a / s]
    closed = first_layer_breakpoints(model, x0, d)
    exact = segment_breakpoints(model, x0, d, method="exact")
    sampled = segment_breakpoints(model, x0, d, method="sampled", n_samples=N_SAMPLES)
    for h, c, e, smp in zip(by_hand, closed, exact, sampled):
        np.testing.assert_allclose(c, h, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(e, h, rtol=1e-9, atol=1e-12)
        if len(h) > 1 and np.diff(h).min() > 2 * SPACING:  # resolvable by the grid
            assert len(smp) == len(h)
        assert _matches(h, smp)
    assert sum(len(h) for h in by_hand) > 5  # the test line crosses several units


@pytest.mark.parametrize("arch", ["mlp2", "cnn_maxpool"])
def test_exact_restriction_finds_every_sampled_change(arch):
    torch.manual_seed(1)
    if arch == "mlp2":
        model = nn.Sequential(
            nn.Flatten(), nn.Linear(36, 24), nn.ReLU(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 3)
        )
    else:
        model = nn.Sequential(
            nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3)
        )
    x0, d = _line(b=3, seed=2)
    exact = segment_breakpoints(model, x0, d, method="exact")
    sampled = segment_breakpoints(model, x0, d, method="sampled", n_samples=N_SAMPLES)
    for e, smp in zip(exact, sampled):
        assert len(smp) > 0 and _matches(e, smp)
        assert len(e) >= len(smp)  # sampling is a lower bound
        assert np.all((e > 0) & (e < 1)) and np.all(np.diff(e) > 0)


def test_t_cross_and_summary_on_affine_net():
    """No ReLU: no breakpoints, the logits are affine in t, t_cross is a closed form."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 4))
    x0, d = _line(b=5, seed=3, scale=1.0)
    with torch.no_grad():
        za, zb = model(torch.as_tensor(x0)).double().numpy(), model(torch.as_tensor(x0 + d)).double().numpy()
    labels = za.argmax(1)
    d[4] = 0  # a failed/absent perturbation: NaN along δ
    out = line_summary(model, x0, d, labels, fixed=d, n_random=2)
    for i in range(4):
        m_a = np.delete(za[i], labels[i]) - za[i, labels[i]]
        m_b = np.delete(zb[i], labels[i]) - zb[i, labels[i]]
        with np.errstate(divide="ignore"):
            s = np.where(m_b >= 0, m_a / (m_a - m_b), np.inf).min()
        expected = s if s <= 1 else np.nan
        np.testing.assert_allclose(out.loc[i, "t_cross"], expected, rtol=1e-6)
        assert out.loc[i, "same_region"] == np.isfinite(expected)
    assert (out.loc[:3, "n_bp"] == 0).all() and out.loc[:3, "t1"].isna().all()
    assert out.loc[4, ["n_bp", "t_cross", "density", "density_random"]].isna().all()
    assert not out.loc[4, "same_region"]


def test_hinge_recovers_planted_changepoint():
    rng = np.random.default_rng(0)
    steps = np.array([0, 1, 2, 3, 5, 8, 12, 18, 27, 40, 60, 79, 118, 158, 237, 316, 395])
    u = np.log1p(steps)
    tau0 = u[8]  # step 27
    images = 40
    uu = np.repeat(u, images)
    gg = np.tile(np.arange(images), len(u))
    noise = 0.05 * rng.standard_normal(len(uu))
    s = 1.0 + 0.02 * uu - 0.5 * np.maximum(uu - tau0, 0) + noise
    res = hinge_changepoint(uu, s, groups=gg, n_boot=100, seed=0)
    assert res["accepted"] and res["bic_gain"] > 10
    assert res["tau"] == pytest.approx(tau0)
    assert res["ci_low"] <= tau0 <= res["ci_high"]
    assert res["gamma"] == pytest.approx(-0.5, abs=0.05)
    assert res["label"] == READING_B
    line = hinge_changepoint(uu, 1.0 + 0.3 * uu + noise, groups=gg, n_boot=20, seed=0)
    assert not line["accepted"]
    short = hinge_changepoint(u[:4], u[:4])
    assert np.isnan(short["tau"]) and not short["accepted"]
