"""Target curve, arm kinematics and metrics against hand-computed values (motor.md, 'Tasks and protocol', 'Metrics and
figures', 'Expected outcomes and where to check them')."""

import math

import numpy as np
import pytest

from learndyn.motor import tasks
from learndyn.motor.tasks import butterfly, make_task

NRM = 14.4734


def test_butterfly_hand_points():
    # phi = 0: rho = 9 + 3 - 2 = 10; phi = pi/2: rho = 9-1-2+2+1-3-2 = 4; phi = pi: rho = 10
    S = 5
    f = butterfly(S)  # phi = 0, pi/2, pi, 3pi/2, 2pi
    assert f[0] == pytest.approx([10 / NRM, 0.0], abs=1e-15)
    assert f[1] == pytest.approx([0.0, 4 / NRM], abs=1e-15)
    assert f[2] == pytest.approx([-10 / NRM, 0.0], abs=1e-14)
    # phi = 3pi/2: sin = -1, sin 3phi = 1, sin 5phi = -1, sin 7phi = 1, cos 2phi = -1, cos 4phi = 1
    rho = 9 + 1 + 2 - 2 - 1 - 3 - 2
    assert f[3] == pytest.approx([0.0, -rho / NRM], abs=1e-14)
    np.testing.assert_allclose(f[-1], f[0], atol=1e-14)  # both endpoints kept (duplicate)


def test_butterfly_range_and_normaliser():
    f = butterfly(200_001)
    assert f[:, 0].min() == pytest.approx(-0.899, abs=1e-3)
    assert f[:, 0].max() == pytest.approx(0.899, abs=1e-3)
    assert f[:, 1].min() == pytest.approx(-0.716, abs=1e-3)
    assert f[:, 1].max() == pytest.approx(0.569, abs=1e-3)
    assert np.hypot(f[:, 0], f[:, 1]).max() == pytest.approx(1.003, abs=1e-3)
    assert tasks.true_max_radius() == pytest.approx(14.517, abs=1e-3)
    assert tasks.NORMALISER == NRM
    assert butterfly(7).shape == (7, 2)


@pytest.mark.parametrize("name", ["task2", "task2_3seg", "task3"])
def test_rest_posture(name):
    t = make_task(name)
    hx, hy = t.hand(np.zeros((1, t.d)))
    assert (hx[0], hy[0]) == pytest.approx((0.0, 1.6), abs=1e-15)


def test_arm_kinematics_hand_points():
    t2 = make_task("task2")
    hx, hy = t2.hand(np.array([[0.5, 0.0], [0.5, -0.5], [1.0, 0.0]]))
    np.testing.assert_allclose(hx, [3.6, 1.8, 0.0], atol=1e-14)
    np.testing.assert_allclose(hy, [-2.0, -0.2, -5.6], atol=1e-14)
    t3 = make_task("task3")
    hx, hy = t3.hand(np.array([[1.0, 0.5, 0.5]]))  # cumulative: pi, 3pi/2, 2pi
    assert (hx[0], hy[0]) == pytest.approx((-1.2, -2 - 1.8 + 0.6), abs=1e-14)
    assert make_task("task1").hand(np.array([[0.3, -0.2]])) == (pytest.approx([0.3]), pytest.approx([-0.2]))


def test_task3_error_with_cost():
    t = make_task("task3")
    z, ref = np.array([[0.1, -0.2, 0.3]]), np.array([[0.0, 0.0, 0.0]])
    hx, hy = t.hand(z)
    e = t.error(z, 0.5, 0.25, ref)
    expect = (hx[0] - 0.5) ** 2 + (hy[0] - 0.25) ** 2 + 0.1 * 0.1 + 0.05 * 0.2
    assert e[0] == pytest.approx(expect, abs=1e-15)
    assert make_task("task3", "beta").cost == (0.1, 0.01, 0.0)
    assert make_task("task2_3seg").cost is None and make_task("task2_3seg").family == 2


def test_display_filter_and_deviation():
    assert tasks.display_beta(50_000) == 0.0002
    assert tasks.display_beta(20_000) == pytest.approx(0.0005)
    D = tasks.distance_trace(np.full(1000, 0.04), 0.01)
    np.testing.assert_allclose(D, 0.2, rtol=1e-12)  # constant error: D = sqrt(e)
    assert tasks.deviation(D) == pytest.approx(0.2)
    s = tasks.summarize([0.1, 0.2, 0.9, math.nan], completed=[True, True, True, False])
    assert s["n_completed"] == 3 and s["success_fraction"] == 0.5
    assert s["median"] == pytest.approx(0.2)


def test_rest_posture_deviation_value():
    S = 2000
    f = butterfly(S)
    dist = np.hypot(f[:, 0], f[:, 1] - 1.6)
    dev = tasks.rest_posture_deviation(make_task("task2"), S)
    assert dev > 0.5
    # the filter spans ~S/10 steps, so D tracks the rest-posture distance closely
    assert dev == pytest.approx(np.sqrt((dist**2).mean()), rel=0.05)


def test_joint_usage():
    z = np.array([[0, 0], [1, 0], [0, 2], [0, 2]], float)  # one period of 4 samples
    np.testing.assert_allclose(tasks.joint_usage(z, 4), [[2, 2]])


def test_sqrt_gram_norm():
    W = np.array([[3.0, 0.0], [0.0, -4.0]])[None]  # Gram diag(9, 16): sqrt -> diag(3, 4)
    assert tasks.sqrt_gram_norm(W @ W.transpose(0, 2, 1))[0] == pytest.approx(4.0)
    G = np.array([[[1.0, -1.0], [-1.0, 1.0]]])  # sqrt(-1) = i off the diagonal
    assert tasks.sqrt_gram_norm(G)[0] == pytest.approx(np.sqrt(2.0))  # [[1, i], [i, 1]]: sv sqrt(2)
    assert np.isnan(tasks.sqrt_gram_norm(np.full((1, 2, 2), np.nan))[0])
