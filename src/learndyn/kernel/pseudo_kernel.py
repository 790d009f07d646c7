"""The pseudo-kernel of Pyle, Musslick, Cohen & Patel (arXiv 2307.07575).

    P_k(x, x_n; θ) = ∇θ f_k(x; θ) · ∇θ ℓ_n(θ) = Σ_m r_{n,m} Θ_km(x, x_n; θ)

θ is a chosen subset of the parameters: by default the weight matrices only (2-D
parameters), the authors' convention. The same subset must be what the optimiser
updates, otherwise the one-step identity

    f(x; θ − η ∇L) − f(x; θ) = −η c Σ_n P(x, x_n; θ) + O(η²),   L = c Σ_n ℓ_n

fails. Everything here is functional (torch.func): no per-example model copies.
Parameters outside θ are read from the module as constants.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Union

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, jacrev, jvp, vmap

ParamSpec = Union[str, Iterable[str], Callable[[str, Tensor], bool]]
LossTerm = Callable[[Tensor, Tensor], Tensor]

__all__ = [
    "sse_term",
    "select_params",
    "pseudo_kernel",
    "summed_pseudo_kernel",
    "predicted_change",
    "empirical_ntk",
    "gd_step",
    "apply_update",
    "one_step_check",
    "multitask_closed_form",
]


def sse_term(f: Tensor, y: Tensor) -> Tensor:
    """One loss term ℓ_n = Σ_k (f_k − y_k)²: no ½, no mean (the authors' multitask loss).

    Mean losses are expressed through the objective scale c (1/N or 1/(N·K)).
    """
    return ((f - y) ** 2).sum()


def select_params(model: nn.Module, which: ParamSpec = "weights") -> dict[str, Tensor]:
    """The parameters that make up θ, detached (torch.func differentiates them itself).

    which: "weights" (2-D parameters, the authors' convention), "trainable"
    (requires_grad), "all", an iterable of parameter names, or a predicate (name, p).
    """
    named = dict(model.named_parameters())
    if which == "weights":
        keep = [n for n, p in named.items() if p.ndim == 2]
    elif which == "trainable":
        keep = [n for n, p in named.items() if p.requires_grad]
    elif which == "all":
        keep = list(named)
    elif callable(which):
        keep = [n for n, p in named.items() if which(n, p)]
    else:
        keep = list(which)
        missing = set(keep) - set(named)
        if missing:
            raise KeyError(f"unknown parameters: {sorted(missing)}")
    if not keep:
        raise ValueError("parameter selection is empty")
    return {n: named[n].detach() for n in keep}


def _forward(model: nn.Module) -> Callable[[dict[str, Tensor], Tensor], Tensor]:
    # Batched forward with θ swapped in; the rest (biases, buffers) stays module state.
    def f(theta: dict[str, Tensor], x: Tensor) -> Tensor:
        out = functional_call(model, theta, (x,))
        return out.reshape(out.shape[0], -1)  # (N, K) even for scalar-output nets

    return f


def _per_example_loss_grads(model, theta, x_train, y_train, loss_term, chunk_size):
    f = _forward(model)

    def loss_n(th, x, y):
        return loss_term(f(th, x[None])[0], y.reshape(-1))

    return vmap(grad(loss_n), in_dims=(None, 0, 0), chunk_size=chunk_size)(theta, x_train, y_train)


def pseudo_kernel(
    model: nn.Module,
    x_probe: Tensor,
    x_train: Tensor,
    y_train: Tensor,
    *,
    params: ParamSpec = "weights",
    loss_term: LossTerm = sse_term,
    method: str = "jacobian",
    chunk_size: int | None = None,
) -> Tensor:
    """P[i, j, k] = ∇θ f_k(x_probe_i) · ∇θ ℓ(x_train_j), shape (N_probe, N_train, K).

    Both methods start from the per-example loss gradients g_j (vmap∘grad).
    method "jacobian" (default): probe Jacobian (vmap∘jacrev, N_probe·K·|θ| floats)
    contracted with the g_j; fastest for small nets (multitask: ≈ 120 MB float32).
    method "jvp": one forward-mode product of the batched probe outputs along each g_j
    (vmap∘jvp); never stores the Jacobian, so use it (with chunk_size) for big θ.
    chunk_size bounds vmap memory (number of train / probe examples per chunk).
    """
    if method not in ("jacobian", "jvp"):
        raise ValueError(f"unknown method {method!r}")
    model_f = _forward(model)
    theta = select_params(model, params)
    g = _per_example_loss_grads(model, theta, x_train, y_train, loss_term, chunk_size)
    if method == "jvp":

        def push(tangent):  # (N_probe, K): directional derivative of probe outputs along g_j
            return jvp(lambda th: model_f(th, x_probe), (theta,), (tangent,))[1]

        return vmap(push, chunk_size=chunk_size)(g).permute(1, 0, 2).contiguous().detach()
    jac = vmap(jacrev(lambda th, x: model_f(th, x[None])[0]), in_dims=(None, 0), chunk_size=chunk_size)(theta, x_probe)
    out = None
    for name in theta:
        jn = jac[name].flatten(2)  # (Np, K, |θ_name|)
        gn = g[name].flatten(1)  # (Nt, |θ_name|)
        term = torch.einsum("ika,ja->ijk", jn, gn)
        out = term if out is None else out + term
    return out.detach()


def summed_pseudo_kernel(
    model: nn.Module,
    x_probe: Tensor,
    x_train: Tensor,
    y_train: Tensor,
    *,
    params: ParamSpec = "weights",
    loss_term: LossTerm = sse_term,
    return_grad: bool = False,
):
    """Σ_n P(x_probe, x_n), shape (N_probe, K), without forming P.

    Σ_n ∇f_k·∇ℓ_n = ∇f_k·∇(Σ_n ℓ_n): one gradient and one jvp. This is what drives
    the one-step update, and is cheap enough to recompute at every training step.
    return_grad: also return (∇θ Σ_n ℓ_n as a name → tensor dict, Σ_n ℓ_n), so a GD
    step can reuse the same gradient.
    """
    model_f = _forward(model)
    theta = select_params(model, params)
    g, total = _total_loss_grad(model_f, theta, x_train, y_train, loss_term)
    summed = jvp(lambda th: model_f(th, x_probe), (theta,), (g,))[1].detach()
    return (summed, g, total) if return_grad else summed


def _total_loss_grad(model_f, theta, x_train, y_train, loss_term):
    # ∇θ Σ_n ℓ_n and Σ_n ℓ_n in one reverse pass.
    def total_loss(th):
        out = model_f(th, x_train)
        return vmap(loss_term)(out, y_train.reshape(out.shape)).sum()

    return torch.func.grad_and_value(total_loss)(theta)


def predicted_change(summed: Tensor, lr: float, objective_scale: float = 1.0) -> Tensor:
    """First-order output change of one GD step: Δf̂ = −η c Σ_n P."""
    return -lr * objective_scale * summed


def empirical_ntk(
    model: nn.Module,
    x1: Tensor,
    x2: Tensor,
    *,
    params: ParamSpec = "weights",
    diagonal: bool = False,
    chunk_size: int | None = None,
) -> Tensor:
    """Raw eNTK Θ_km(x1_i, x2_j) = ∇f_k(x1_i)·∇f_m(x2_j): (N1, N2, K, K), or Θ_kk (N1, N2, K).

    The baseline of pseudo_kernel.md, 'Baselines': the pseudo-kernel without the residual weighting.
    """
    model_f = _forward(model)
    theta = select_params(model, params)
    jac_fn = vmap(jacrev(lambda th, x: model_f(th, x[None])[0]), in_dims=(None, 0), chunk_size=chunk_size)
    j1 = jac_fn(theta, x1)
    j2 = j1 if x2 is x1 else jac_fn(theta, x2)
    eq = "ika,jka->ijk" if diagonal else "ika,jma->ijkm"
    out = None
    for name in theta:
        term = torch.einsum(eq, j1[name].flatten(2), j2[name].flatten(2))
        out = term if out is None else out + term
    return out.detach()


def gd_step(
    model: nn.Module,
    x_train: Tensor,
    y_train: Tensor,
    lr: float,
    *,
    params: ParamSpec = "weights",
    loss_term: LossTerm = sse_term,
    objective_scale: float = 1.0,
) -> float:
    """One full-batch GD step on L = c Σ_n ℓ_n, updating exactly the θ of the kernel, in place.

    Returns L before the step. Parameters outside θ are left untouched (frozen biases).
    """
    theta = select_params(model, params)
    g, total = _total_loss_grad(_forward(model), theta, x_train, y_train, loss_term)
    apply_update(model, g, lr * objective_scale)
    return objective_scale * float(total.detach())


def apply_update(model: nn.Module, grads: dict[str, Tensor], step: float) -> None:
    """θ ← θ − step · g for the named parameters in grads only."""
    live = dict(model.named_parameters())
    with torch.no_grad():
        for name, gn in grads.items():
            live[name].sub_(step * gn)


def one_step_check(
    model: nn.Module,
    x_probe: Tensor,
    x_train: Tensor,
    y_train: Tensor,
    lr: float,
    *,
    params: ParamSpec = "weights",
    loss_term: LossTerm = sse_term,
    objective_scale: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """(Δf_true, Δf_pred) on the probes for one GD step from the model's current θ.

    The model itself is not modified (the step is taken on a copy).
    """
    kw = dict(params=params, loss_term=loss_term)
    pred = predicted_change(summed_pseudo_kernel(model, x_probe, x_train, y_train, **kw), lr, objective_scale)
    stepped = copy.deepcopy(model)
    gd_step(stepped, x_train, y_train, lr, objective_scale=objective_scale, **kw)
    with torch.no_grad():
        f0 = model(x_probe).reshape(x_probe.shape[0], -1)
        f1 = stepped(x_probe).reshape(x_probe.shape[0], -1)
    return f1 - f0, pred


def multitask_closed_form(
    W1: Tensor,
    W2: Tensor,
    x_probe: Tensor,
    x_train: Tensor,
    y_train: Tensor,
    *,
    b1: Tensor | float = -2.0,
    b2: Tensor | float = -2.0,
    n_task: int = 12,
) -> Tensor:
    """Closed-form P for the two-layer sigmoid task net, weights only, ℓ = summed SSE.

    h = σ(W1 x + b1), z = [h; x_T] (x_T = last n_task inputs), f = σ(W2 z + b2).
    With d = f(1−f), g = h(1−h), q_j = r_j ⊙ d_j, ρ_j = (W2[:, :H]ᵀ q_j) ⊙ g_j:

        P_k(x_i, x_j) = d_ik [ q_jk (z_i·z_j) + (x_i·x_j) Σ_u W2[k,u] g_iu ρ_ju ]
                               (W2 block)         (W1 block)

    Cost O(K·N²·H); P[:, :, k] is built from matrix products shared across k.
    """
    W1, W2 = W1.detach(), W2.detach()  # a measurement, not part of any graph
    H = W1.shape[0]

    def fwd(x):
        h = torch.sigmoid(x @ W1.T + b1)
        z = torch.cat([h, x[:, x.shape[1] - n_task :]], dim=1)
        return h, z, torch.sigmoid(z @ W2.T + b2)

    h_a, z_a, f_a = fwd(x_probe)
    h_b, z_b, f_b = fwd(x_train)
    d_a = f_a * (1 - f_a)
    g_a = h_a * (1 - h_a)
    q_b = 2 * (f_b - y_train) * f_b * (1 - f_b)  # r = 2(f − y) for ℓ = Σ (f − y)²
    rho_b = (q_b @ W2[:, :H]) * h_b * (1 - h_b)
    zz = z_a @ z_b.T  # (Na, Nb), shared by all outputs
    xx = x_probe @ x_train.T
    n_b, K = q_b.shape
    # Σ_u W2[k,u] g_iu ρ_ju for all (i, j, k) as one GEMM, (Na, H) @ (H, Nb·K), already
    # in the output layout.
    mix = (g_a @ (rho_b[:, None, :] * W2[None, :, :H]).reshape(n_b * K, H).T).reshape(-1, n_b, K)
    out = mix.mul_(xx[:, :, None]).addcmul_(zz[:, :, None], q_b[None])
    return out.mul_(d_a[:, None, :])  # (N_probe, N_train, K)
