"""What a Snakemake rule hands to the science: a plain :class:`Job`, no Snakemake inside.

Each rule runs ``workflow/scripts/run.py``, which builds a Job from the ``snakemake`` object
and calls the function named in ``params.func`` ("module:function").  Tests build Jobs by
hand, so every rule's work is importable and testable without Snakemake.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from learndyn.io import provenance


@dataclass
class Job:
    rule: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    cfg: Any = None
    wildcards: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    accelerator: str = "cpu"  # Lightning accelerator of training jobs (config key `accelerator`)
    _t0: float = field(default_factory=time.monotonic, repr=False)

    def provenance(self, seed: Any = None, **extra: Any) -> dict:
        return provenance(self.rule, self.cfg, seed, wildcards=self.wildcards, **extra)

    def log(self, msg: str) -> None:
        print(f"[{self.rule} +{time.monotonic() - self._t0:7.1f}s] {msg}", flush=True)

    def output(self, name: str) -> Path:
        path = Path(self.outputs[name])
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def resolve(spec: str) -> Callable[[Job], Any]:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _named(files) -> dict[str, Any]:
    named = dict(files.items())
    return named if named else {str(i): f for i, f in enumerate(files)}


def run_snakemake_job(smk) -> None:
    """Entry point of ``workflow/scripts/run.py``: all output of the job goes to its log."""
    import torch

    job = Job(
        rule=smk.rule,
        inputs=_named(smk.input),
        outputs=_named(smk.output),
        cfg=smk.params.get("cfg"),
        wildcards=dict(smk.wildcards.items()),
        threads=int(smk.threads),
        accelerator=smk.params.get("accelerator", "cpu"),
    )
    torch.set_num_threads(job.threads)
    log = Path(smk.log[0])
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        job.log(f"start {smk.params.func} threads={job.threads} wildcards={job.wildcards}")
        try:
            resolve(smk.params.func)(job)
        except Exception as err:
            job.log(f"FAILED: {type(err).__name__}: {err}")
            raise
        job.log("done")


if __name__ == "__main__":  # pragma: no cover
    sys.exit("learndyn.job is run by workflow/scripts/run.py through Snakemake")
