"""Theory checks of adversarial.md, 'Theory checks': T1 (Gunasekar 1-D), T2 (Donoho-Stark), T3 (Slepian lambda_max)."""

import numpy as np
import pytest

from learndyn.perturb import theory as th
from learndyn.perturb.spectra import lambda_max


@pytest.fixture(scope="module")
def t1():
    return th.t1_experiment()  # D = 16, n = 20, seed 0, normalised GD, 2 x 20000 steps (~1-2 s)


def test_t1_data_is_separable_with_margin(t1):
    X, y, teacher = th.t1_data()
    assert X.shape == (20, 16)
    assert (np.abs(X @ teacher) >= 0.1 * np.linalg.norm(teacher)).all()
    spectrum = np.abs(np.fft.fft(teacher))
    assert (spectrum > 1e-9 * spectrum.max()).sum() == 4  # two real frequency pairs


def test_t1_references_are_certified(t1):
    s = t1["summary"]
    assert s["l1_gap"] < 1e-6  # Fourier-l1 SOCP: primal (feasible) vs dual (feasible) values
    assert 0 <= s["svm_gap"] < 1e-10 and s["svm_min_margin"] == pytest.approx(1.0, abs=1e-10)


def test_t1_gunasekar_implicit_bias(t1):
    # thresholds are the spec's (calibrated once on seed 0, then frozen); measured: cos 0.9999 / 1.0000,
    # gamma1 ratio 0.99, Hoyer difference 0.34
    s = t1["summary"]
    assert s["cos_conv_l1"] > 0.9
    assert s["cos_fc_svm"] > 0.9
    assert s["gamma1_conv"] >= 0.9 * s["gamma1_l1"]
    assert s["gamma1_conv"] > s["gamma1_fc"]
    assert s["hoyer_conv"] - s["hoyer_fc"] > 0.2
    # and the nets are not simply both near the same solution
    assert s["cos_conv_l1"] > s["cos_conv_svm"] and s["cos_fc_svm"] > s["cos_fc_l1"]


def test_t1_one_small_gd_step_decreases_the_loss():
    X, y, _ = th.t1_data()
    for kind in ("conv", "fc"):
        # a wrong sign or index in the closed-form gradients would raise the loss
        out0 = th.train_linear_net(X, y, kind, steps=0, normalized=False, seed=3)
        out1 = th.train_linear_net(X, y, kind, steps=1, lr=1e-4, decay=None, normalized=False, seed=3)
        assert out1["log_loss"] < out0["log_loss"]


def test_t1_conv_beta_is_circular_convolution():
    d = 6
    idx = th._circulant_index(d)
    w1 = np.arange(1.0, d + 1)
    x = np.random.default_rng(0).standard_normal(d)
    direct = np.array([sum(w1[(i - j) % d] * x[j] for j in range(d)) for i in range(d)])
    np.testing.assert_allclose(w1[idx] @ x, direct)


def test_t2_donoho_stark():
    rng = np.random.default_rng(0)
    N = 32
    for K in range(1, N + 1):
        t, f = th.padded_kernel_support(K, N, rng)
        assert t * f >= N * N
        assert f >= int(np.ceil(N * N / (K * K)))
    assert th.padded_kernel_support(3, 32, rng)[1] == 1024  # generic kernels: every coefficient
    single = np.zeros((N, N))
    single[4, 9] = 2.0
    assert th.support_sizes(single) == (1, N * N)  # equality case: a single pixel
    assert th.support_sizes(np.ones((N, N))) == (N * N, 1)  # equality case: a constant image
    one_d = np.zeros(16)
    one_d[::4] = 1.0  # a Dirac comb: 4 x 4 = 16, equality in 1-D
    assert th.support_sizes(one_d) == (4, 4)


@pytest.mark.parametrize("K, expected", [(2, 0.18), (3, 0.35), (5, 0.69), (7, 0.89), (11, 0.99)])
def test_t3_lambda_max_reference_values(K, expected):
    assert lambda_max(K, 32, ("le", 4)) == pytest.approx(expected, abs=0.01)


def test_t3_lambda_max_monotone_and_high_band():
    values = [lambda_max(K, 32, ("le", 4)) for K in (2, 3, 5, 7, 11, 15)]
    assert np.all(np.diff(values) > 0)
    assert values[-1] == pytest.approx(0.9996, abs=5e-4)
    assert lambda_max(2, 32, ("gt", 8)) >= 0.98  # small kernels can be high-pass
    assert lambda_max(32, 32, ("le", 4)) == pytest.approx(1.0, abs=1e-9)  # full width: any band
