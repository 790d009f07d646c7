"""perturb study benchmarks (issue 4): attack throughput and spectral metrics.

    python benchmarks/perturb.py [--model conv_relu_l1_k3_c8] [--images 100] [--steps 100] [--repeats 3]
                                 [--threads 1] [--skip-spectra]

Attacks: image-steps/s of L∞ PGD (the paper-faithful settings at CPU scale: ε = 0.1, absolute step
0.01, random start) through ``learndyn.perturb.attacks.attack`` vs calling foolbox directly on the
same model, images and settings in the same process; runs alternate (ours, direct, ours, ...) and
the best of ``--repeats`` each is compared.  Target: overhead ≤ 10 %.

Boundary distance (claim R1): ``learndyn.perturb.boundary.boundary_distance`` (the default L2 DeepFool on
logits from the model's own prediction, plus its flat/tie checks: one extra forward and backward pass) vs
foolbox's L2DeepFoolAttack called directly on the predictions, same settings; the same ≤ 10 % target.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def bench_attacks(model_id: str, n_images: int, steps: int, repeats: int, device: str = "cpu") -> dict:
    import foolbox as fb

    from learndyn.perturb.attacks import attack
    from learndyn.perturb.models import build_model

    model = build_model(model_id, (1, 28, 28), 10, seed=0).to(device).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n_images, 1, 28, 28, generator=g).to(device)
    y = torch.randint(0, 10, (n_images,), generator=g).to(device)
    spec = {"kind": "linf_pgd", "eps": 0.1, "steps": steps, "abs_stepsize": 0.01, "random_start": True}

    def ours():
        attack(model, x, y, spec, seed=0)

    def direct():
        fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0), device=device)
        pgd = fb.attacks.LinfPGD(steps=steps, abs_stepsize=0.01, random_start=True)
        torch.manual_seed(0)
        pgd(fmodel, x, y, epsilons=0.1)

    def timed(fn):
        if device != "cpu":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device != "cpu":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    ours(), direct()  # warm-up (imports, allocator)
    t_ours, t_direct = [], []
    for _ in range(repeats):
        t_ours.append(timed(ours))
        t_direct.append(timed(direct))
    work = n_images * steps
    best_ours, best_direct = min(t_ours), min(t_direct)
    return {
        "model": model_id,
        "images": n_images,
        "steps": steps,
        "device": device,
        "ours_s": best_ours,
        "direct_s": best_direct,
        "ours_rate": work / best_ours,
        "direct_rate": work / best_direct,
        "overhead": best_ours / best_direct - 1.0,
        "median_overhead": float(np.median(t_ours)) / float(np.median(t_direct)) - 1.0,
    }


def bench_boundary(model_id: str, n_images: int, steps: int, repeats: int, device: str = "cpu") -> dict:
    import foolbox as fb

    from learndyn.perturb.boundary import boundary_distance
    from learndyn.perturb.models import build_model

    model = build_model(model_id, (1, 28, 28), 10, seed=0).to(device).eval()
    x = torch.rand(n_images, 1, 28, 28, generator=torch.Generator().manual_seed(0)).to(device)
    spec = {"kind": "deepfool", "steps": steps, "candidates": 10, "overshoot": 0.02}

    def ours():
        boundary_distance(model, x, spec, seed=0)

    def direct():
        fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0), device=device)
        with torch.no_grad():
            pred = model(x).argmax(1)  # a direct user needs the predictions too
        torch.manual_seed(0)
        fb.attacks.L2DeepFoolAttack(steps=steps, candidates=10, overshoot=0.02, loss="logits")(
            fmodel, x, pred, epsilons=None
        )

    ours(), direct()  # warm-up
    t_ours, t_direct = [], []
    for _ in range(repeats):
        for fn, out in ((ours, t_ours), (direct, t_direct)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return {
        "ours_s": min(t_ours),
        "direct_s": min(t_direct),
        "overhead": min(t_ours) / min(t_direct) - 1.0,
        "median_overhead": float(np.median(t_ours)) / float(np.median(t_direct)) - 1.0,
    }


# ---- SPECTRA benchmark (perturb-spectra helper: define bench_spectra() here) ----
def bench_spectra(n: int = 10_000, side: int = 28, repeats: int = 3, ref_images: int = 200) -> dict:
    """Spectral metrics (adversarial.md, 'Quantitative metrics') of n perturbations of side x side, vectorised over the
    batch, vs a straightforward per-image loop in the same run: (a) the same numpy code called one image at a time,
    on every image; (b) the written-out per-image definitions (learndyn.perturb.spectra.reference_metrics),
    timed on ref_images images and scaled linearly (its cost per image is constant).  Target: <= 1 s."""
    from learndyn.perturb.spectra import METRIC_COLUMNS, reference_metrics, spectral_metrics

    rng = np.random.default_rng(0)
    # PGD-like perturbations: smooth-ish structure plus pixel noise, float32 as stored by the attack job
    x = (rng.standard_normal((n, 1, side, side)) * 0.05).astype(np.float32)
    t0 = time.perf_counter()
    spectral_metrics(x[:2])  # one-time costs: scipy.fft import, the cached frequency grids
    once = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast = spectral_metrics(x)
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        spectral_metrics(x)
        warm.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    loop = [spectral_metrics(x[i : i + 1]) for i in range(n)]
    loop_s = time.perf_counter() - t0
    m = min(ref_images, n)
    t0 = time.perf_counter()
    ref = [reference_metrics(x[i, 0].astype(np.float64)) for i in range(m)]
    ref_s = (time.perf_counter() - t0) * n / m
    err_loop = max(
        float(np.nanmax(np.abs(fast[c].to_numpy() - np.concatenate([d[c].to_numpy() for d in loop]))))
        for c in METRIC_COLUMNS
    )
    err_ref = max(abs(fast[c][i] - ref[i][c]) / max(1.0, abs(ref[i][c])) for i in range(m) for c in METRIC_COLUMNS)
    best = min(warm)
    print(f"spectral metrics of {n:,} perturbations of {side}x{side} (12 metrics each, float32 input, 1 thread)")
    print(
        f"  vectorised: {best:.3f} s best of {repeats} (first call {cold:.3f} s): "
        f"{'within' if max(best, cold) <= 1.0 else 'ABOVE'} the 1 s target (one-time import/grid setup {once:.2f} s)"
    )
    print(f"  per-image loop, same numpy code: {loop_s:.2f} s  -> vectorised is {loop_s / best:.0f}x faster")
    print(f"  per-image written-out definitions: {ref_s:.1f} s (measured on {m} images, scaled) -> {ref_s / best:.0f}x")
    print(f"  agreement: max |diff| vs loop {err_loop:.1e}, max rel diff vs definitions {err_ref:.1e}")
    return {
        "n": n,
        "side": side,
        "vectorised_s": best,
        "first_call_s": cold,
        "setup_s": once,
        "loop_s": loop_s,
        "reference_s": ref_s,
    }


# ---- end SPECTRA benchmark ----


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="conv_relu_l1_k3_c8")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-spectra", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    r = bench_attacks(args.model, args.images, args.steps, args.repeats, args.device)
    print(
        f"L-inf PGD on {r['model']} (1x28x28), {r['images']} images x {r['steps']} steps, "
        f"threads = {args.threads}, device = {r['device']}, best of {args.repeats}"
    )
    print(f"  through learndyn.perturb.attacks.attack: {r['ours_s']:.3f} s = {r['ours_rate']:,.0f} image-steps/s")
    print(f"  foolbox directly:                        {r['direct_s']:.3f} s = {r['direct_rate']:,.0f} image-steps/s")
    verdict = "within" if r["overhead"] <= 0.10 else "ABOVE"
    print(
        f"  overhead {100 * r['overhead']:+.1f} % (median runs {100 * r['median_overhead']:+.1f} %): "
        f"{verdict} the 10 % target"
    )
    b = bench_boundary(args.model, args.images, args.steps, args.repeats, args.device)
    print(
        f"distance to the boundary (L2 DeepFool, {args.steps} steps, own prediction) on {args.images} images: ours "
        f"{b['ours_s']:.3f} s, foolbox directly {b['direct_s']:.3f} s: overhead {100 * b['overhead']:+.1f} % "
        f"(median runs {100 * b['median_overhead']:+.1f} %): {'within' if b['overhead'] <= 0.10 else 'ABOVE'} "
        "the 10 % target"
    )
    if not args.skip_spectra:
        bench_spectra()


if __name__ == "__main__":
    main()
