"""Validation cases (pseudo_kernel.md, 'Validation cases'): the 1-D ReLU one-step check and the Saxe–McClelland–Ganguli
(SMG) deep linear network, with the pseudo-kernel's dominant direction tracked along training.

In the linear net f(x) = M x with M = W2 W1, so probing the pseudo-kernel at x = e_q gives
column q of the predicted one-step change of M:
    ΔM̂[k, q] = −η c Σ_n P_k(e_q, x_n).
Its input-side top singular vector û says which data mode the next step learns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from .pseudo_kernel import (
    ParamSpec,
    apply_update,
    empirical_ntk,
    pseudo_kernel,
    select_params,
    sse_term,
    summed_pseudo_kernel,
)
from .tables import SMG_MARKED_TIMES  # the authors' dotted lines (t = 190, 770)

SMG_SINGULAR_VALUES = (90.0, 24.0, 7.0, 1.0)

__all__ = [
    "SMG_SINGULAR_VALUES",
    "SMG_MARKED_TIMES",
    "relu1d_data",
    "relu1d_grid",
    "relu1d_net",
    "SMGData",
    "smg_data",
    "smg_net",
    "smg_objective_scale",
    "end_to_end",
    "mode_strengths",
    "half_times",
    "mode_switch_times",
    "predicted_map_change",
    "MarkedKernel",
    "ModeTrack",
    "kernel_mode_correlations",
    "track_smg",
    "train_gd",
]


# ---------------------------------------------------------------- 1-D ReLU (Fig. A)
def relu1d_data(dtype=torch.float32) -> tuple[Tensor, Tensor]:
    """x = linspace(−1, 1, 6), y = 1[x > 0], as (6, 1) columns; loss = mean MSE (c = 1/N)."""
    x = torch.linspace(-1, 1, 6, dtype=dtype)[:, None]
    return x, (x > 0).to(dtype)


def relu1d_grid(n: int = 1000, dtype=torch.float32) -> Tensor:
    """Dense probe grid on [−1, 1]."""
    return torch.linspace(-1, 1, n, dtype=dtype)[:, None]


def relu1d_net(seed: int = 9, n_hidden: int = 100, freeze_biases: bool = True, dtype=torch.float32) -> nn.Sequential:
    """1 → 100 ReLU → 1 with PyTorch default init under torch seed 9 (global RNG left untouched).

    freeze_biases=True makes the weights-only kernel the full gradient; with False, use
    params="trainable" for both the kernel and the optimiser.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(1, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 1))
    net = net.to(dtype)
    if freeze_biases:
        for layer in (net[0], net[2]):
            layer.bias.requires_grad_(False)
    return net


# ---------------------------------------------------------------- SMG linear case (Figs. B–D)
@dataclass
class SMGData:
    """X (N, 4) centred, whitened (XᵀX = I); Y = X W*. W* = Σ_α s_α u_α v_αᵀ:
    U (4, 4) columns u_α (input side), V (5, 4) columns v_α, s (4,)."""

    X: Tensor
    Y: Tensor
    W_star: Tensor
    U: Tensor
    V: Tensor
    s: Tensor


def smg_data(seed: int = 0, n: int = 250, singular_values=SMG_SINGULAR_VALUES, dtype=torch.float64) -> SMGData:
    """Gaussian inputs, centred and whitened; target from the SVD of a U[−20, −10] matrix
    with its singular values replaced (the authors left the data unseeded; we seed it)."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=gen, dtype=torch.float64)
    X = X - X.mean(0)
    evals, evecs = torch.linalg.eigh(X.T @ X)
    X = X @ (evecs @ torch.diag(evals.rsqrt()) @ evecs.T)  # symmetric whitening keeps centring
    A = -20 + 10 * torch.rand(4, 5, generator=gen, dtype=torch.float64)
    U, _, Vh = torch.linalg.svd(A, full_matrices=False)
    s = torch.tensor(singular_values, dtype=torch.float64)
    W_star = U @ torch.diag(s) @ Vh

    def c(t):
        return t.to(dtype)

    return SMGData(c(X), c(X @ W_star), c(W_star), c(U), c(Vh.T), c(s))


def smg_net(seed: int = 4, init_scale: float = 0.1, hidden: int = 3, dtype=torch.float64) -> nn.Sequential:
    """Linear 4 → 3 → 5, no biases; default init × 0.1 (rich, stage-like regime); torch seed 4."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(4, hidden, bias=False), nn.Linear(hidden, 5, bias=False))
    net = net.to(dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(init_scale)
    return net


def smg_objective_scale(data: SMGData) -> float:
    """Mean MSE over N × K written as c Σ_n ℓ_n with ℓ_n = summed SSE: c = 1/(N·K)."""
    return 1.0 / (data.Y.shape[0] * data.Y.shape[1])


def end_to_end(net: nn.Sequential) -> Tensor:
    """M = W2 W1 (5 × 4)."""
    return (net[1].weight @ net[0].weight).detach()


def mode_strengths(net: nn.Sequential, data: SMGData) -> Tensor:
    """a_α = v_αᵀ M u_α for every mode α."""
    M = end_to_end(net)
    return torch.einsum("ka,kq,qa->a", data.V, M, data.U)


def half_times(strengths: np.ndarray, s) -> np.ndarray:
    """τ_α = first t with a_α(t) > s_α / 2 (inf if never): strengths (T+1, n_modes)."""
    s = np.asarray(s, float)
    above = np.asarray(strengths) > s / 2
    return np.array([float(np.argmax(col)) if col.any() else np.inf for col in above.T])


def mode_switch_times(cos: np.ndarray, n_modes: int | None = None) -> np.ndarray:
    """When û(t) hands over to mode α: t_α = first t ≥ t_{α−1} with argmax_β |cos(û, u_β)| = α
    (inf if never). Sequential, so an early transient at initialisation is ignored.

    cos (T+1, n): |cos(û(t), u_α)|. The authors' claim: these switches bracket the loss drops.
    """
    cos = np.asarray(cos)[:, : n_modes or np.asarray(cos).shape[1]]
    dominant = cos.argmax(1)
    times, start = [], 0
    for a in range(cos.shape[1]):
        hits = np.flatnonzero(dominant[start:] == a)
        if hits.size == 0:
            times += [np.inf] * (cos.shape[1] - a)
            break
        start += int(hits[0])
        times.append(float(start))
    return np.array(times)


def predicted_map_change(net: nn.Module, data: SMGData, lr: float, *, params: ParamSpec = "weights", return_grad=False):
    """ΔM̂ (5 × 4) from the pseudo-kernel probed at the unit inputs e_q."""
    eye = torch.eye(data.X.shape[1], dtype=data.X.dtype)
    c = smg_objective_scale(data)
    out = summed_pseudo_kernel(net, eye, data.X, data.Y, params=params, return_grad=return_grad)
    summed = out[0] if return_grad else out  # (4 probes, 5 outputs)
    dM = -lr * c * summed.T
    return (dM, out[1], out[2]) if return_grad else dM


@dataclass
class MarkedKernel:
    """Full train × train kernel summary at one marked time.

    P̄(i, j) = Σ_k P_k(x_i, x_j); sv: its singular values; abs_sv: {"train": |right singular
    vectors| (n_sv, N), "probe": |left| (n_sv, N)}; abs_proj (n_modes, N) = |x_n·u_α|;
    r[side] (n_sv, n_modes): Pearson r across data points.
    """

    t: int
    sv: np.ndarray
    abs_sv: dict[str, np.ndarray]
    abs_proj: np.ndarray
    r: dict[str, np.ndarray]


def kernel_mode_correlations(net: nn.Module, data: SMGData, t: int = -1, n_sv: int = 3) -> MarkedKernel:
    """Pseudo-kernel singular vectors vs the data's mode projections |x_n·u_α| (Fig. C)."""
    P = pseudo_kernel(net, data.X, data.X, data.Y)  # (N, N, 5)
    u, sv, vh = np.linalg.svd(P.sum(-1).detach().numpy())
    abs_sv = {"train": np.abs(vh[:n_sv]), "probe": np.abs(u[:, :n_sv].T)}
    abs_proj = np.abs((data.X @ data.U).numpy()).T
    r = {
        side: np.array([[np.corrcoef(vec, proj)[0, 1] for proj in abs_proj] for vec in vecs])
        for side, vecs in abs_sv.items()
    }
    return MarkedKernel(t, sv, abs_sv, abs_proj, r)


@dataclass
class ModeTrack:
    """Training record of the SMG net. Index t = state before GD step t + 1 (t = 0..epochs).

    loss (T+1,) mean MSE; strengths (T+1, 4) a_α(t); cos (T+1, 4) |cos(û(t), u_α)|;
    half_times (4,); kernel_sv (n_rec, 4) singular values of P̄ at kernel_steps, ntk_sv the same
    for the raw eNTK Θ̄ = Σ_k Θ_kk (spec Fig. D variant); sv_modes {"pseudo", "entk"} → (n_rec, 4):
    Pearson r across data points between |leading singular vector| and |x_n·u_α|;
    marked: t → MarkedKernel.
    """

    loss: np.ndarray
    strengths: np.ndarray
    cos: np.ndarray
    half_times: np.ndarray
    kernel_steps: np.ndarray
    kernel_sv: np.ndarray
    ntk_sv: np.ndarray = None
    sv_modes: dict[str, np.ndarray] = field(default_factory=dict)
    marked: dict[int, MarkedKernel] = field(default_factory=dict)


def track_smg(
    net: nn.Module,
    data: SMGData,
    lr: float = 0.2,
    epochs: int = 2500,
    marked=SMG_MARKED_TIMES,
    kernel_every: int | None = None,
) -> ModeTrack:
    """Full-batch GD on the mean MSE; at every step record loss, mode strengths and the
    pseudo-kernel's predicted update direction û(t); at `marked` times the full kernel vs
    data comparison; every `kernel_every` steps the top singular values of P̄.

    The gradient of the step is the one used for the prediction, so kernel and
    optimiser update the same θ (all weights; the net has no biases). Trains `net` in place.
    """
    c = smg_objective_scale(data)
    n_modes = data.U.shape[1]
    loss, strengths, cos = [], [], []
    kernel_steps, kernel_sv, ntk_sv, marks = [], [], [], {}
    sv_modes = {"pseudo": [], "entk": []}
    abs_proj = np.abs((data.X @ data.U).numpy()).T  # (modes, N): |x_n·u_α|
    for t in range(epochs + 1):
        dM, grads, total = predicted_map_change(net, data, lr, return_grad=True)
        u_hat = torch.linalg.svd(dM)[2][0]  # input-side top singular vector
        cos.append((u_hat @ data.U).abs().numpy())
        loss.append(c * float(total))
        strengths.append(mode_strengths(net, data).numpy())
        if t in marked:
            marks[t] = kernel_mode_correlations(net, data, t)
        if kernel_every and t % kernel_every == 0:
            kernel_steps.append(t)
            # pseudo-kernel P̄ (train side) and the residual-free raw eNTK Θ̄ (symmetric)
            for name, K, store in (
                ("pseudo", pseudo_kernel(net, data.X, data.X, data.Y).sum(-1), kernel_sv),
                ("entk", empirical_ntk(net, data.X, data.X, diagonal=True).sum(-1), ntk_sv),
            ):
                _, sv, vh = np.linalg.svd(K.numpy())
                store.append(sv[:n_modes])
                lead = np.abs(vh[0])
                sv_modes[name].append([np.corrcoef(lead, proj)[0, 1] for proj in abs_proj])
        if t < epochs:
            apply_update(net, grads, lr * c)
    strengths = np.array(strengths)
    return ModeTrack(
        loss=np.array(loss),
        strengths=strengths,
        cos=np.array(cos),
        half_times=half_times(strengths, data.s.numpy()),
        kernel_steps=np.array(kernel_steps, int),
        kernel_sv=np.array(kernel_sv).reshape(len(kernel_steps), n_modes),
        ntk_sv=np.array(ntk_sv).reshape(len(kernel_steps), n_modes),
        sv_modes={k: np.array(v).reshape(len(kernel_steps), n_modes) for k, v in sv_modes.items()},
        marked=marks,
    )


def train_gd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    lr: float,
    steps: int,
    *,
    params: ParamSpec = "weights",
    objective_scale: float = 1.0,
) -> np.ndarray:
    """Plain full-batch GD on c Σ_n Σ_k (f − y)² over θ only (reference loop; the pipeline
    uses its Lightning wrapper). Returns the objective before each step, (steps,)."""
    live = dict(model.named_parameters())
    theta = [live[n] for n in select_params(model, params)]
    losses = np.empty(steps)
    for t in range(steps):
        out = model(x).reshape(x.shape[0], -1)
        obj = objective_scale * sse_term(out, y.reshape(out.shape))
        grads = torch.autograd.grad(obj, theta)
        with torch.no_grad():
            for p, g in zip(theta, grads):
                p.sub_(lr * g)
        losses[t] = float(obj.detach())
    return losses
