"""The claims ladder: the same claims evaluated at several scales (issue: "each 'not reproduced'
diagnosed across scale").

A rung is a named list of config files (deep-merged in order by Snakemake), listed in
``config/ladder/rungs.yaml`` from smallest to largest.  Each rung runs the whole pipeline in its own
folder ``results/ladder/<rung>/`` (a nested, incremental Snakemake run); :func:`collect_ladder` then
lines up every claim's value, interval and verdict across rungs and says, per claim, whether it
moves toward reproduction as the scale grows.  Opt-in (``snakemake claims_ladder``), never part of
``make reproduce``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from learndyn.claims import CLAIMS, tolerance
from learndyn.config import load_config_file
from learndyn.io import Table, read_table, write_table
from learndyn.job import Job

LADDER = Table(
    "claims_ladder",
    (
        ("rung", pa.string()),
        ("rung_index", pa.int64()),
        ("study", pa.string()),
        ("claim_id", pa.string()),
        ("statement", pa.string()),
        ("value", pa.float64()),
        ("ci_lo", pa.float64()),
        ("ci_hi", pa.float64()),
        ("threshold", pa.float64()),
        ("direction", pa.string()),
        ("n", pa.int64()),
        ("verdict", pa.string()),
        ("margin", pa.float64()),
        ("trend", pa.string()),
        ("wall_s", pa.float64()),
    ),
)
# project entries a rung folder links to, so that relative paths resolve there as in the project
PROJECT_ENTRIES = ("Snakefile", "workflow", "config", "src", "envs", "pyproject.toml")


def project_root() -> Path:
    """The checkout this learndyn runs from (a rung links to its code and configs)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "Snakefile").is_file():
        raise RuntimeError(f"the claims ladder needs learndyn run from its project checkout; {root} has no Snakefile")
    return root


def load_rungs(path: str | os.PathLike, root: str | os.PathLike) -> list[dict]:
    """The rungs file: ``rungs: [{name: smoke, configfiles: [config/smoke.yaml]}, ...]``, checked;
    config files are relative to the project ``root`` (or absolute)."""
    path, root = Path(path), Path(root)
    doc = load_config_file(path) or {}  # the strict loader of config files (duplicate keys, YAML 1.1 forms)
    rungs = doc.get("rungs")
    if not isinstance(rungs, list) or len(rungs) < 2:
        raise ValueError(f"{path}: 'rungs' must list at least two rungs (smallest first), got {rungs!r}")
    seen = set()
    for i, r in enumerate(rungs):
        if not isinstance(r, dict) or set(r) != {"name", "configfiles"}:
            raise ValueError(f"{path}: rungs[{i}] must have exactly 'name' and 'configfiles', got {r!r}")
        name, files = r["name"], r["configfiles"]
        if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum() or name in seen:
            raise ValueError(f"{path}: rungs[{i}].name {name!r} must be a unique word ([A-Za-z0-9_-])")
        seen.add(name)
        if not isinstance(files, list) or not files:
            raise ValueError(f"{path}: rungs[{i}].configfiles must be a non-empty list, got {files!r}")
        for f in files:
            if not (root / f).is_file():
                raise ValueError(f"{path}: rungs[{i}].configfiles: {f} not found (paths are relative to the project)")
    return rungs


def margin(value: float, threshold: float, direction: str) -> float:
    """Signed distance of ``value`` from the threshold, positive on the claimed side (in threshold
    units where the threshold is not 0)."""
    if np.isnan(value):
        return np.nan
    sign = 1.0 if direction.startswith(">") else -1.0
    return sign * (value - threshold) / max(abs(threshold), 1.0)


def trend(margins: list[float], verdicts: list[str]) -> str:
    """How a claim moves between the two largest rungs that have a value.  The smallest rung (smoke)
    checks the plumbing with a handful of units, so comparing the largest rung with it would call a
    claim that falls from default to step "toward reproduction" just because smoke was worse."""
    pts = [(m, v) for m, v in zip(margins, verdicts) if not np.isnan(m)]
    if len(pts) < 2:
        return "too few rungs with a value"
    (m0, v0), (m1, v1) = pts[-2], pts[-1]
    if v1 == "reproduced" and v0 != "reproduced":
        return "reproduces at the largest rung"
    if v0 == "reproduced" and v1 != "reproduced":
        return "no longer reproduced at the largest rung"
    if m1 == m0 or abs(m1 - m0) <= tolerance(0.0) * 1e3:  # equal infinities included
        return "flat"
    word = "toward" if m1 > m0 else "away from"
    return f"moves {word} reproduction"


def ladder_table(claims_by_rung: list[tuple[str, pd.DataFrame, float]]) -> pd.DataFrame:
    """One row per (rung, claim); ``trend`` is the claim's movement over all rungs."""
    rows = []
    for i, (rung, df, wall) in enumerate(claims_by_rung):
        for r in df.itertuples(index=False):
            rows.append(
                {
                    "rung": rung,
                    "rung_index": i,
                    "study": r.study,
                    "claim_id": r.claim_id,
                    "statement": r.statement,
                    "value": r.value,
                    "ci_lo": r.ci_lo,
                    "ci_hi": r.ci_hi,
                    "threshold": r.threshold,
                    "direction": r.direction,
                    "n": int(r.n),
                    "verdict": r.verdict,
                    "margin": margin(r.value, r.threshold, r.direction),
                    "trend": "",
                    "wall_s": wall,
                }
            )
    out = pd.DataFrame(rows, columns=[c for c, _ in LADDER.columns])
    for (_, _), g in out.groupby(["study", "claim_id"]):
        g = g.sort_values("rung_index")
        out.loc[g.index, "trend"] = trend(g["margin"].tolist(), g["verdict"].tolist())
    return out


def diagnosed(ladder: pd.DataFrame) -> pd.DataFrame:
    """The claims the ladder is for: not reproduced (or undecided) at some rung that ran them."""
    ran = ladder[ladder["verdict"] != "not run"]
    ids = ran.loc[ran["verdict"] != "reproduced", ["study", "claim_id"]].drop_duplicates()
    return ladder.merge(ids, on=["study", "claim_id"])


def _rung_folder(root: Path, folder: Path) -> None:
    """A folder that looks like the project (links to its code and configs) with its own results."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_ENTRIES:
        link = folder / name
        target = os.path.relpath(root / name, folder)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.exists() or link.is_symlink():
            raise FileExistsError(f"{link}: exists and is not the expected link to {target}; remove it")
        link.symlink_to(target)


def run_rung(job: Job) -> None:
    """One rung: the whole DAG of its configs in ``results/ladder/<rung>/`` (incremental there)."""
    root = project_root()
    folder = Path.cwd() / "results" / "ladder" / job.wildcards["rung"]
    _rung_folder(root, folder)
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        str(job.threads),
        "--configfile",
        *job.cfg["configfiles"],
        "--keep-going",
        "results/claims.parquet",
    ]
    job.log(f"rung {job.wildcards['rung']}: {' '.join(cmd)} (in {folder})")
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.monotonic() - t0
    job.log(proc.stdout[-20000:])
    if proc.returncode != 0:
        raise RuntimeError(
            f"rung {job.wildcards['rung']} failed (exit {proc.returncode}); its log is above, its files are in {folder}"
        )
    df = read_table(folder / "results" / "claims.parquet", CLAIMS)
    write_table(df, job.output("claims"), CLAIMS, job.provenance(wall_s=wall))
    shutil.copyfile(folder / "results" / "claims.html", job.output("page"))
    job.log(f"rung {job.wildcards['rung']}: {len(df)} claims in {wall:.0f} s")


def collect_ladder(job: Job) -> None:
    from learndyn.figures.ladder import ladder_html, plot_ladder
    from learndyn.io import read_provenance

    paths = job.inputs["claims"]
    paths = [paths] if isinstance(paths, str) else list(paths)
    rungs = job.cfg["rungs"]
    parts = [(r, read_table(p, CLAIMS), float(read_provenance(p).get("wall_s", np.nan))) for r, p in zip(rungs, paths)]
    table = ladder_table(parts)
    write_table(table, job.output("table"), LADDER, job.provenance())
    diag = diagnosed(table)
    for study in job.cfg["studies"]:
        plot_ladder(diag[diag["study"] == study], study, job.output(f"figure_{study}"))
    job.output("page").write_text(ladder_html(diag, rungs))
    job.log(f"{diag[['study', 'claim_id']].drop_duplicates().shape[0]} claims on the ladder over rungs {rungs}")
