"""Rate reservoir with output feedback (Pyle & Rosenbaum 2019; motor.md, 'Reservoir model').

    tau dx/dt = -x + J r + Q u,   r = tanh(x) + eps,   z = W r,   forward Euler, float64.

Random design (the project's own; MATLAB streams are not reproduced, motor.md, 'Tasks and protocol' "Seeds"):
every draw comes from ``SeedSequence([seed, stream, ...])``, so it is a pure function of
the seed. J uses ``j_seed`` (its own seed for a standard run; one shared J for a batch),
Q, x(0) and the noise use the member's ``seed``. Training noise is pre-drawn in blocks of
``NOISE_BLOCK`` steps indexed by absolute step, so any step's noise can be regenerated:
that is what makes resumed and batched runs bit-identical to a plain run.

Array backends of the Python step loop and the rule functions: :class:`NumpyOps` (scipy CSR,
in-place BLAS ``dger``) and :class:`TorchOps` (CPU or GPU, torch sparse CSR). The numpy
backend of :class:`.simulate.MotorSim` runs the compiled engine (:mod:`.fused`) instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas

# RNG stream ids and the noise block length (part of the seed design: changing them changes runs).
STREAM_J, STREAM_Q, STREAM_X0, STREAM_NOISE = 1, 2, 3, 4
NOISE_BLOCK = 250


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *keys])))


def make_J(N: int, p: float, g: float, j_seed: int) -> sp.csr_matrix:
    """J_ij = m_ij g n_ij / sqrt(pN), m ~ Bernoulli(p), n ~ N(0, 1); CSR with sorted indices."""
    rng = rng_for(j_seed, STREAM_J)
    rows, cols = np.nonzero(rng.random((N, N)) < p)  # row-major order
    vals = rng.standard_normal(rows.size) * (g / np.sqrt(p * N))
    J = sp.csr_matrix((vals, (rows, cols)), shape=(N, N))
    J.sort_indices()
    return J


def make_Q(N: int, d: int, seed: int) -> np.ndarray:
    """Feedback weights, entries U(-1, 1), returned transposed as (d, N) (rows contiguous)."""
    return (rng_for(seed, STREAM_Q).random((N, d)) * 2.0 - 1.0).T.copy()


def make_x0(N: int, seed: int) -> np.ndarray:
    """x(0) ~ U(-0.5, 0.5)^N; r(0) = tanh x(0) without noise."""
    return rng_for(seed, STREAM_X0).random(N) - 0.5


def noise_block(seed: int, block: int, N: int, d: int, amp: float):
    """Pre-drawn uniforms of one block: eps (L, N) ~ U(-amp, amp), xi_unit (L, d) ~ U(-1, 1)."""
    rng = rng_for(seed, STREAM_NOISE, block)
    eps = rng.random((NOISE_BLOCK, N)) * (2.0 * amp) - amp
    xi = rng.random((NOISE_BLOCK, d)) * 2.0 - 1.0
    return eps, xi


@dataclass
class Reservoir:
    """Network structure for B members sharing J: J (N, N) CSR, Q (B, d, N), x0 (B, N)."""

    N: int
    d: int
    J: sp.csr_matrix
    Q: np.ndarray
    x0: np.ndarray
    seeds: tuple
    tau: float = 10.0
    dt: float = 0.2
    noise: float = 0.025

    @property
    def a(self) -> float:
        return self.dt / self.tau


def make_reservoir(N, d, seeds, j_seed, p=0.1, g=1.5, tau=10.0, dt=0.2, noise=0.025):
    seeds = tuple(int(s) for s in seeds)
    return Reservoir(
        N,
        d,
        make_J(N, p, g, j_seed),
        np.stack([make_Q(N, d, s) for s in seeds]),
        np.stack([make_x0(N, s) for s in seeds]),
        seeds,
        tau,
        dt,
        noise,
    )


class NoiseSource:
    """Serves (eps, xi_unit) for a step from per-member blocks, shapes (L, B, N) and (L, B, d)."""

    def __init__(self, res: Reservoir, ops):
        self.res, self.ops, self.block = res, ops, -1

    def get(self, t: int):
        """Block arrays and row for 1-based step t (regenerated on demand, so resumable)."""
        b, i = divmod(t - 1, NOISE_BLOCK)
        if b != self.block:
            res = self.res
            parts = [noise_block(s, b, res.N, res.d, res.noise) for s in res.seeds]
            self.eps = self.ops.asarray(np.stack([e for e, _ in parts], axis=1))
            self.xi = self.ops.asarray(np.stack([x for _, x in parts], axis=1))
            self.block = b
        return self.eps, self.xi, i


def advance_(x, r, u, J, Q, a: float, ops):
    """One Euler step in place: x <- x + (dt/tau)(-x + J r + Q u); r, u are the previous step's.

    Q u is summed explicitly over the d outputs so the result per member does not depend on B.
    """
    h = ops.spmm(J, r)
    h -= x
    qu = Q[:, 0] * u[:, 0:1]
    for k in range(1, Q.shape[1]):
        qu += Q[:, k] * u[:, k : k + 1]
    h += qu
    h *= a
    x += h


# --------------------------------------------------------------------------------- backends
class NumpyOps:
    """numpy + scipy: CSR SpMV and in-place rank-1 BLAS on a Fortran view of C-ordered P."""

    name = "numpy"
    xp = np

    def asarray(self, a):
        """Always a fresh C-ordered float64 copy (state is updated in place)."""
        return np.array(a, dtype=np.float64, order="C", copy=True)

    def to_numpy(self, a):
        return np.array(a, dtype=np.float64, copy=True)

    def zeros(self, shape):
        return np.zeros(shape)

    def sparse(self, J: sp.csr_matrix):
        return J

    def spmm(self, J, r):
        return (J @ r.T).T

    def readout(self, W, r):
        """z = W r per member; stacked matmul runs the same BLAS call per member for any B."""
        return np.matmul(W, r[:, :, None])[:, :, 0]

    def gram(self, W):
        return np.matmul(W, W.transpose(0, 2, 1))

    def mv(self, P, r):
        return P @ r

    def dot(self, a, b) -> float:
        return float(a @ b)

    def rank1_(self, P, k, alpha: float):
        """P += alpha k k^T in place (dger on P.T, which is Fortran-ordered: no N x N temporary)."""
        out = blas.dger(alpha, k, k, a=P.T, overwrite_a=1)
        if not np.shares_memory(out, P):  # never expected; keeps correctness if f2py copies
            P[...] = out.T

    def copy(self, a):
        return a.copy()

    def sync(self):
        pass


class TorchOps:
    """torch on CPU or GPU: shared J as sparse CSR, per-seed P updated by ``addr_``."""

    name = "torch"

    def __init__(self, device="cpu"):
        import torch

        self.torch = self.xp = torch
        self.device = torch.device(device)

    def asarray(self, a):
        """Always a fresh float64 copy (state is updated in place)."""
        return self.torch.tensor(np.array(a, dtype=np.float64, order="C"), device=self.device)

    def to_numpy(self, a):
        return a.detach().cpu().numpy().astype(np.float64, copy=True)

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def sparse(self, J: sp.csr_matrix):
        import warnings

        t = self.torch
        with warnings.catch_warnings():  # "beta state" notice
            warnings.simplefilter("ignore", UserWarning)
            return t.sparse_csr_tensor(
                t.as_tensor(J.indptr, dtype=t.int64),
                t.as_tensor(J.indices, dtype=t.int64),
                t.as_tensor(J.data),
                size=J.shape,
                device=self.device,
                check_invariants=True,
            )

    def spmm(self, J, r):
        return (J @ r.T.contiguous()).T

    def readout(self, W, r):
        """z = W r per member as multiply + last-axis sum: bmm takes a different MKL path for
        B = 1 than for B > 1, which would break per-seed bit-identity on CPU."""
        return (W * r[:, None, :]).sum(-1)

    def gram(self, W):
        return self.torch.matmul(W, W.transpose(1, 2))

    def mv(self, P, r):
        return self.torch.mv(P, r)

    def dot(self, a, b) -> float:
        return float(self.torch.dot(a, b))

    def rank1_(self, P, k, alpha: float):
        P.addr_(k, k, alpha=alpha)

    def copy(self, a):
        return a.clone()

    def sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()


def get_ops(backend: str = "numpy", device: str = "cpu"):
    if backend == "numpy":
        return NumpyOps()
    if backend == "torch":
        return TorchOps(device)
    raise ValueError("backend must be 'numpy' or 'torch'")
