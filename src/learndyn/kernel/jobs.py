"""Rule entry points of the kernel study, each named after its rule in workflow/rules/kernel.smk
(each takes a :class:`Job`).

prepare_kernel_data -> train_kernel (per run: paired Std/Large, phase 1 + phase 2, Lightning) ->
analyse_kernel_run (t = 0 pseudo-kernel, hidden representations, embedding, ARI) ->
collect_kernel_runs (pooled tables and Pearson correlations across runs) -> kernel_claims,
render_kernel.  The validation cases (kernel_onestep, kernel_linear) and kernel_splines_regime call
:mod:`learndyn.kernel.validation` and :mod:`learndyn.kernel.splines_regime`.

Module-level imports stay light (no torch): a rule's code inputs are what its entry function can
import (learndyn.code_inputs), so each entry imports its heavy modules inside its body.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from learndyn.checkpoints import RunCheckpoints
from learndyn.io import read_table, read_tables, write_table
from learndyn.job import Job
from learndyn.kernel.tables import ARI, CURVES, INITS, SETS, SUMMARY


def prepare_kernel_data(job: Job) -> None:
    from learndyn.kernel.runs import DATASETS, datasets_frame, run_seed

    run = job.wildcards["krun"]
    df = datasets_frame(job.cfg, run)
    write_table(df, job.output("datasets"), DATASETS, job.provenance(seed=run_seed(job.cfg["seed"], run)))
    job.log(f"run {run}: {len(df)} examples")


def _schedule(train: dict) -> list[int]:
    from learndyn.train import breakpoint_schedule

    return breakpoint_schedule({"schedule": "linear", "every": train["snapshot_every"]}, 2 * train["steps"])


def analysed_steps(train: dict) -> list[int]:
    """The checkpoints :func:`analyse_kernel_run` reads: the phase-1 snapshots (pseudo_kernel.md, 'Hidden
    representations over training') and the end of phase 2 (also the training rule's retention policy: the phase-2
    snapshots are never kept)."""
    T = train["steps"]
    return sorted({*(s for s in _schedule(train) if s <= T), T, 2 * T})


def train_kernel(job: Job) -> None:
    """The nets of one run (paired Std/Large, plus sweep nets): single-task phase, then fine-tuning."""
    from learndyn.kernel import multitask as mt
    from learndyn.kernel.module import TaskNetsGD  # Lightning: only training jobs import it
    from learndyn.kernel.runs import DATASETS, run_sets
    from learndyn.train.factory import fit_with_breakpoints

    cfg, train, net = job.cfg, job.cfg["train"], job.cfg["net"]
    df = read_table(job.inputs["datasets"], DATASETS)
    sets = run_sets(df, cfg["run"])
    inits = cfg["inits"]
    nets = mt.scaled_inits(cfg["seed"], net["w_std"], [i["multiple"] for i in inits], n_hidden=net["n_hidden"])
    schedule = _schedule(train)
    module = TaskNetsGD(
        nets,
        [i["lr"] for i in inits],
        sets,
        phase_steps=train["steps"],
        schedule=schedule,
        loss_every=train["loss_every"],
    )
    job.log(
        f"run {cfg['run']}: {len(nets)} nets ({', '.join(i['init'] for i in inits)}) x 2 x {train['steps']} "
        f"steps, {len(schedule)} breakpoints, seed {cfg['seed']}"
    )
    run_dir = job.output("manifest").parent
    fit_with_breakpoints(
        module,
        module.train_dataloader(),
        run_dir=run_dir,
        schedule=schedule,
        seed=cfg["seed"],
        fingerprint={"cfg": cfg, "data": _digest(sets)},
        provenance=job.provenance(seed=cfg["seed"]),
        threads=job.threads,
        log=job.log,
        accelerator=job.accelerator,
        before_manifest=lambda: _write_curves(job, module),
        keep=analysed_steps(train),
    )


def _digest(sets) -> str:
    import hashlib

    h = hashlib.sha256()
    for name in SETS:
        h.update(sets[name].x.numpy().tobytes())
        h.update(sets[name].y.numpy().tobytes())
    return h.hexdigest()[:16]


def _write_curves(job: Job, module) -> None:
    cfg = job.cfg
    curves = module.curves.numpy()
    steps = np.arange(curves.shape[0]) * module.loss_every
    rows = [
        pd.DataFrame(
            {
                "run": cfg["run"],
                "schedule": cfg["schedule"],
                "replicate": cfg["replicate"],
                "init": init,
                "step": steps,
                "phase": np.where(steps <= module.T, 1, 2),
                "set": name,
                "sse": curves[:, n, s],
            }
        )
        for n, init in enumerate(_labels(cfg))
        for s, name in enumerate(SETS)
    ]
    write_table(pd.concat(rows, ignore_index=True), job.output("curves"), CURVES, job.provenance(seed=cfg["seed"]))
    job.log(
        "final SSE "
        + ", ".join(
            f"{i}: single_test {curves[module.T // module.loss_every, n, 1]:.2f} multi_test {curves[-1, n, 3]:.2f}"
            for n, i in enumerate(_labels(cfg))
        )
    )


def _labels(cfg: dict) -> list[str]:
    return [i["init"] for i in cfg["inits"]]


def _nets_at(ckpts: RunCheckpoints, step: int, n_hidden: int, labels) -> dict[str, mt.TaskNet]:  # noqa: F821 (mt: lazy)
    from learndyn.kernel import multitask as mt

    state = ckpts.load(step)["state_dict"]  # checked: sha256 and the run's identity
    nets = {}
    for n, init in enumerate(labels):
        net = mt.TaskNet(n_hidden)
        net.load_state_dict({k.split(".", 2)[2]: v for k, v in state.items() if k.startswith(f"nets.{n}.")})
        nets[init] = net
    return nets


def _weights(net: mt.TaskNet) -> dict:  # noqa: F821 (mt: lazy)
    return {"W1": net.W1.detach().double(), "W2": net.W2.detach().double()}


def analyse_kernel_run(job: Job) -> None:
    from learndyn.kernel import analysis as an
    from learndyn.kernel import multitask as mt
    from learndyn.kernel.runs import DATASETS, parse_run, run_sets

    cfg, acfg = job.cfg, job.cfg["analysis"]
    run = job.wildcards["krun"]
    schedule, rep = parse_run(run)
    train = cfg["train"]
    T = train["steps"]
    manifest_path = Path(job.inputs["manifest"])
    files = RunCheckpoints(manifest_path)
    steps1 = [
        s for s in _schedule(train) if s <= T
    ]  # phase-1 snapshots (pseudo_kernel.md, 'Hidden representations over training')
    missing = [s for s in analysed_steps(train) if s not in files.steps]
    if missing:
        raise FileNotFoundError(f"{manifest_path}: no checkpoint for steps {missing}")
    sets = run_sets(read_table(job.inputs["datasets"], DATASETS), run)
    n_hidden = cfg["net"]["n_hidden"]
    prov = job.provenance(seed=acfg["kmeans_seed"], embedding=an.EMBEDDING)

    labels = _labels(cfg)
    nets0 = _nets_at(files, 0, n_hidden, labels)
    eig, groups, sil = an.t0_structure(run, nets0, sets["single_train"], acfg["eig_modes"], acfg["n_keep"])
    write_table(eig, job.output("eigvec"), an.EIGVEC, prov)
    write_table(groups, job.output("groups"), an.GROUPS, prov)
    job.log("t=0 silhouette " + ", ".join(f"{k}: {v:.3f}" for k, v in sil.items()))

    # hidden representations at every phase-1 snapshot (the Std/Large pair; sweep nets only at the
    # end of phase 1, all the sweep reads: k-means per snapshot would dominate the job); PCA
    # embedding; ARI over the first half
    hidden = {init: {g: [] for g in an.GROUPINGS} for init in labels}
    for s in steps1:
        for init, net in _nets_at(files, s, n_hidden, labels).items():
            if init in INITS or s == T:
                for g, avg in an.hidden_averages(net, sets["single_train"]).items():
                    hidden[init][g].append(avg)
    h_rows, e_rows, a_rows = [], [], []
    half = (len(steps1) - 1) // 2
    keep = set(steps1[:: acfg["hidden_every"]]) | {steps1[-1]}
    for init in INITS:
        for g in an.GROUPINGS:
            arr = np.stack(hidden[init][g])  # (snapshots, items, H)
            emb = an.embed(arr)
            for i, s in enumerate(steps1):
                items = np.arange(arr.shape[1])
                e_rows.append(
                    pd.DataFrame(
                        {
                            "run": run,
                            "init": init,
                            "snapshot": i,
                            "step": s,
                            "grouping": g,
                            "item": items,
                            "e1": emb[i, :, 0],
                            "e2": emb[i, :, 1],
                            "method": an.EMBEDDING,
                        }
                    )
                )
                if s in keep:
                    h_rows.append(
                        pd.DataFrame(
                            {
                                "run": run,
                                "init": init,
                                "phase": 1,
                                "snapshot": i,
                                "step": s,
                                "grouping": g,
                                "item": items,
                                "h": list(arr[i]),
                            }
                        )
                    )
                if g in an.PREDICTED and i <= half:
                    for space, pts in (("embedding", emb[i]), ("raw", arr[i])):
                        a_rows.append(
                            {
                                "run": run,
                                "schedule": schedule,
                                "replicate": rep,
                                "init": init,
                                "snapshot": i,
                                "step": s,
                                "grouping": g,
                                "space": space,
                                "ari": an.ari_at(pts, g, acfg["kmeans_seed"]),
                            }
                        )
    write_table(pd.concat(h_rows, ignore_index=True), job.output("hidden"), an.HIDDEN, prov)
    write_table(pd.concat(e_rows, ignore_index=True), job.output("embedding"), an.EMBED, prov)
    write_table(pd.DataFrame(a_rows), job.output("ari"), an.ARI, prov)

    # per-net summary: final losses, zero-shot multitasking, rich/lazy, O6 clustering at end of phase 1
    curves = read_table(job.inputs["curves"], CURVES)
    nets_T, nets_end = _nets_at(files, T, n_hidden, labels), _nets_at(files, 2 * T, n_hidden, labels)
    rows = []
    for spec in cfg["inits"]:
        init = spec["init"]
        c = curves[curves.init == init].set_index(["step", "set"])["sse"]
        end1 = {g: a[-1] for g, a in hidden[init].items()}
        rows.append(
            {
                "run": run,
                "schedule": schedule,
                "replicate": rep,
                "init": init,
                "seed": cfg["seed"],
                "w": cfg["net"]["w_std"] * spec["multiple"],
                "multiple": spec["multiple"],
                "sweep": spec["sweep"],
                "lr": spec["lr"],
                "silhouette": sil.get((init, "sorted"), np.nan),
                "silhouette_authors": sil.get((init, "authors"), np.nan),
                "final_single_test": c[(T, "single_test")],
                "final_multi_test": c[(2 * T, "multi_test")],
                "final_single_train": c[(T, "single_train")],
                "final_multi_train": c[(2 * T, "multi_train")],
                "zero_shot_multi_test": c[(T, "multi_test")],
                "single_test_after_tuning": c[(2 * T, "single_test")],
                "rwc_phase1": an.relative_weight_change(_weights(nets0[init]), _weights(nets_T[init])),
                "rwc_phase2": an.relative_weight_change(_weights(nets_T[init]), _weights(nets_end[init])),
                "ari_task_end1": an.ari_at(end1["task"], "task", acfg["kmeans_seed"]),
                "ari_input_end1": an.ari_at(end1["input"], "input", acfg["kmeans_seed"]),
                "biases_frozen": bool((nets_end[init].b1 == mt.BIAS).all() and (nets_end[init].b2 == mt.BIAS).all()),
            }
        )
    write_table(pd.DataFrame(rows), job.output("summary"), SUMMARY, prov)
    summary = pd.DataFrame(rows)[["init", "silhouette", "final_single_test", "final_multi_test"]]
    job.log(f"summary: {summary.to_dict('records')}")


def collect_kernel_runs(job: Job) -> None:
    """Pooled tables of the paper's Std/Large pairs (+ correlations) and of the init-scale sweep."""
    from learndyn.kernel.stats import CORRELATIONS, SWEEP_STATS, correlation_table, sweep_table

    nets = read_tables(job.inputs["summary"], SUMMARY)
    curves = read_tables(job.inputs["curves"], CURVES)
    runs = nets[nets.init.isin(INITS)].reset_index(
        drop=True
    )  # the paper's pairs only (pseudo_kernel.md, 't = 0 structure vs final performance')
    write_table(runs, job.output("runs"), SUMMARY, job.provenance())
    write_table(curves[curves.init.isin(INITS)], job.output("curves"), CURVES, job.provenance())
    write_table(read_tables(job.inputs["ari"], ARI), job.output("ari"), ARI, job.provenance())
    corr = correlation_table(runs, n_boot=job.cfg["bootstrap"], seed=job.cfg["bootstrap_seed"])
    write_table(corr, job.output("correlations"), CORRELATIONS, job.provenance(seed=job.cfg["bootstrap_seed"]))
    job.log(corr[["pool", "loss", "n", "r"]].to_string())

    sweep = nets[nets.sweep].sort_values(["replicate", "w"]).reset_index(drop=True)
    write_table(sweep, job.output("sweep"), SUMMARY, job.provenance())
    keys = sweep[["run", "init"]].drop_duplicates()
    write_table(curves.merge(keys, on=["run", "init"]), job.output("sweep_curves"), CURVES, job.provenance())
    st = sweep_table(sweep, n_boot=job.cfg["bootstrap"], seed=job.cfg["bootstrap_seed"])
    write_table(st, job.output("sweep_stats"), SWEEP_STATS, job.provenance(seed=job.cfg["bootstrap_seed"]))
    job.log(
        f"sweep: {sweep.w.nunique()} scales x {sweep.replicate.nunique()} replicates\n"
        + st[st.level != "replicate"].to_string()
    )


def kernel_onestep(job: Job) -> None:
    """One-step identity: 1-D ReLU net (Fig. A) and the multitask net, error vs learning rate."""
    from learndyn.kernel import validation

    validation.onestep(job)


def kernel_linear(job: Job) -> None:
    """Saxe-McClelland-Ganguli linear net (Figs. B-D)."""
    from learndyn.kernel import validation

    validation.linear(job)


def kernel_splines_regime(job: Job) -> None:
    """The t = 0 pseudo-kernel of the splines study's nets vs their measured regime."""
    from learndyn.kernel import splines_regime

    splines_regime.splines_regime(job)


def kernel_claims(job: Job) -> None:
    from learndyn.kernel import claims

    claims.write_claims(job)


def render_kernel(job: Job) -> None:
    """One figure of the kernel study: read its tables, draw it, save PNG (no torch: figure jobs)."""
    from learndyn.figures.kernel import FIGURES, NEEDS_CFG, TABLES
    from learndyn.figures.style import render_figure

    def call(name, func, frames):
        return func(*frames, job.cfg["ari"]) if name in NEEDS_CFG else func(*frames)

    render_figure(job, "kernel", FIGURES, TABLES.__getitem__, call=call)
