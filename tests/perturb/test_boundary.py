"""Distance to the nearest decision boundary (R1): minimal-norm attacks from the model's own prediction."""

import numpy as np
import pytest
import torch
from torch import nn

from learndyn.perturb.boundary import boundary_distance, data_scales


def _linear(seed=0, scale=20.0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with torch.no_grad():  # confident logits, as after training
        model[1].weight.mul_(scale)
        model[1].bias.mul_(scale)
    return model.eval()


def _closed_form(model, x):
    """Minimal L2 perturbation to the nearest other class of a linear model (adversarial.md, 'Theory checks' T4):
    min over c != pred of |z_pred - z_c| / ||w_pred - w_c||, along w_c - w_pred."""
    with torch.no_grad():
        z = model(x).double()
    y = z.argmax(1)
    w = model[1].weight.detach().double()
    out = []
    for i in range(len(x)):
        others = [c for c in range(10) if c != y[i]]
        dist = [float((z[i, y[i]] - z[i, c]) / (w[y[i]] - w[c]).norm()) for c in others]
        c = others[int(np.argmin(dist))]
        diff = w[c] - w[y[i]]
        out.append(((z[i, y[i]] - z[i, c]) * diff / diff.norm() ** 2).numpy())
    return np.stack(out), y


@pytest.mark.parametrize("kind", ["deepfool", "l2fmn", "ddn"])
def test_minimal_norm_matches_linear_closed_form(kind):
    model = _linear()
    x = (0.5 + 0.02 * torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    expected, y = _closed_form(model, x)
    assert np.abs(expected).max() < 0.3  # the box [0, 1] stays inactive: the closed form is the answer
    # the attack on the model's own prediction (the label plays no part) ...
    r = boundary_distance(model, x, {"kind": kind, "steps": 100}, seed=0)
    assert (r["reason"] == "ok").all()
    assert np.array_equal(r["pred"], y.numpy())
    norm = np.linalg.norm(expected, axis=1)
    assert np.all(np.abs(r["dist"] / norm - 1) < 0.05)
    d = r["delta"]
    cos = (d * expected).sum(1) / np.linalg.norm(d, axis=1) / norm
    assert cos.min() > 0.95


def test_linf_fmn_matches_linear_closed_form():
    """L-inf distance of a linear model: min over c of |z_pred - z_c| / ||w_pred - w_c||_1."""
    model = _linear(scale=5.0)
    x = (0.5 + 0.02 * torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    with torch.no_grad():
        z = model(x).double()
    w = model[1].weight.detach().double()
    y = z.argmax(1)
    expected = np.array(
        [
            min(float((z[i, y[i]] - z[i, c]) / (w[y[i]] - w[c]).abs().sum()) for c in range(10) if c != y[i])
            for i in range(len(x))
        ]
    )
    assert expected.max() < 0.3
    r = boundary_distance(model, x, {"kind": "linf_fmn", "steps": 200}, seed=0)
    assert (r["reason"] == "ok").all()
    assert np.all(np.abs(r["dist"] / expected - 1) < 0.05)


@pytest.mark.parametrize("bias", [0.0, 1.0], ids=["all-logits-equal", "zero-weights-random-bias"])
def test_constant_model_is_flat_nan_not_zero(bias):
    """A model whose last layer has zero weights is constant: no boundary a gradient attack can
    reach. Defined as NaN with reason 'flat' (never a silent 0, never a finite distance)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10)).eval()
    with torch.no_grad():
        model[3].weight.zero_()
        model[3].bias.copy_(bias * torch.arange(10, dtype=torch.float32))
    x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    r = boundary_distance(model, x, {"kind": "l2fmn", "steps": 20}, seed=0)
    assert (r["reason"] == "flat").all()
    assert np.isnan(r["dist"]).all()


def test_nonfinite_logits_are_nan_not_zero():
    """A diverged model (NaN weights) must not report distance 0 (foolbox calls NaN logits adversarial)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).eval()
    with torch.no_grad():
        model[1].weight.fill_(float("nan"))
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    r = boundary_distance(model, x, {"kind": "deepfool", "steps": 5}, seed=0)
    assert (r["reason"] == "nonfinite").all() and np.isnan(r["dist"]).all()


def test_tie_at_the_image_is_distance_zero():
    """Two classes with w_1 = -w_0 and no bias: an image with w_0 . x = 0 ties, i.e. sits on the boundary."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2)).eval()
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[1.0, -1.0, 0.0, 0.0], [-1.0, 1.0, 0.0, 0.0]]))
        model[1].bias.zero_()
    x = torch.tensor([[[[0.3, 0.3], [0.5, 0.9]]], [[[0.7, 0.3], [0.5, 0.9]]]])
    r = boundary_distance(model, x, {"kind": "l2fmn", "steps": 50}, seed=0)
    assert list(r["reason"]) == ["on_boundary", "ok"]
    assert r["dist"][0] == 0.0
    assert r["dist"][1] == pytest.approx(0.4 / np.sqrt(2), rel=0.05)  # |x0 - x1| / sqrt(2)


def test_data_scales_by_hand():
    x = np.zeros((4, 1, 1, 2), np.float32)
    x[:, 0, 0] = [[3, 4], [0, 1], [6, 8], [0, 0]]
    y = np.array([0, 1, 0, 1])
    s = data_scales(x, y, 2, "l2")
    assert s["x_norm"] == pytest.approx(np.median([5, 1, 10, 0]))
    # image 0 -> nearest of class 1: (0,1) at sqrt(9+9); image 1 -> nearest of class 0: (3,4) at sqrt(9+9)
    assert s["nn_other"] == pytest.approx(np.sqrt(18))
    assert data_scales(x, y, 2, "linf")["nn_other"] == pytest.approx(3.0)
