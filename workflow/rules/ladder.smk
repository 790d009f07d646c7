# The claims ladder (opt-in, not part of `rule all`): `snakemake --cores 2 claims_ladder`.
# Every rung of config/ladder/rungs.yaml runs the whole DAG of its configs in results/ladder/<rung>/
# (a nested Snakemake run, incremental there: it reruns only what changed); collect_claims_ladder
# lines the claims up across rungs (results/claims_ladder.parquet, one figure per study, a page).
import glob

from learndyn.config import STUDIES
from learndyn.ladder import load_rungs

LADDER_RUNGS = load_rungs(
    config.get("ladder", {}).get("rungs", os.path.join(workflow.basedir, "config", "ladder", "rungs.yaml")),
    workflow.basedir,
)
LADDER_FILES = {r["name"]: r["configfiles"] for r in LADDER_RUNGS}
# a rung reruns (its nested run decides what inside) when any code or workflow file changes
LADDER_CODE = sorted(
    code_path(p)
    for pattern in ("src/learndyn/**/*.py", "workflow/**/*", "Snakefile")
    for p in glob.glob(os.path.join(workflow.basedir, pattern), recursive=True)
    if os.path.isfile(p) and "__pycache__" not in p
)


rule ladder_rung:
    input:
        configs=lambda wc: [os.path.join(workflow.basedir, f) for f in LADDER_FILES[wc.rung]],
        sources=LADDER_CODE,
    output:
        claims="results/ladder/{rung}/claims.parquet",
        page="results/ladder/{rung}/claims.html",
    params:
        func="learndyn.ladder:run_rung",
        cfg=lambda wc: {"configfiles": LADDER_FILES[wc.rung]},
    wildcard_constraints:
        rung="|".join(LADDER_FILES),
    log:
        "logs/ladder_rung/{rung}.log",
    threads: 8  # capped at --cores by Snakemake; the nested run uses what it gets
    resources:
        mem_mb=16000,
        runtime=24 * 60,
    script:
        "../scripts/run.py"


rule collect_claims_ladder:
    input:
        claims=expand("results/ladder/{rung}/claims.parquet", rung=LADDER_FILES),
    # one mapping, in this order: snakefmt would move named outputs after a `**` one, reordering them
    output:
        **{
            "table": "results/claims_ladder.parquet",
            "page": report("results/claims_ladder.html", caption="../report/ladder.rst", category="Claims ladder"),
            **{
                f"figure_{s}": report(
                    f"results/figures/ladder/{s}.png",
                    caption="../report/ladder.rst",
                    category="Claims ladder",
                )
                for s in STUDIES
            },
        },
    params:
        func="learndyn.ladder:collect_ladder",
        cfg={"rungs": list(LADDER_FILES), "studies": list(STUDIES)},
    log:
        "logs/collect_claims_ladder.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/run.py"


rule claims_ladder:
    input:
        rules.collect_claims_ladder.output,
    localrule: True
