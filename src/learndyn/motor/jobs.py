"""Rule entry points of the motor study, each named after its rule in workflow/rules/motor.smk (each
takes a :class:`learndyn.job.Job`).  Named ``jobs``: :mod:`learndyn.motor.tasks` is the paper's motor
tasks.

Module-level imports stay light: a rule's code inputs are what its entry function can import
(learndyn.code_inputs), so each entry imports its heavy modules inside its body.
"""

from __future__ import annotations

from learndyn.io import read_tables, write_table
from learndyn.job import Job
from learndyn.motor.tables import RESULTS, SUMMARY, TRACES


def simulate_motor(job: Job) -> None:
    """One group of a run: its seeds with all the run's conditions, checkpointed per period."""
    from learndyn.motor.experiments import simulate_run

    simulate_run(job)


def collect_motor(job: Job) -> None:
    """Concatenate every group's results and traces; summary per condition."""
    from learndyn.motor.experiments import summary_frame

    res, tr = read_tables(job.inputs["results"], RESULTS), read_tables(job.inputs["traces"], TRACES)
    write_table(res, job.output("results"), RESULTS, job.provenance())
    write_table(tr, job.output("traces"), TRACES, job.provenance())
    summ = summary_frame(res)
    write_table(summ, job.output("summary"), SUMMARY, job.provenance())
    job.log(f"{len(res)} members in {res['run'].nunique()} runs; {len(tr)} trace rows")


def motor_claims(job: Job) -> None:
    from learndyn.motor import claims

    claims.write_claims(job)


def render_motor(job: Job) -> None:
    """One figure of the motor study: read its tables, draw it, save PNG."""
    from learndyn.figures.motor import FIGURES
    from learndyn.figures.style import render_figure
    from learndyn.motor.tables import SCHEMAS

    seed_design = job.cfg.get("seed_design", "")
    render_figure(
        job,
        "motor",
        FIGURES,
        SCHEMAS.__getitem__,
        call=lambda name, func, frames: func(*frames, seed_design=seed_design),
    )
