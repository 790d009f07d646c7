"""Tasks 1-3 and variant 2': which learning rule succeeds, fails or is fragile on which task, and whether
the cortical W1 takes over from the BG W2 (motor.md, 'Expected outcomes and where to check them')."""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.claims import fmt
from learndyn.claims import fmt_number as _f

from .claims_common import BLOWUP_FAILS, BLOWUP_OUT, FIG, _blown, _desc, _fail_dev, _row, _sel
from .tasks import SUCCESS_THRESHOLD

ESSENTIALLY_NONE = 0.1  # "fails on essentially all seeds": share of successes at most this
CLEARLY_WORSE = 2.0  # RMHL vs FORCE/ST on Task 1: paper scale 0.1-0.3 vs < 0.05, i.e. > 2x


def _success(df) -> np.ndarray:
    """1 = the seed succeeded (completed and deviation < 0.5), per seed."""
    return df.sort_values("seed")["success"].to_numpy(float)


def _succeeds(cid, stmt, df, label, paper, fig="M4_success") -> dict:
    return _row(
        cid,
        stmt,
        "test deviation per seed (success: < 0.5)",
        aggregate="all",
        values=_fail_dev(df),
        threshold=SUCCESS_THRESHOLD,
        direction="<",
        reading="'succeeds' (motor.md, 'Expected outcomes and where to check them'): every seed's test "
        f"deviation < 0.5 (all); {BLOWUP_FAILS}",
        not_run="" if len(df) else f"{label} not in this config",
        figure=FIG.format(fig),
        detail=f"{_desc(df, label)}; {paper}",
    )


def _fails(cid, stmt, df, label, note, essentially: bool) -> dict:
    nr = "" if len(df) else f"{label} not in this config ({note})"
    if essentially:
        return _row(
            cid,
            stmt,
            "share of seeds that succeed (test deviation < 0.5)",
            aggregate="share",
            values=_success(df),
            threshold=ESSENTIALLY_NONE,
            direction="<=",
            not_run=nr,
            reading="'fails on essentially all seeds' (a statement about the seeds run): the exact share "
            f"of seeds that succeed ≤ 0.1 (share); {BLOWUP_FAILS}",
            figure=FIG.format("M4_success"),
            detail=f"{_desc(df, label)}; {note}",
        )
    return _row(
        cid,
        stmt,
        "test deviation per seed (failure: ≥ 0.5)",
        aggregate="all",
        values=_fail_dev(df),
        threshold=SUCCESS_THRESHOLD,
        direction=">=",
        not_run=nr,
        reading="'fails' (no 'essentially' in motor.md, 'Expected outcomes and where to check them'): every "
        f"seed fails (all); {BLOWUP_FAILS}",
        figure=FIG.format("M4_success"),
        detail=f"{_desc(df, label)}; {note}",
    )


def _fragile(cid, stmt, df, label, note) -> dict:
    return _row(
        cid,
        stmt,
        "test deviation per seed (failure: ≥ 0.5)",
        aggregate="any",
        values=_fail_dev(df),
        threshold=SUCCESS_THRESHOLD,
        direction=">=",
        figure=FIG.format("M4_success"),
        reading=f"'fragile, seed-dependent': at least one seed fails (any); {BLOWUP_FAILS}",
        not_run="" if len(df) else f"{label} not in this config ({note})",
        detail=f"{_desc(df, label)}; {note}",
    )


def _better(cid, stmt, mod, scr, note) -> dict:
    """Paired by seed: success(modified) − success(scripts), mean over seeds > 0."""
    a, b = mod.set_index("seed")["success"], scr.set_index("seed")["success"]
    d = (a.astype(float) - b.astype(float)).dropna()
    return _row(
        cid,
        stmt,
        "mean over seeds of success(modified) − success(scripts), paired by seed",
        aggregate="mean",
        values=d.to_numpy(),
        threshold=0.0,
        direction=">",
        figure=FIG.format("M4_success"),
        reading=f"'succeed more often': mean paired difference of success indicators, seeded bootstrap "
        f"95% interval; {BLOWUP_FAILS}",
        not_run="" if len(mod) and len(scr) else f"needs both variants ({note})",
        detail=f"{_desc(mod, 'modified')}; {_desc(scr, 'scripts')}; {note}",
    )


def standard_claims(res: pd.DataFrame) -> list[dict]:
    rows = []
    f1, r1, s1 = (_sel(res, f"task1-{m}-scripts") for m in ("force", "rmhl", "supertrex"))
    paper = "paper scale: deviation well under 0.05"
    for df, m in ((f1, "FORCE"), (s1, "SUPERTREX")):
        rows.append(_succeeds(f"T1-{m.lower()}-succeeds", f"{m} succeeds on Task 1 (drawing)", df, m, paper))
    best = pd.concat([f1, s1]).groupby("seed") if len(f1) and len(s1) else None
    worst_other = (
        best.apply(lambda g: g["deviation"].max() if g["completed"].all() else np.nan, include_groups=False)
        if best is not None
        else pd.Series(dtype=float)
    )
    ok_r = r1[r1["completed"]].set_index("seed")["deviation"]
    ratio = (ok_r / worst_other).dropna()
    rows.append(
        _row(
            "T1-rmhl-worse",
            "RMHL is clearly worse than FORCE and SUPERTREX at test on Task 1",
            "median over seeds of RMHL deviation / max(FORCE, SUPERTREX deviation), paired by seed",
            aggregate="median",
            values=ratio.to_numpy(),
            threshold=CLEARLY_WORSE,
            direction=">",
            unconverged=_blown(r1, "RMHL") + _blown(f1, "FORCE") + _blown(s1, "SUPERTREX"),
            reading=f"'clearly worse' (typical seed): median of the paired per-seed ratios, order-statistics "
            f"interval; {BLOWUP_OUT}",
            figure=FIG.format("M4_success"),
            not_run="" if len(r1) and best is not None else "Task 1 models not in this config",
            detail=f"per seed ratio {fmt(ratio)}; {_desc(r1, 'RMHL')}; paper scale: RMHL 0.1-0.3, all < 0.5",
        )
    )
    s2, r2 = _sel(res, "task2-supertrex-scripts"), _sel(res, "task2-rmhl-scripts")
    rows.append(
        _succeeds(
            "T2-supertrex-all-seeds",
            "SUPERTREX succeeds on Task 2 (2-joint arm) on all seeds",
            s2,
            "SUPERTREX",
            "paper scale: well under 0.05",
        )
    )
    rows.append(
        _fails(
            "T2-rmhl-fails",
            "RMHL fails Task 2 (deviation > 0.5) on essentially all seeds",
            r2,
            "RMHL",
            "Task 2",
            essentially=True,
        )
    )
    ok = r2[r2["completed"]].set_index("seed")
    deg = (ok["deviation"] / ok["D_end_train"]).dropna()
    rows.append(
        _row(
            "T2-rmhl-degrades-frozen",
            "RMHL tracks the target while exploring but degrades once weights are frozen (Task 2)",
            "median over seeds of test deviation / end-of-training D",
            aggregate="median",
            values=deg.to_numpy(),
            threshold=1.0,
            direction=">",
            unconverged=_blown(r2, "RMHL"),
            reading=f"'degrades once frozen' (typical seed): median of per-seed ratios, order-statistics "
            f"interval; {BLOWUP_OUT}",
            figure=FIG.format("M2_error_traces"),
            not_run="" if len(r2) else "task2 RMHL not in this config",
            detail=f"per seed {fmt(deg)}; {_desc(r2, 'RMHL')}",
        )
    )
    st3, st3m, r3 = (_sel(res, f"task3-{m}") for m in ("supertrex-scripts", "supertrex-modified", "rmhl-scripts"))
    note = "Task 3 needs N = 1000 (motor.md, 'Expected outcomes and where to check them'; paper.yaml)"
    rows.append(
        _fragile(
            "T3-supertrex-fragile",
            "Task 3, original rules: SUPERTREX is seed-dependent (not every seed succeeds)",
            st3,
            "SUPERTREX scripts",
            note,
        )
    )
    rows.append(
        _better(
            "T3-modified-better",
            "Task 3: the replication's robustness fixes make SUPERTREX succeed more often",
            st3m,
            st3,
            note,
        )
    )
    rows.append(_fails("T3-rmhl-fails", "Task 3: RMHL fails", r3, "RMHL", note, essentially=False))
    s2p, s2pm = (_sel(res, f"task2_3seg-supertrex-{v}") for v in ("scripts", "modified"))
    note2p = "variant 2' runs at N = 1000 (paper.yaml)"
    rows.append(
        _fragile(
            "T2prime-supertrex-fragile",
            "Variant 2' (3-segment arm, Task-2 constants), original rules: SUPERTREX is fragile "
            "(weights often diverge; not every seed succeeds)",
            s2p,
            "SUPERTREX scripts",
            note2p,
        )
    )
    rows.append(
        _better(
            "T2prime-modified-better",
            "Variant 2': the replication's robustness fixes make SUPERTREX succeed more often",
            s2pm,
            s2p,
            note2p,
        )
    )
    rows.append(_automaticity(res))
    return rows


def _automaticity(res) -> dict:
    st = res[
        (res["model"] == "supertrex") & (res["experiment"].isin(["task1", "task2"])) & (res["variant"] == "scripts")
    ]
    ok = st[st["completed"]]
    crossed = ok["w_cross_step"].gt(0) & (ok["w1_norm_end"] > ok["w2_norm_end"])
    return _row(
        "AUTO-w1-takes-over",
        "Automaticity: in SUPERTREX the cortical W1 takes over from the BG W2 during training",
        "||W1|| crossed and ends above ||W2|| (1 = yes), per SUPERTREX Task 1/2 run and seed",
        aggregate="all",
        values=crossed.to_numpy(float),
        threshold=1.0,
        direction=">=",
        unit="run x seed",
        unconverged=[f"{r} seed {s}" for r, s in st.loc[~st["completed"], ["run", "seed"]].itertuples(index=False)],
        reading="'W1 takes over' in every completed run (all); a run that blew up did not finish training: "
        "no evidence (inconclusive)",
        figure=FIG.format("M5_automaticity"),
        not_run="" if len(st) else "no SUPERTREX Task 1/2 runs in this config",
        detail=f"{int(crossed.sum())}/{len(ok)} completed runs; median W1/W2 crossing step "
        f"{_f(ok.loc[crossed, 'w_cross_step'].median()) if crossed.any() else 'nan'}, median gate "
        f"opening step {_f(ok['gate_open_step'].median()) if len(ok) else 'nan'}, median "
        f"||W1||/||W2|| at the end {_f((ok['w1_norm_end'] / ok['w2_norm_end']).median())}",
    )
