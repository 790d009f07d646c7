"""Throughput of the motor simulator (motor.md, 'Cost, speed and configurations'): SUPERTREX, Task 1, N = 1000, one
period.

Measures, in one process and one thread:
  * the engine's single run (numpy + scipy CSR, gated in-place RLS), steps/s over one period;
  * the plain dense per-step numpy implementation of the same equations
    (``learndyn.motor.reference``: dense J, N x N outer-product RLS every 10 steps without gate
    skipping, weight norms every step as the scripts log them), steps/s over a prefix of the
    same period (its cost per step does not depend on the gate);
  * the batched modes (8 seeds sharing J): the compiled numpy engine (one core) and torch
    (``--device cuda`` on a GPU), per-seed steps/s over one period;
and prints the ratios. The single run and the reference alternate ``--repeats`` times (a fresh
simulator each time, the same work) and the ratio is of their medians: on a shared machine one
sample of either can be off by 20%.
Usage: ``python benchmarks/motor.py [--S 50000] [--baseline-steps 5000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from learndyn.motor.reference import run_reference  # noqa: E402
from learndyn.motor.simulate import MotorConfig, MotorSim  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=1000)
    ap.add_argument("--S", type=int, default=50_000, help="steps per period (paper: 50 000)")
    ap.add_argument("--baseline-steps", type=int, default=5000)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3, help="alternating engine/reference samples")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-batched", action="store_true")
    a = ap.parse_args()
    if a.repeats < 1 or a.baseline_steps < 1 or a.S < 1:
        ap.error("--repeats, --baseline-steps and --S must be at least 1")
    torch.set_num_threads(1)
    cfg = MotorConfig(task="task1", model="supertrex", N=a.N, T=a.S * 0.2, seed=5489)

    MotorSim(
        MotorConfig(task="task1", model="supertrex", N=50, T=20.0, n_train=1, n_test=1)
    ).run_periods()  # compile the engine's step loop outside the timing
    t_engine, t_plain = [], []
    for rep in range(a.repeats):
        sim = MotorSim(cfg)
        t0 = time.perf_counter()
        sim.run_periods(1)
        t_engine.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run_reference(cfg, n_steps=a.baseline_steps)
        t_plain.append(time.perf_counter() - t0)
        print(
            f"  sample {rep + 1}: engine {1e6 * t_engine[-1] / cfg.S:.0f} us/step, "
            f"plain {1e6 * t_plain[-1] / a.baseline_steps:.0f} us/step",
            flush=True,
        )
    engine = cfg.S / float(np.median(t_engine))
    plain = a.baseline_steps / float(np.median(t_plain))
    print(
        f"engine (compiled numpy, 1 seed):     {engine:9.0f} steps/s  "
        f"({1e6 / engine:.0f} us/step, median of {a.repeats}; gate opened at step "
        f"{sim.gate_open_step[0]}, {sim.rls_updates[0]} of {cfg.S // 10} RLS blocks executed)"
    )
    print(
        f"plain dense numpy reference:         {plain:9.0f} steps/s  ({1e6 / plain:.0f} us/step, median of {a.repeats})"
    )
    print(
        f"ratio engine / plain:                {engine / plain:9.1f} x  (samples paired in order: "
        + ", ".join(f"{(cfg.S / e) / (a.baseline_steps / p):.1f}" for e, p in zip(t_engine, t_plain))
        + ")"
    )

    if not a.skip_batched:
        cfgs = [MotorConfig(task="task1", model="supertrex", N=a.N, T=a.S * 0.2, seed=s) for s in range(1, a.seeds + 1)]
        for backend, device in (("numpy", "cpu"), ("torch", a.device)):
            bsim = MotorSim(cfgs, j_seed=5489, backend=backend, device=device)
            t0 = time.perf_counter()
            bsim.run_periods(1)
            bsim.ops.sync()
            per_seed = a.seeds * cfg.S / (time.perf_counter() - t0)
            print(
                f"batched {backend} ({a.seeds} seeds sharing J, {device}): {per_seed:9.0f} seed-steps/s "
                f"({1e6 / per_seed:.0f} us/seed-step; gates opened: {(bsim.gate_open_step > 0).sum()}, "
                f"RLS blocks per seed: {bsim.rls_updates.mean():.0f})"
            )
            print(f"  ratio per seed / plain:            {per_seed / plain:9.1f} x")
            print(f"  ratio per seed / engine (1 seed):  {per_seed / engine:9.1f} x")


if __name__ == "__main__":
    main()
