"""Full-batch gradient descent for batches of shallow univariate ReLU nets (splines.md, 'Training protocol and
implementation').

Parameters carry a leading run axis: w, b, v have shape (R, H), c has shape (R,).  All R
runs (seeds, sweep values of one width) advance together, each with its own step size
eta = eta_scale / lambda_max(NTK) (spec: eta_scale = 0.5; GD on the linearised model is stable
for eta_scale < 2), refreshed every ``refresh`` steps and at once when its loss rises.
Gradients are the closed forms of splines.md, 'Training protocol and implementation' (checked against autograd in the
tests).
"""

from __future__ import annotations

import torch


def forward(w, b, v, c, x):
    """f(x) for every run: shape (R, len(x))."""
    pre = w[..., None] * x + b[..., None]
    return torch.einsum("rh,rhn->rn", v, torch.relu(pre)) + c[:, None]


def loss_and_grads(w, b, v, c, x, y):
    """L = (1/2N) sum r^2 per run and its closed-form gradients (dw, db, dv, dc).

    dL/db_i = v_i/N sum_{A_i} r_n and dL/dw_i = v_i/N sum_{A_i} r_n x_n come from one batched
    product of the active-set mask with [r, r x]: few passes over the (R, H, N) tensors, which
    dominate the cost of every training step.
    """
    n = x.shape[-1]
    pre = torch.addcmul(b[..., None], w[..., None], x)  # (R, H, N)
    active = (pre > 0).to(pre.dtype)  # strict active set: relu'(0) = 0
    act = pre.clamp_(min=0.0)
    r = (v[:, None, :] @ act).squeeze(1) + c[:, None] - y  # (R, N)
    sums = active @ torch.stack((r, r * x), dim=-1)  # (R, H, 2): sum_A r, sum_A r x
    dv = (act @ r[..., None]).squeeze(-1) / n
    return 0.5 * (r * r).mean(-1), (v * sums[..., 1] / n, v * sums[..., 0] / n, dv, r.mean(-1))


def ntk_lambda_max(w, b, v, c, x):
    """Largest eigenvalue of K = J J^T / N, the empirical NTK on the data, per run."""
    n = x.shape[-1]
    pre = w[..., None] * x + b[..., None]
    act, mask = torch.relu(pre), (pre > 0).to(x.dtype)
    vm = v[..., None] * mask  # d f / d b_i
    k = (vm.transpose(1, 2) @ vm) * (torch.outer(x, x) + 1) + act.transpose(1, 2) @ act + 1
    return torch.linalg.eigvalsh(k / n)[..., -1]


class PerRunGD(torch.optim.Optimizer):
    """Plain GD whose step size is a per-run tensor ``eta`` (R,) kept in the param group.

    Keeping eta in the optimizer means Lightning saves and restores it with the checkpoint,
    which a bit-identical resume needs.  Runs with eta = 0 (converged) do not move.
    """

    def __init__(self, params, n_runs: int, dtype=torch.float64):
        super().__init__(params, {"eta": torch.zeros(n_runs, dtype=dtype)})

    @torch.no_grad()
    def step(self, closure=None, active=None):
        """p <- p - eta * grad, per run; runs outside ``active`` (bool (R,)) stay put."""
        for group in self.param_groups:
            eta = group["eta"] if active is None else group["eta"] * active
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(p.grad * eta.view(-1, *([1] * (p.dim() - 1))))


@torch.no_grad()
def gd_chunk(
    params,
    x,
    y,
    eta,
    loss,
    converged_step,
    step: int,
    n_steps: int,
    *,
    tol: float,
    refresh: int,
    eta_scale: float = 0.5,
) -> int:
    """Advance every unconverged run by up to ``n_steps`` GD steps, in place; return the new step.

    ``params`` = (w, b, v, c); ``eta``, ``loss`` (previous loss) and ``converged_step`` (-1 while
    running) are per-run tensors updated in place.  A run converges when L < tol and is frozen;
    its eta = eta_scale / lambda_max(NTK) is refreshed every ``refresh`` steps and at once when its
    loss rises.  Kept free of module attributes and host syncs beyond two boolean checks per step:
    this is the hot loop.
    """
    w, b, v, c = params
    for _ in range(n_steps):
        new_loss, grads = loss_and_grads(w, b, v, c, x, y)
        newly = (new_loss < tol) & (converged_step < 0)
        converged_step.masked_fill_(newly, step)
        active = converged_step < 0
        if not bool(active.any()):
            break
        due = active & (new_loss > loss) if step % refresh else active
        if bool(due.any()):
            eta.copy_(torch.where(due, eta_scale / ntk_lambda_max(w, b, v, c, x), eta))
        loss.copy_(new_loss)
        scale = eta * active
        for p, g in zip(params, grads):
            p.sub_(g * (scale if p.dim() == 1 else scale[:, None]))
        step += 1
    return step
