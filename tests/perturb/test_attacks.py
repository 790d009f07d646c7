"""foolbox attacks through learndyn.perturb.attacks (adversarial.md, 'Attacks', 'Theory checks' T4 'Attacks')."""

import numpy as np
import pytest
import torch
from torch import nn

from learndyn.perturb.attacks import attack, saliency

LINF = {"kind": "linf_pgd", "eps": 0.15, "steps": 20, "abs_stepsize": 0.03, "random_start": True}
L2 = {"kind": "l2_pgd", "eps": 1.5, "steps": 20, "abs_stepsize": 0.2, "random_start": True}


def _toy_data(n=256, seed=0):
    """Two classes of 1×8×8 images: a bright left half vs a bright right half, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.3 + 0.1 * torch.randn(n, 1, 8, 8, generator=g)
    x[y == 0, :, :, :4] += 0.25
    x[y == 1, :, :, 4:] += 0.25
    return x.clamp(0, 1), y


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))
    x, y = _toy_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(150):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    xt, yt = _toy_data(64, seed=1)
    assert (model(xt).argmax(1) == yt).float().mean() > 0.9
    return model, xt, yt


@pytest.mark.parametrize("spec", [LINF, L2], ids=["linf_pgd", "l2_pgd"])
def test_attack_succeeds_and_masks(trained, spec):
    model, x, y = trained
    r = attack(model, x, y, spec, seed=0)
    assert r.delta.shape == tuple(x.shape) and r.delta.dtype == np.float32
    assert r.correct.dtype == bool and r.success.dtype == bool
    assert r.correct.mean() > 0.9
    assert r.kept.sum() / r.correct.sum() > 0.8  # a trained toy net is easy to fool at this ε
    assert np.all(r.delta[~r.kept] == 0)
    assert np.all(r.l2[~r.kept] == 0) and np.all(r.linf[~r.kept] == 0)
    adv = x.numpy() + r.delta
    assert adv.min() >= -1e-6 and adv.max() <= 1 + 1e-6  # clipped adversarials
    with torch.no_grad():
        fooled = model(torch.as_tensor(adv)).argmax(1).numpy() != y.numpy()
    assert np.all(fooled[r.kept])
    norm = r.linf if spec["kind"] == "linf_pgd" else r.l2
    assert norm.max() <= spec["eps"] + 1e-5
    np.testing.assert_allclose(r.l2, np.linalg.norm(r.delta.reshape(len(x), -1), axis=1), rtol=1e-5)


def test_attack_deterministic_given_seed(trained):
    model, x, y = trained
    torch.manual_seed(123)
    before = torch.rand(3)
    a = attack(model, x, y, LINF, seed=7)
    b = attack(model, x, y, LINF, seed=7)
    np.testing.assert_array_equal(a.delta, b.delta)
    short = L2  # 20 L∞ sign steps reach the same corner from any start; L2 steps do not
    c, d = attack(model, x, y, short, seed=7), attack(model, x, y, short, seed=8)
    assert c.kept.any() and not np.array_equal(c.delta, d.delta)  # the random start follows the seed
    torch.manual_seed(123)
    assert torch.equal(before, torch.rand(3))  # the caller's RNG stream is untouched


def test_misclassified_images_get_zero_delta():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
        model[1].bias.zero_()
    x = torch.tensor([[[[0.9, 0.1], [0.5, 0.5]]], [[[0.1, 0.9], [0.5, 0.5]]]])
    r = attack(model, x, torch.tensor([1, 1]), LINF, seed=0)  # image 0 is predicted 0: wrong
    assert r.correct.tolist() == [False, True]
    assert np.all(r.delta[0] == 0)


def test_saliency_of_linear_model_is_predicted_row():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    x = torch.rand(5, 1, 4, 4)
    g = saliency(model, x)
    pred = model(x).argmax(1)
    np.testing.assert_allclose(g.reshape(5, -1), model[1].weight.detach()[pred].numpy(), rtol=1e-6)
    g2 = saliency(model, x, preprocessing={"mean": 0.5, "std": 0.25})  # chain rule: ÷ std
    pred2 = model((x - 0.5) / 0.25).argmax(1)
    np.testing.assert_allclose(g2.reshape(5, -1), model[1].weight.detach()[pred2].numpy() / 0.25, rtol=1e-5)


def test_minimal_norm_l2_matches_linear_closed_form():
    """Spec adversarial.md, 'Theory checks' T4: δ* = (z_y − z_c*)(β_c* − β_y)/‖β_y − β_c*‖² for a linear model, interior
    inputs."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with torch.no_grad():  # confident logits, as after training (DDN follows the CE gradient)
        model[1].weight.mul_(20)
        model[1].bias.mul_(20)
    x = (0.5 + 0.02 * torch.randn(16, 1, 8, 8)).clamp(0, 1)
    with torch.no_grad():
        z = model(x).double()
    y = z.argmax(1)
    beta = model[1].weight.detach().double()
    expected = []
    for i in range(len(x)):
        others = [c for c in range(10) if c != y[i]]
        dist = [(z[i, y[i]] - z[i, c]) / (beta[y[i]] - beta[c]).norm() for c in others]
        c = others[int(np.argmin(dist))]
        diff = beta[c] - beta[y[i]]
        expected.append(((z[i, y[i]] - z[i, c]) * diff / diff.norm() ** 2).numpy())
    expected = np.stack(expected)
    assert np.abs(expected).max() < 0.3  # the box [0,1] stays inactive
    r = attack(model, x, y, {"kind": "ddn", "steps": 200}, seed=0)
    assert r.kept.all()
    d = r.delta.reshape(len(x), -1).astype(np.float64)
    cos = (d * expected).sum(1) / np.linalg.norm(d, axis=1) / np.linalg.norm(expected, axis=1)
    ratio = np.linalg.norm(d, axis=1) / np.linalg.norm(expected, axis=1)
    assert cos.min() > 0.95
    assert np.all(np.abs(ratio - 1) < 0.05)


def test_bad_spec_and_bounds_raise(trained):
    model, x, y = trained
    with pytest.raises(ValueError, match="kind must be one of"):
        attack(model, x, y, {"kind": "cw"})
    with pytest.raises(ValueError, match="abs_stepsize"):
        attack(model, x, y, {"kind": "linf_pgd", "eps": 0.1, "steps": 10, "random_start": True})
    with pytest.raises(ValueError, match="outside bounds"):
        attack(model, x * 3, y, LINF)
