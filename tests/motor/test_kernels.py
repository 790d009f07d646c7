"""The compiled engine's kernels against their direct formulas: packed J r and the deferred RLS."""

import numpy as np
import pytest
import scipy.sparse as sp

from learndyn.motor import kernels as K
from learndyn.motor.reservoir import make_J


@pytest.mark.parametrize("N,p", [(7, 0.5), (50, 0.1), (300, 0.1)])
def test_packed_J_r_matches_scipy_and_is_the_same_in_any_batch(N, p):
    J = make_J(N, p, 1.5, 3)
    indptr, indices, data = K.pack_J(J)
    assert (np.diff(indptr) % K.LANES == 0).all() and indices.dtype == np.uint16
    assert np.count_nonzero(data) == J.nnz
    r = np.tanh(np.random.default_rng(0).standard_normal((6, N)))
    out, live = np.zeros((6, N)), np.ones(6, dtype=bool)
    K.spmm(indptr, indices, data, r, np.ascontiguousarray(r.T), out, live)
    np.testing.assert_allclose(out, (J @ r.T).T, rtol=1e-12, atol=1e-14)
    for b in range(6):  # member b alone: the same bits as inside the batch
        one = np.zeros((1, N))
        K.spmm(indptr, indices, data, r[b : b + 1], np.ascontiguousarray(r[b : b + 1].T), one, live[:1])
        assert np.array_equal(one[0], out[b])
    live[[0, 1, 2, 3, 5]] = False  # stopped members: the live one is unchanged
    again = np.zeros((6, N))
    K.spmm(indptr, indices, data, r, np.ascontiguousarray(r.T), again, live)
    assert not again[[0, 1, 2, 3, 5]].any() and np.array_equal(again[4], out[4])


def test_packed_J_takes_32_bit_indices_past_65536_columns():
    J = sp.csr_matrix((np.ones(3), ([0, 0, 1], [5, 70000, 2])), shape=(2, 70001))
    indptr, indices, data = K.pack_J(J)
    assert indices.dtype == np.uint32 and indptr.tolist() == [0, 4, 8]
    assert indices[:2].tolist() == [5, 70000] and data.tolist() == [1, 1, 0, 0, 1, 0, 0, 0]


def test_deferred_rls_equals_sherman_morrison_one_update_at_a_time():
    """40 updates (two folds of RLS_DEFER rows, a negative weight applied at once, a tail folded at
    the end): every gain k = P r and the final P equal the plain rank-1 recursion's."""
    N, rng = 60, np.random.default_rng(1)
    P_plain = np.eye(N) / 0.5
    P = np.triu(P_plain).copy()  # the kernels keep P's upper triangle only
    V, nv, k = np.zeros((K.RLS_DEFER, N)), 0, np.zeros(N)
    ints, dbls, uplo = np.array([N, 1], dtype=np.int32), np.zeros(2), np.array([K.UPLO_L], dtype=np.uint8)
    for t in range(40):
        r = np.tanh(1.3 * rng.standard_normal(N))
        G = 0.3 + 0.7 * rng.random()
        k_plain = P_plain @ r
        c_plain = 1.0 / (1.0 + r @ k_plain)
        c = K.rls_gain(P, V, nv, r, k, ints, dbls, uplo)
        np.testing.assert_allclose(k, k_plain, rtol=1e-11, atol=1e-13)
        assert c == pytest.approx(c_plain, rel=1e-12)
        alpha = -1e-3 * c if t == 21 else c * G  # one negative weight: not a V V^T term
        P_plain -= alpha * np.outer(k_plain, k_plain)
        nv = K.rls_downdate(P, V, nv, k, alpha, ints, dbls, uplo)
        assert nv == ((t + 1) % K.RLS_DEFER if t < 21 else (t - 21) % K.RLS_DEFER)
    nv = K.rls_fold(P, V, nv, ints, uplo)
    full = P.copy()
    K.symmetrize(full[None])
    assert nv == 0
    np.testing.assert_allclose(full, P_plain, rtol=1e-11, atol=1e-13)


def test_tanh_within_rounding_of_libm():
    x = np.concatenate([np.linspace(-30.0, 30.0, 200_001), [0.0, -0.0, 1e-300, 710.0, -710.0, np.inf, -np.inf]])
    got = np.array([K.tanh(v) for v in x])
    assert np.abs(got - np.tanh(x)).max() <= 5e-16
    assert np.isnan(K.tanh(np.nan))
