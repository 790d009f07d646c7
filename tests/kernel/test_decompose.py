"""Eigen/SVD decomposition (T5), group tables and predicted groupings."""

import numpy as np
import pytest
import torch

from learndyn.kernel import decompose as dc
from learndyn.kernel import multitask as mt
from learndyn.kernel.pseudo_kernel import multitask_closed_form


@pytest.fixture(scope="module")
def kernel_t0():
    train, _ = mt.make_split("Single12All", seed=2, n_train=120, n_test=1)
    std, large = mt.paired_inits(seed=2, dtype=torch.float64)
    x, y = train.x.double(), train.y.double()
    P = {name: multitask_closed_form(n.W1, n.W2, x, x, y).numpy() for name, n in (("std", std), ("large", large))}
    return train, P


def test_sorted_mode_orders_by_abs_eigenvalue_and_normalises(kernel_t0):
    _, P = kernel_t0
    dec = dc.decompose(P["std"], "sorted", n_keep=10)
    assert dec.values.shape == (9, 120) and dec.vectors.shape == (9, 10, 120)
    assert not dec.ill_posed
    mags = np.abs(dec.values)
    assert (np.diff(mags, axis=1) <= 1e-12 * mags.max()).all()
    assert np.allclose(np.linalg.norm(dec.vectors, axis=2), 1.0)
    # the leading pair is a genuine eigenpair when λ_1 is real
    for k in range(9):
        lam, v = dec.values[k, 0], dec.vectors[k, 0]
        if abs(lam.imag) < 1e-12 * abs(lam):
            assert np.allclose(P["std"][:, :, k] @ v, lam.real * v, atol=1e-8 * abs(lam))


def test_sorted_mode_on_a_known_matrix():
    # eigenvalues 1, −5, 3 (diagonal): sorted by |λ| → −5, 3, 1 with e_1, e_2, e_0
    P = np.diag([1.0, -5.0, 3.0])[:, :, None]
    dec = dc.decompose(P, "sorted", n_keep=3)
    assert np.allclose(dec.values[0].real, [-5, 3, 1])
    assert np.allclose(np.abs(dec.vectors[0]), np.eye(3)[[1, 2, 0]])


def test_authors_mode_keeps_solver_order(kernel_t0):
    _, P = kernel_t0
    dec = dc.decompose(P["std"], "authors", n_keep=10)
    assert dec.ill_posed and dec.mode == "authors"
    for k in (0, 4, 8):
        lam, vec = np.linalg.eig(P["std"][:, :, k].T)
        assert np.array_equal(dec.values[k], lam)
        assert np.array_equal(dec.vectors[k], vec[:, :10].real.T)


def test_svd_mode_train_side(kernel_t0):
    _, P = kernel_t0
    rect = P["std"][:50]  # probe ≠ train is allowed for SVD
    dec = dc.decompose(rect, "svd", n_keep=3)
    assert dec.vectors.shape == (9, 3, 120)
    k = 2
    u, s, vh = np.linalg.svd(rect[:, :, k])
    assert np.allclose(dec.values[k], s)
    assert np.allclose(np.abs(dec.vectors[k, 0]), np.abs(vh[0]))
    with pytest.raises(ValueError):
        dc.decompose(rect, "sorted")


def test_silhouette_sign_invariant_and_std_more_structured(kernel_t0):
    _, P = kernel_t0
    E = {name: dc.leading_vectors(dc.decompose(p)) for name, p in P.items()}
    assert E["std"].shape == (120, 9)
    s = dc.silhouette_of_leading(E["std"])
    flips = np.where(np.arange(9) % 2 == 0, -1.0, 1.0)
    assert dc.silhouette_of_leading(E["std"] * flips) == pytest.approx(s, abs=1e-9)
    # O3 smoke at this one seed: small init gives the more clustered t = 0 structure
    assert s > dc.silhouette_of_leading(E["large"])


def test_group_order_means_and_table(kernel_t0):
    train, P = kernel_t0
    labels = mt.grouping_labels(train)
    order, bounds = dc.group_order(labels["task"])
    sorted_lab = labels["task"][order]
    assert (np.diff(sorted_lab) >= 0).all() and len(bounds) == 11
    assert (sorted_lab[bounds] != sorted_lab[bounds - 1]).all()
    v = np.array([1.0, -2.0, 3.0, -4.0])
    assert np.allclose(dc.group_means(v, np.array([0, 0, 1, 1]), 3), [1.5, 3.5, np.nan], equal_nan=True)
    dec = dc.decompose(P["std"])
    table = dc.grouping_table(dec, {k: labels[k] for k in ("task", "input")})
    assert len(table) == 9 * (12 + 12)
    assert set(table.columns) >= {"output", "grouping", "group", "mean_abs", "value_real"}
    assert (table.groupby(["output", "grouping"])["n"].sum() == 120).all()
    row = table[(table.output == 4) & (table.grouping == "task") & (table.group == 7)].iloc[0]
    assert row.mean_abs == pytest.approx(np.abs(dec.vectors[4, 0][labels["task"] == 7]).mean())


def test_predicted_groupings_and_ari():
    assert dc.PREDICTED_INPUT_GROUPS.tolist() == [0, 1, 2] * 4
    assert dc.PREDICTED_TASK_GROUPS.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert all(dc.PREDICTED_TASK_GROUPS[t] == mt.task_dim(t) for t in range(12))
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 2)) * 10
    pts = centres[dc.PREDICTED_TASK_GROUPS] + rng.normal(size=(12, 2)) * 0.01
    assert dc.kmeans_ari(pts, dc.PREDICTED_TASK_GROUPS) == pytest.approx(1.0)
    shuffled = rng.normal(size=(12, 2))
    assert dc.kmeans_ari(shuffled, dc.PREDICTED_TASK_GROUPS, seed=1) < 0.9
