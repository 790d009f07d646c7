"""Theory checks of adversarial.md, 'Theory checks': T1 Gunasekar et al. in 1-D, T2 Donoho-Stark counts, T3 Slepian
lambda_max.

T1 (Gunasekar, Lee, Soudry, Srebro 2018): on separable data, gradient descent on the exponential loss
drives a 2-layer full-width circular linear conv net f(x) = <w2, w1 (*) x> towards the Fourier-l1
max-margin predictor and a 2-layer fully connected linear net f(x) = <v, U x> towards the l2 SVM.
Both nets are trained here in float64 with closed-form gradients (D = 16 is tiny: numpy beats autograd
by ~50x), with normalised GD (step lr / loss, allowed by the spec to reach the asymptote quickly).
The references are solved with scipy (cvxpy is not installed):
- beta_svm: the bound-constrained dual QP (L-BFGS-B), primal feasibility and duality gap checked;
- beta_l1: min sum_k |(F beta)_k| s.t. margins >= 1 is an SOCP; SLSQP on a smoothed primal (upper
  bound) and on the smooth dual (lower bound); the relative duality gap certifies it (l1_reference).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize

from learndyn.perturb.spectra import lambda_max  # T3 lives with the spectral tools

T1_DEFAULTS = {
    "D": 16,
    "n": 20,
    "seed": 0,
    "margin_drop": 0.1,
    "lr": 1e-2,
    "steps": 20000,
    "decay": 100.0,
    "init_scale": 1e-2,
    "normalized": True,
}


# ---- T1: data, nets, references -----------------------------------------------------------------


def fourier_matrix(d: int) -> np.ndarray:
    """Unitary DFT matrix F[k, j] = exp(-2 pi i k j / d) / sqrt(d)."""
    j = np.arange(d)
    return np.exp(-2j * np.pi * np.outer(j, j) / d) / np.sqrt(d)


def t1_data(D: int = 16, n: int = 20, seed: int = 0, margin_drop: float = 0.1):
    """(X (n, D), y (n,), teacher beta*): x ~ N(0, I), a teacher with two real Fourier frequency pairs,
    y = sign<x, beta*>, points with |<x, beta*>| < margin_drop ||beta*|| dropped (redrawn)."""
    rng = np.random.default_rng(seed)
    f1, f2 = rng.choice(np.arange(1, D // 2), size=2, replace=False)
    t = np.arange(D)
    phase = rng.uniform(0, 2 * np.pi, size=2)
    teacher = np.cos(2 * np.pi * f1 * t / D + phase[0]) + np.cos(2 * np.pi * f2 * t / D + phase[1])
    xs = []
    while len(xs) < n:
        x = rng.standard_normal(D)
        if abs(x @ teacher) >= margin_drop * np.linalg.norm(teacher):
            xs.append(x)
    X = np.array(xs)
    return X, np.sign(X @ teacher), teacher


def fourier_l1(beta: np.ndarray) -> float:
    return float(np.abs(fourier_matrix(len(beta)) @ beta).sum())


def margin_l1(beta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """gamma_1(beta) = min_n y_n <x_n, beta> / ||F beta||_1."""
    return float((y * (X @ beta)).min() / fourier_l1(beta))


def hoyer(v: np.ndarray) -> float:
    v = np.abs(np.asarray(v)).astype(np.float64).ravel()  # complex moduli for Fourier coefficients
    m = v.size
    return float((np.sqrt(m) - v.sum() / np.linalg.norm(v)) / (np.sqrt(m) - 1))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _circulant_index(d: int) -> np.ndarray:
    i = np.arange(d)
    return (i[:, None] - i[None, :]) % d  # C(w)[i, j] = w[(i - j) mod d]: circular convolution


def train_linear_net(
    X: np.ndarray,
    y: np.ndarray,
    kind: str,
    *,
    lr: float = 1e-2,
    steps: int = 20000,
    decay: float | None = 100.0,
    init_scale: float = 1e-2,
    normalized: bool = True,
    seed: int = 0,
) -> dict:
    """GD on the exponential loss sum_n exp(-y_n f(x_n)) for kind "conv" or "fc"; returns beta = grad_x f.

    conv: f(x) = <w2, C(w1) x> with (C(w1) x)_i = sum_j w1[(i - j) mod D] x_j, so beta = C(w1)^T w2;
    fc:   f(x) = <v, U x>, beta = U^T v.  Normalised GD divides the step by the current loss; with
    ``decay`` the step is lr / sqrt(1 + t / decay).  Why: at a constant normalised step the relative
    update stays ~lr forever, the iterate zig-zags between support vectors (margin ratio swinging by
    ~10%) and the weights grow exponentially (overflow after ~4e4 steps); the decaying step follows the
    same gradient-flow path (normalised GD is GD in reparametrised time) and settles.
    """
    X = np.asarray(X, dtype=np.float64)
    yX = y[:, None] * X
    d = X.shape[1]
    rng = np.random.default_rng(seed)
    if kind == "conv":
        idx = _circulant_index(d)
        w1, w2 = init_scale * rng.standard_normal(d), init_scale * rng.standard_normal(d)
    elif kind == "fc":
        U, v = init_scale * rng.standard_normal((d, d)), init_scale * rng.standard_normal(d)
    else:
        raise ValueError(f"kind must be 'conv' or 'fc', got {kind!r}")
    for t in range(steps):
        lr_t = lr / np.sqrt(1 + t / decay) if decay else lr
        beta = w1[idx].T @ w2 if kind == "conv" else U.T @ v
        margins = yX @ beta
        e = np.exp(-(margins - margins.min()))  # = exp(-margins) * exp(min margin): no underflow
        # dL/dbeta, divided by the loss L when normalised (then computed without forming L at all)
        g = -(yX.T @ (e / e.sum())) if normalized else -(yX.T @ np.exp(-margins))
        if kind == "conv":
            gw2 = w1[idx] @ g
            # dbeta_j/dw1[m] = w2[(j + m) mod d]  ->  dL/dw1 = bincount over (i - j) mod d of w2_i g_j
            gw1 = np.bincount(idx.ravel(), weights=np.outer(w2, g).ravel(), minlength=d)
            w1, w2 = w1 - lr_t * gw1, w2 - lr_t * gw2
        else:
            U, v = U - lr_t * np.outer(v, g), v - lr_t * (U @ g)
    beta = w1[idx].T @ w2 if kind == "conv" else U.T @ v
    margins = yX @ beta
    log_loss = float(-margins.min() + np.log(np.exp(-(margins - margins.min())).sum()))
    return {"beta": beta, "log_loss": log_loss, "min_margin": float(margins.min()), "steps": steps}


def svm_reference(X: np.ndarray, y: np.ndarray) -> dict:
    """l2 hard-margin SVM without bias: min ||beta||^2 / 2 s.t. y_n <x_n, beta> >= 1, via its dual QP.

    L-BFGS-B on the bound-constrained dual finds the support set S; the KKT system G_SS a_S = 1 is then
    solved exactly.  gap = (primal of the rescaled, exactly feasible beta - dual value) / primal >= 0.
    """
    A = y[:, None] * X
    G = A @ A.T
    res = optimize.minimize(
        lambda a: (0.5 * a @ G @ a - a.sum(), G @ a - 1),
        np.zeros(len(y)),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * len(y),
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000},
    )
    a = res.x
    support = a > 1e-8 * max(a.max(), 1e-300)
    polished = np.zeros_like(a)
    polished[support] = np.linalg.solve(G[np.ix_(support, support)], np.ones(support.sum()))
    if (polished >= 0).all() and (A @ (A.T @ polished)).min() >= 1 - 1e-12:
        a = polished  # KKT holds exactly on the support set
    beta = A.T @ a
    dual = a.sum() - 0.5 * beta @ beta
    feasible = beta / min(1.0, (A @ beta).min())
    primal = 0.5 * feasible @ feasible
    return {"beta": feasible, "min_margin": float((A @ feasible).min()), "gap": float((primal - dual) / primal)}


def _fourier_rows(d: int):
    """Re and Im rows of the unitary DFT for k = 0..d//2 and each row's multiplicity in sum_k |.|."""
    F = fourier_matrix(d)[: d // 2 + 1]
    mult = np.full(d // 2 + 1, 2.0)
    mult[0] = 1.0
    if d % 2 == 0:
        mult[-1] = 1.0
    return F.real, F.imag, mult


def l1_reference(X: np.ndarray, y: np.ndarray) -> dict:
    """Fourier-l1 max margin: min sum_k |(F beta)_k| s.t. y_n <x_n, beta> >= 1, with a certified gap.

    Real beta has a Hermitian spectrum, so the objective is sum_{k <= D/2} mult_k |F_k beta| (an SOCP).
    Primal: SLSQP on the smoothed objective sum mult_k sqrt(|F_k beta|^2 + eps^2), eps = 1e-1 ... 1e-9
    with warm starts (smooth objective, linear constraints); its beta, rescaled to be exactly feasible,
    gives an UPPER bound.  Dual: max 1'a s.t. a >= 0, max_k |(F A'a)_k| <= 1 (the dual norm of the
    Fourier-l1 norm; smooth quadratic constraints), rescaled to be exactly feasible, gives a LOWER bound.
    gap = (upper - lower) / upper certifies optimality (weak duality), unlike an |Re| + |Im| LP.
    """
    A = y[:, None] * X
    n, d = A.shape
    Re, Im, mult = _fourier_rows(d)
    margins = [{"type": "ineq", "fun": lambda b: A @ b - 1, "jac": lambda b: A}]
    beta = svm_reference(X, y)["beta"]
    for eps in 10.0 ** -np.arange(1, 10):

        def smoothed(b, eps=eps):
            re, im = Re @ b, Im @ b
            s = np.sqrt(re**2 + im**2 + eps**2)
            return mult @ s, (mult * re / s) @ Re + (mult * im / s) @ Im

        beta = optimize.minimize(
            smoothed, beta, jac=True, method="SLSQP", constraints=margins, options={"ftol": 1e-15, "maxiter": 1000}
        ).x
    beta = beta / min(1.0, (A @ beta).min())  # exactly feasible
    upper = fourier_l1(beta)

    def dual_cons(a):
        u = A.T @ a
        return 1 - (Re @ u) ** 2 - (Im @ u) ** 2

    def dual_jac(a):
        u = A.T @ a
        return -2 * ((Re @ u)[:, None] * Re + (Im @ u)[:, None] * Im) @ A.T

    res = optimize.minimize(
        lambda a: (-a.sum(), -np.ones(n)),
        np.full(n, 1e-3),
        jac=True,
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": dual_cons, "jac": dual_jac}],
        bounds=[(0, None)] * n,
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    a = np.maximum(res.x, 0)
    a = a / np.sqrt(max(1.0, (1 - dual_cons(a)).max()))  # exactly dual-feasible
    lower = float(a.sum())
    return {"beta": beta, "upper": upper, "lower": lower, "gap": (upper - lower) / upper}


def t1_experiment(**overrides) -> dict:
    """Train conv and FC nets and solve both references on the fixed T1 problem; all numbers of adversarial.md, 'Theory
    checks' T1."""
    p = {**T1_DEFAULTS, **overrides}
    X, y, teacher = t1_data(p["D"], p["n"], p["seed"], p["margin_drop"])
    train = {k: p[k] for k in ("lr", "steps", "decay", "init_scale", "normalized")}
    conv = train_linear_net(X, y, "conv", seed=p["seed"] + 1, **train)
    fc = train_linear_net(X, y, "fc", seed=p["seed"] + 2, **train)
    svm = svm_reference(X, y)
    l1 = l1_reference(X, y)
    F = fourier_matrix(p["D"])
    betas = {"conv": conv["beta"], "fc": fc["beta"], "l1": l1["beta"], "svm": svm["beta"], "teacher": teacher}
    summary = {
        "cos_conv_l1": cosine(conv["beta"], l1["beta"]),
        "cos_fc_svm": cosine(fc["beta"], svm["beta"]),
        "cos_conv_svm": cosine(conv["beta"], svm["beta"]),
        "cos_fc_l1": cosine(fc["beta"], l1["beta"]),
        **{f"gamma1_{k}": margin_l1(b, X, y) for k, b in betas.items() if k != "teacher"},
        **{f"hoyer_{k}": hoyer(F @ b) for k, b in betas.items()},
        "log_loss_conv": conv["log_loss"],
        "log_loss_fc": fc["log_loss"],
        "l1_gap": l1["gap"],
        "svm_gap": svm["gap"],
        "svm_min_margin": svm["min_margin"],
    }
    return {"params": p, "X": X, "y": y, "betas": betas, "summary": summary}


# ---- T2: Donoho-Stark ---------------------------------------------------------------------------


def support_sizes(h: np.ndarray, rtol: float = 1e-9) -> tuple[int, int]:
    """(||h||_0, ||DFT h||_0) with entries counted nonzero above rtol x the largest modulus."""
    h = np.asarray(h, dtype=np.float64)
    spec = np.abs(np.fft.fftn(h))
    return int((np.abs(h) > rtol * np.abs(h).max()).sum()), int((spec > rtol * spec.max()).sum())


def padded_kernel_support(K: int, N: int, rng) -> tuple[int, int]:
    """Supports of a random K x K kernel zero-padded to N x N (Donoho-Stark: product >= N^2)."""
    h = np.zeros((N, N))
    h[:K, :K] = rng.standard_normal((K, K))
    return support_sizes(h)


# ---- the perturb_theory tables (learndyn.perturb.tables: THEORY_BETAS, THEORY_SUMMARY, KERNEL_THEORY) --------


def theory_tables(cfg: dict | None) -> dict:
    """T1 (betas and summary) and T2/T3 (lambda_max(K) for low and high bands, Donoho-Stark counts): the
    tables by their output names (t1, summary, kernels) and T1's parameters."""
    cfg = dict(cfg or {})
    t1 = t1_experiment(**cfg.get("t1", {}))
    F = fourier_matrix(t1["params"]["D"])
    rows = []
    for method, b in t1["betas"].items():
        unit = b / np.linalg.norm(b)
        sign = np.sign(unit @ t1["betas"]["l1"]) or 1.0  # align signs so the panels compare shapes
        rows.append(
            pd.DataFrame(
                {
                    "method": method,
                    "index": np.arange(len(b)),
                    "beta": b,
                    "beta_unit": sign * unit,
                    "fourier_modulus": np.abs(F @ unit),
                }
            )
        )
    summary = pd.DataFrame({"key": list(t1["summary"]), "value": [float(v) for v in t1["summary"].values()]})
    kern = []
    rng = np.random.default_rng(int(cfg.get("seed", 0)))
    for n in cfg.get("sides", [28, 32]):
        low, high = n / 8, n / 4  # B = {r <= N/8} (r <= 4 at N = 32, the spec's reference) and {r > N/4}
        for k in cfg.get("kernels", [1, 2, 3, 5, 7, 9, 11, 15, 21]) + [n]:
            if k > n:
                continue
            support = padded_kernel_support(k, n, rng)[1]
            for band, spec in ((f"r<={low:g}", ("le", low)), (f"r>{high:g}", ("gt", high))):
                kern.append(
                    {
                        "side": n,
                        "kernel": k,
                        "band": band,
                        "lambda_max": lambda_max(k, n, spec),
                        "ds_bound": int(np.ceil(n * n / (k * k))),
                        "random_fourier_support": support,
                    }
                )
    return {
        "t1": pd.concat(rows, ignore_index=True),
        "summary": summary,
        "kernels": pd.DataFrame(kern),
        "params": t1["params"],
        "t1_summary": t1["summary"],
    }
