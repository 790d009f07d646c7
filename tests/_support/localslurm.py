"""A real single-node SLURM cluster on localhost, for tests: no systemd, nothing outside a temp folder.

Debian's ``slurm-wlm`` + ``munge`` (+ ``slurmdbd`` + ``mariadb-server`` for accounting, so
``sacct`` works the way it does on a production cluster).  Every daemon is started as a child
process in the foreground, with its config, state, sockets and logs in one temp folder, and is
stopped by its PID (job steps first, then the daemons in reverse order).  Every wait has a
timeout: a daemon that does not come up raises with its log tail instead of hanging.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "mariadbd", "mariadb-install-db", "slurmdbd", "slurmctld", "slurmd", "slurmstepd")
CLIENTS = ("sbatch", "squeue", "sacct", "sacctmgr", "scontrol", "scancel", "sinfo", "srun")
PACKAGES = "slurm-wlm munge slurmdbd mariadb-server"


class ClusterError(RuntimeError):
    pass


def unavailable_reason() -> str | None:
    """Why a local cluster cannot be started here (None when it can)."""
    if os.name != "posix" or os.geteuid() != 0:
        return (
            "needs root (daemons run as root, jobs as the submitting user); "
            f"CI runs as root with the Debian packages {PACKAGES} from envs/apt-cluster-test.txt"
        )
    missing = [t for t in (*DAEMONS, *CLIENTS) if not _which(t)]
    if missing:
        return f"missing {missing}: install the Debian packages {PACKAGES} (make setup-cluster does, as root)"
    return None


def _which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


class LocalSlurm:
    """Start with :meth:`start`, stop with :meth:`stop` (idempotent; call it from a finalizer)."""

    def __init__(self, cpus: int | None = None, accounting: bool = True):
        self.root = Path(tempfile.mkdtemp(prefix="ldslurm-"))  # short: unix socket paths <= 107 chars
        self.cpus = cpus or os.cpu_count() or 1
        self.accounting = accounting
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.ports = {k: _free_port() for k in ("db", "dbd", "ctld", "slurmd")}
        self.conf = self.root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        for var in [v for v in self.env if v.startswith(("SLURM_", "SBATCH_", "SRUN_"))]:
            if var != "SLURM_CONF":  # a test run inside a SLURM job must not leak its own job's settings
                self.env.pop(var)
        # snakemake-executor-plugin-slurm-jobstep drops every SLURM_* variable (SLURM_CONF too)
        # before its inner `srun`, so that srun would look for /etc/slurm/slurm.conf: a wrapper
        # first on PATH (exported to jobs) points it back at this cluster's config.
        self.bin = self.root / "bin"
        self.bin.mkdir()
        wrapper = self.bin / "srun"
        wrapper.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {_which("srun")} "$@"\n')
        wrapper.chmod(0o755)
        self.env["PATH"] = f"{self.bin}:{self.env.get('PATH', '')}"

    # -- commands -----------------------------------------------------------------------------
    def run(self, *args: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run(
            [_which(args[0]) or args[0], *args[1:]], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and out.returncode:
            raise ClusterError(f"{' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
        return out

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.out", "ab")
        proc = subprocess.Popen(
            [_which(args[0]) or args[0], *args[1:]],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.procs.append((name, proc))
        return proc

    def _wait(self, what: str, ok, timeout: float, log: Path) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise ClusterError(
                        f"{name} exited ({proc.returncode}) while waiting for {what}:\n"
                        f"{_tail(self.root / f'{name}.out')}\n{_tail(log)}"
                    )
            try:
                if ok():
                    return
            except (OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.3)
        raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}:\n{_tail(log)}")

    def _port_open(self, port: int) -> bool:
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex(("127.0.0.1", port)) == 0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> "LocalSlurm":
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        r = self.root
        for d in ("state", "spool", "db", "run"):  # (bin/ is made in __init__)
            (r / d).mkdir()
        key = r / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self._spawn(
            "munged",
            "munged",
            "--foreground",
            "--force",
            f"--key-file={key}",
            f"--socket={r / 'munge.sock'}",
            f"--pid-file={r / 'run/munged.pid'}",
            f"--log-file={r / 'munged.log'}",
            f"--seed-file={r / 'munge.seed'}",
        )
        self._wait("munged", lambda: (r / "munge.sock").exists(), timeout, r / "munged.log")
        if self.accounting:
            self._start_accounting(timeout)
        self.conf.write_text(self._slurm_conf())
        if self.accounting:  # register the cluster before slurmctld first talks to slurmdbd
            self.run("sacctmgr", "-i", "add", "cluster", "learndyn", timeout=30)
        self._spawn("slurmctld", "slurmctld", "-D", "-i")
        self._wait(
            "slurmctld",
            lambda: self.run("scontrol", "ping", check=False, timeout=10).stdout.count("UP") > 0,
            timeout,
            r / "slurmctld.log",
        )
        self._spawn("slurmd", "slurmd", "-D", "-N", "localhost")
        self._wait(
            "an idle node",
            lambda: "idle" in self.run("sinfo", "-h", "-o", "%T", timeout=10).stdout,
            timeout,
            r / "slurmd.log",
        )

    def _start_accounting(self, timeout: float) -> None:
        r = self.root
        self.run(
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={r / 'db'}",
            "--user=root",
            "--skip-test-db",
            "--auth-root-authentication-method=normal",
            timeout=120,
        )
        # grant tables skipped: a throwaway database reachable only on 127.0.0.1 of this machine
        self._spawn(
            "mariadbd",
            "mariadbd",
            "--no-defaults",
            f"--datadir={r / 'db'}",
            "--user=root",
            f"--socket={r / 'mysql.sock'}",
            f"--port={self.ports['db']}",
            "--bind-address=127.0.0.1",
            f"--pid-file={r / 'run/mariadbd.pid'}",
            f"--log-error={r / 'mariadbd.log'}",
            "--skip-grant-tables",
            "--skip-name-resolve",
        )
        self._wait("mariadbd", lambda: self._port_open(self.ports["db"]), timeout, r / "mariadbd.log")
        dbd = r / "slurmdbd.conf"  # read from SLURM_CONF's folder; must be 0600 and owned by SlurmUser
        dbd.write_text(
            "\n".join(
                [
                    "AuthType=auth/munge",
                    f"AuthInfo={r / 'munge.sock'}",
                    "DbdHost=localhost",
                    "DbdAddr=127.0.0.1",
                    f"DbdPort={self.ports['dbd']}",
                    "SlurmUser=root",
                    f"PidFile={r / 'run/slurmdbd.pid'}",
                    f"LogFile={r / 'slurmdbd.log'}",
                    "StorageType=accounting_storage/mysql",
                    "StorageHost=127.0.0.1",
                    f"StoragePort={self.ports['db']}",
                    "StorageUser=root",
                    "StorageLoc=learndyn_acct",
                    "",
                ]
            )
        )
        dbd.chmod(0o600)
        self._spawn("slurmdbd", "slurmdbd", "-D")
        self._wait("slurmdbd", lambda: self._port_open(self.ports["dbd"]), timeout, r / "slurmdbd.log")

    def _slurm_conf(self) -> str:
        r = self.root
        mem_mb = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.9)
        acct = (
            [
                "AccountingStorageType=accounting_storage/slurmdbd",
                "AccountingStorageHost=localhost",
                f"AccountingStoragePort={self.ports['dbd']}",
                # for auth/munge, the munge socket used to talk to slurmdbd (not a password)
                f"AccountingStoragePass={r / 'munge.sock'}",
                "JobAcctGatherType=jobacct_gather/linux",
            ]
            if self.accounting
            else ["AccountingStorageType=accounting_storage/none"]
        )
        return "\n".join(
            [
                "ClusterName=learndyn",
                "SlurmctldHost=localhost(127.0.0.1)",
                "AuthType=auth/munge",
                f"AuthInfo=socket={r / 'munge.sock'}",
                "CredType=cred/munge",
                "SlurmUser=root",
                "SlurmdUser=root",
                f"SlurmctldPort={self.ports['ctld']}",
                f"SlurmdPort={self.ports['slurmd']}",
                f"StateSaveLocation={r / 'state'}",
                f"SlurmdSpoolDir={r / 'spool'}",
                f"SlurmctldPidFile={r / 'run/slurmctld.pid'}",
                f"SlurmdPidFile={r / 'run/slurmd.pid'}",
                f"SlurmctldLogFile={r / 'slurmctld.log'}",
                f"SlurmdLogFile={r / 'slurmd.log'}",
                # no cgroups in containers: track processes by parent id, no task binding
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "MpiDefault=none",
                "SchedulerType=sched/backfill",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "ReturnToService=2",
                "SlurmdParameters=config_overrides",
                "JobCompType=jobcomp/none",
                "SchedulerParameters=sched_interval=2",
                "MinJobAge=600",
                *acct,
                f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={mem_mb} State=UNKNOWN",
                "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )

    def stop(self, timeout: float = 15) -> None:
        """Cancel jobs, stop job steps and daemons by PID (SIGTERM, then SIGKILL), remove the folder."""
        names = [n for n, _ in self.procs]
        if "slurmctld" in names:
            try:
                self.run("scancel", "--full", "-u", str(os.geteuid()), check=False, timeout=10)
            except (OSError, subprocess.SubprocessError):
                pass
        if "slurmd" in names:
            for pid in self._step_pids():
                self._signal(pid, signal.SIGKILL)
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout)
        self.procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def _step_pids(self) -> list[int]:
        """PIDs of processes of running job steps (slurmstepd and the job's processes), by SLURM."""
        try:
            out = self.run("scontrol", "listpids", check=False, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return []
        return [int(line.split()[0]) for line in out.splitlines()[1:] if line.split() and line.split()[0].isdigit()]

    @staticmethod
    def _signal(pid: int, sig: int) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    # -- queries ------------------------------------------------------------------------------
    def jobs(self) -> list[dict]:
        """Every job the accounting database knows (sacct), or the queue when accounting is off."""
        if self.accounting:
            out = self.run(
                "sacct", "-X", "-n", "-P", "-a", "-o", "JobID,JobName,State,ExitCode,Elapsed", timeout=30
            ).stdout
            keys = ("id", "name", "state", "exit", "elapsed")
        else:
            out = self.run("squeue", "-h", "-o", "%i|%j|%T", timeout=30).stdout
            keys = ("id", "name", "state")
        return [dict(zip(keys, line.split("|"))) for line in out.splitlines() if line.strip()]
