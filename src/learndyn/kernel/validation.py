"""The validation cases (pseudo_kernel.md, 'Validation cases'), run by :mod:`learndyn.kernel.jobs` (kernel_onestep,
kernel_linear): the one-step identity (1-D ReLU net, Fig. A, and the multitask net) and the Saxe–McClelland–Ganguli
linear net (Figs. B–D).  Full size in every config: they are cheap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from learndyn.io import write_table
from learndyn.job import Job
from learndyn.kernel import linear_case as lc
from learndyn.kernel import multitask as mt
from learndyn.kernel import pseudo_kernel as pk
from learndyn.kernel.tables import (  # noqa: F401 (schemas: tables.py)
    ONESTEP,
    RELU1D,
    SMG_CORR,
    SMG_KERNEL_SV,
    SMG_MARKED,
    SMG_SUMMARY,
    SMG_SV_MODES,
    SMG_TRACK,
)


def _errors(d_true, d_pred) -> tuple[float, float]:
    diff = d_pred - d_true
    return float(diff.abs().max() / d_true.abs().max()), float(diff.norm() / d_true.norm())


def onestep(job: Job) -> None:
    """Fig. A curves and the one-step identity's error vs η (1-D net and multitask net)."""
    cfg = job.cfg
    dt = torch.float64
    x, y = lc.relu1d_data(dt)
    grid = lc.relu1d_grid(cfg["grid"], dt)
    net = lc.relu1d_net(dtype=dt)  # frozen biases: weights-only θ is the full gradient
    c, lr = 1.0 / x.shape[0], cfg["lrs"][0]
    err_rows = []
    for eta in cfg["lrs"]:
        d_true, d_pred = pk.one_step_check(net, grid, x, y, eta, objective_scale=c)
        err_rows.append(("relu1d", "torch_default", eta, *_errors(d_true, d_pred)))
    with torch.no_grad():
        f0 = net(grid)[:, 0]
    d_true, d_pred = pk.one_step_check(net, grid, x, y, lr, objective_scale=c)
    entk = pk.empirical_ntk(net, grid, x, diagonal=True)[:, :, 0]  # (grid, 6)
    contrib = -lr * c * pk.pseudo_kernel(net, grid, x, y)[:, :, 0]  # −η c P(x, x_n): ℓ′-weighted eNTK
    trained = lc.relu1d_net(dtype=dt)
    lc.train_gd(trained, x, y, lr, cfg["converge_steps"], objective_scale=c)
    with torch.no_grad():
        fT = trained(grid)[:, 0]
    g = grid[:, 0].numpy()
    frames = [pd.DataFrame({"curve": "data", "point": np.arange(6), "x": x[:, 0].numpy(), "value": y[:, 0].numpy()})]
    for name, v in (
        ("initial", f0),
        ("one_step_true", f0 + d_true[:, 0]),
        ("one_step_pred", f0 + d_pred[:, 0]),
        ("converged", fT),
    ):
        frames.append(pd.DataFrame({"curve": name, "point": -1, "x": g, "value": v.numpy()}))
    for n in range(x.shape[0]):
        frames.append(pd.DataFrame({"curve": "entk", "point": n, "x": g, "value": entk[:, n].numpy()}))
        frames.append(pd.DataFrame({"curve": "contribution", "point": n, "x": g, "value": contrib[:, n].numpy()}))
    write_table(pd.concat(frames, ignore_index=True), job.output("relu1d"), RELU1D, job.provenance(seed=9))

    m = cfg["multitask"]
    train = mt.sample_curriculum("Multi12All", m["n"], np.random.default_rng(m["seed"]))
    probe = mt.sample_curriculum("Single12All", m["n"], np.random.default_rng(m["seed"] + 1))
    for init, tnet in zip(("std", "large"), mt.paired_inits(m["seed"], dtype=dt)):
        for eta in m["lrs"]:
            d_true, d_pred = pk.one_step_check(tnet, probe.x.double(), train.x.double(), train.y.double(), eta)
            err_rows.append(("multitask", init, eta, *_errors(d_true, d_pred)))
    errs = pd.DataFrame(err_rows, columns=[c for c, _ in ONESTEP.columns])
    write_table(errs, job.output("errors"), ONESTEP, job.provenance(seed=m["seed"]))
    job.log(errs.to_string())


def linear(job: Job) -> None:
    """SMG deep linear net: mode strengths, half-times, predicted-update tracking, marked kernels."""
    cfg = job.cfg
    data = lc.smg_data(seed=cfg["data_seed"])
    track = lc.track_smg(
        lc.smg_net(seed=cfg["init_seed"], init_scale=cfg["init_scale"]),
        data,
        lr=cfg["lr"],
        epochs=cfg["epochs"],
        marked=lc.SMG_MARKED_TIMES,
        kernel_every=cfg["kernel_every"],
    )
    s = data.s.numpy()
    T1, n_modes = track.cos.shape
    t = np.repeat(np.arange(T1), n_modes)
    prov = job.provenance(seed={"data": cfg["data_seed"], "init": cfg["init_seed"]})
    write_table(
        pd.DataFrame(
            {
                "t": t,
                "mode": np.tile(np.arange(1, n_modes + 1), T1),
                "s": np.tile(s, T1),
                "strength": track.strengths.ravel(),
                "cos": track.cos.ravel(),
                "loss": np.repeat(track.loss, n_modes),
            }
        ),
        job.output("track"),
        SMG_TRACK,
        prov,
    )
    steps = track.kernel_steps
    sv_rows, mode_rows = [], []
    for kernel, ks in (("pseudo", track.kernel_sv), ("entk", track.ntk_sv)):
        idx = np.arange(1, ks.shape[1] + 1)
        sv_rows.append(
            pd.DataFrame(
                {"t": np.repeat(steps, ks.shape[1]), "kernel": kernel, "index": np.tile(idx, len(ks)), "sv": ks.ravel()}
            )
        )
        r = track.sv_modes[kernel]
        mode_rows.append(
            pd.DataFrame(
                {"t": np.repeat(steps, r.shape[1]), "kernel": kernel, "mode": np.tile(idx, len(r)), "r": r.ravel()}
            )
        )
    write_table(pd.concat(sv_rows, ignore_index=True), job.output("kernel_sv"), SMG_KERNEL_SV, prov)
    write_table(pd.concat(mode_rows, ignore_index=True), job.output("sv_modes"), SMG_SV_MODES, prov)
    marked, corr = [], []
    for tm, mk in track.marked.items():
        npts = mk.abs_proj.shape[1]
        for side, vecs in mk.abs_sv.items():
            for i, v in enumerate(vecs):
                marked.append(
                    pd.DataFrame(
                        {"t": tm, "kind": "sv", "side": side, "index": i + 1, "point": np.arange(npts), "value": v}
                    )
                )
                for a in range(mk.r[side].shape[1]):
                    corr.append((tm, side, i + 1, a + 1, float(mk.r[side][i, a])))
        for a, proj in enumerate(mk.abs_proj):
            marked.append(
                pd.DataFrame(
                    {"t": tm, "kind": "proj", "side": "data", "index": a + 1, "point": np.arange(npts), "value": proj}
                )
            )
    write_table(pd.concat(marked, ignore_index=True), job.output("marked"), SMG_MARKED, prov)
    write_table(pd.DataFrame(corr, columns=[c for c, _ in SMG_CORR.columns]), job.output("corr"), SMG_CORR, prov)
    switch = lc.mode_switch_times(track.cos, n_modes - 1)
    switch = np.concatenate([switch, np.full(n_modes - len(switch), np.inf)])
    summary = pd.DataFrame(
        {"mode": np.arange(1, n_modes + 1), "s": s, "half_time": track.half_times, "switch_time": switch}
    )
    write_table(summary, job.output("summary"), SMG_SUMMARY, prov)
    job.log(summary.to_string())
