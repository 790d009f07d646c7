"""Perturb models (adversarial.md, 'Models', T4 model sanity): shapes, circularity, LC conv_init, linear beta, scale
variants."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from learndyn.perturb.models import LocallyConnected2d, ModelError, build_model, circular_pad, is_linear, parse_model_id

IDS = [
    "linear",
    "fc_lin_l1",
    "fc_lin_l3",
    "fc_relu",
    "conv_lin_l1_k3_c4",
    "conv_lin_l3_k3_c4",
    "conv_relu_l1_k5_c4",
    "conv_relu_l3_k3_c2",
    "simple",
    "simple_lin",
    "lc_lin_k3_c4",
    "lc_relu_k7",
    "lc_relu_k3_c4_convinit",
    "small_cnn",
    "fc_relu_a10",
    "conv_lin_l1_k4_c2_a0.33",
]


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("pad_mode", ["exact", "authors", "valid"])
def test_every_model_gives_ten_logits(shape, pad_mode):
    x = torch.rand(2, *shape)
    for mid in IDS + [f"conv_lin_l1_k{shape[1]}_c2"]:
        model = build_model(mid, shape, pad_mode=pad_mode, seed=0)
        assert model(x).shape == (2, 10), mid
        if "relu" in mid or mid in ("simple", "small_cnn"):
            assert any(isinstance(m, nn.ReLU) for m in model.modules()), mid
        assert is_linear(mid) == (not any(isinstance(m, nn.ReLU) for m in model.modules())), mid


def test_resnet18_cifar_variant():
    model = build_model("resnet18", (3, 32, 32), seed=0)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert model[0].kernel_size == (3, 3) and model[0].stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())  # no stem max-pool
    assert sum(isinstance(m, nn.ReLU) for m in model.modules()) == 17  # stem + 2 per block, all modules
    assert build_model("resnet18", (1, 28, 28), seed=0)(torch.rand(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize(
    "k,n,mode,side",
    [
        (3, 28, "exact", 28),
        (28, 28, "exact", 28),
        (4, 32, "exact", 32),
        (32, 32, "authors", 33),
        (3, 28, "authors", 28),
        (5, 28, "valid", 24),
    ],
)
def test_conv_output_sides(k, n, mode, side):
    model = build_model(f"conv_lin_l1_k{k}_c2", (1, n, n), pad_mode=mode, seed=0)
    assert model[:-2](torch.rand(1, 1, n, n)).shape[-1] == side
    assert model[-1].in_features == 2 * side * side


@pytest.mark.parametrize("mid", ["conv_lin_l1_k3_c2", "conv_relu_l3_k5_c2", "conv_lin_l1_k16_c2", "conv_lin_l1_k4_c1"])
def test_exact_circular_models_are_shift_equivariant(mid):
    n = 16
    model = build_model(mid, (1, n, n), pad_mode="exact", seed=1).double()
    features = model[:-2]  # everything before Flatten -> readout
    x = torch.rand(3, 1, n, n, dtype=torch.float64)
    for shift in ((1, 0), (3, -5), (n - 1, 7)):
        rolled = features(torch.roll(x, shift, dims=(-2, -1)))
        assert torch.allclose(rolled, torch.roll(features(x), shift, dims=(-2, -1)), atol=1e-10), shift
    assert circular_pad(16, "exact") == (7, 8)


def test_conv_init_locally_connected_equals_the_conv_at_init():
    for act in ("lin", "relu"):
        lc = build_model(f"lc_{act}_k3_c4_convinit", (1, 12, 12), seed=5)
        conv = build_model(f"conv_{act}_l1_k3_c4", (1, 12, 12), pad_mode="valid", seed=5)
        x = torch.rand(4, 1, 12, 12)
        assert torch.allclose(lc(x), conv(x), atol=1e-5)
    layer = build_model("lc_relu_k3_c4", (1, 12, 12), seed=0)[0]
    assert isinstance(layer, LocallyConnected2d) and layer.weight.shape == (100, 4, 9)
    assert layer.weight.std().item() == pytest.approx(0.1, rel=0.1)  # normal(0.1) init (authors' code)
    assert build_model("lc_relu_k7", (1, 28, 28), seed=0)[0].out_channels == round(32 * 26**2 / 22**2)


def test_lc_einsum_matches_a_position_by_position_loop():
    layer = LocallyConnected2d(2, 3, 3, 6)
    layer.init_normal()
    x = torch.rand(2, 2, 6, 6)
    y = layer(x)
    for i in range(4):
        for j in range(4):
            patch = x[:, :, i : i + 3, j : j + 3].reshape(2, -1)
            w, b = layer.weight[i * 4 + j], layer.bias[i * 4 + j]
            assert torch.allclose(y[:, :, i, j], patch @ w.T + b, atol=1e-5)


@pytest.mark.parametrize(
    "mid", ["linear", "fc_lin_l3", "conv_lin_l3_k3_c2", "conv_lin_l1_k8_c2", "lc_lin_k3_c2", "simple_lin"]
)
def test_linear_model_beta_equals_the_composed_map(mid):
    shape = (1, 8, 8)
    model = build_model(mid, shape, seed=2).double()
    x0 = torch.zeros(1, *shape, dtype=torch.float64, requires_grad=True)
    beta = torch.stack([torch.autograd.grad(model(x0)[0, c], x0)[0][0] for c in range(10)])
    basis = torch.eye(64, dtype=torch.float64).reshape(64, *shape)
    with torch.no_grad():
        composed = (model(basis) - model(torch.zeros(1, *shape, dtype=torch.float64))).T.reshape(10, *shape)
    assert torch.allclose(beta, composed, atol=1e-10)


def test_scale_variant_keeps_the_function_at_init():
    x = torch.rand(5, 1, 28, 28)
    base = build_model("fc_relu", (1, 28, 28), seed=3)
    for a in ("0.1", "3", "10"):
        scaled = build_model(f"fc_relu_a{a}", (1, 28, 28), seed=3)
        assert torch.allclose(scaled(x), base(x), atol=1e-5)  # ReLU is positively homogeneous
        assert torch.allclose(scaled[1].weight, base[1].weight * float(a))


def test_seeded_builds_are_reproducible_and_leave_global_rng_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = build_model("conv_relu_l1_k3_c4", (1, 16, 16), seed=9)
    b = build_model("conv_relu_l1_k3_c4", (1, 16, 16), seed=9)
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_bad_ids_and_modes_are_named():
    with pytest.raises(ModelError, match="'conv_k3'"):
        parse_model_id("conv_k3")
    with pytest.raises(ModelError, match="pad_mode"):
        build_model("linear", (1, 8, 8), pad_mode="reflect")
    with pytest.raises(ModelError, match="kernel 9"):
        build_model("lc_relu_k9", (1, 8, 8))


@pytest.mark.parametrize("k", [1, 3, 4, 11, 16])
def test_fft_circular_conv_equals_the_padded_conv(k):
    from learndyn.perturb.models import CircularConv2d

    pad = circular_pad(k, "exact")
    direct = CircularConv2d(2, 3, k, pad, use_fft=False).double()
    fft = CircularConv2d(2, 3, k, pad, use_fft=True).double()
    fft.load_state_dict(direct.state_dict())
    x = torch.rand(4, 2, 16, 16, dtype=torch.float64, requires_grad=True)
    padded = torch.nn.functional.pad(x, (pad[0], pad[1], pad[0], pad[1]), mode="circular")
    assert torch.allclose(direct(x), torch.nn.functional.conv2d(padded, direct.weight, direct.bias), atol=1e-12)
    assert torch.allclose(fft(x), direct(x), atol=1e-10)
    (ga,) = torch.autograd.grad(fft(x).square().sum(), x)
    (gb,) = torch.autograd.grad(direct(x).square().sum(), x)
    assert torch.allclose(ga, gb, atol=1e-9)
