"""Drive the snakemake CLI in a subprocess (own session, hard timeout), as a user or CI would.

The fault and cluster tests need what the in-process API cannot give: a process to SIGKILL
mid-DAG, an executor plugin with its own settings, and the exact error text a user reads.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from smk import REPO, SNAKEFILE

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def command(workdir: Path, configfile: Path, targets=(), *extra: str) -> list[str]:
    # targets before --configfile (it takes several values)
    return [
        *SNAKEMAKE,
        "--snakefile",
        str(SNAKEFILE),
        "--directory",
        str(workdir),
        *targets,
        "--configfile",
        str(configfile),
        *extra,
    ]


def run(cmd: list[str], timeout: float, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run to completion; on timeout the whole process group is killed (nothing left behind)."""
    proc = start(cmd, env)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, _ = proc.communicate()
        raise AssertionError(f"timed out after {timeout} s: {' '.join(cmd)}\n{out[-3000:]}")
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, "")
    if check and proc.returncode:
        raise AssertionError(f"exit {proc.returncode}: {' '.join(cmd)}\n{out[-5000:]}")
    return done


def start(cmd: list[str], env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """SIGKILL the process and every job it started (they share its session's process group)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def wait_for(predicate, proc: subprocess.Popen, timeout: float, poll: float = 0.02) -> bool:
    """Poll ``predicate`` until true (-> True), the process exits (-> False) or the timeout (raise)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if proc.poll() is not None:
            return predicate()
        time.sleep(poll)
    kill_group(proc)
    raise AssertionError(f"timed out after {timeout} s waiting for a condition")


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a finished run (results, logs, Snakemake's metadata) with mtimes kept, so
    Snakemake sees it as up to date."""
    dst.mkdir(parents=True, exist_ok=True)
    for sub in ("results", "logs", ".snakemake/metadata"):
        if (src / sub).exists():
            shutil.copytree(src / sub, dst / sub, copy_function=shutil.copy2, dirs_exist_ok=True)
    return dst


def mtimes(root: Path, under: str = "results") -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in (root / under).rglob("*")
        if p.is_file() and "benchmarks" not in p.parts
    }
