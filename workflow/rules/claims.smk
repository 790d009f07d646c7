# Claims of every study, aggregated; the report shows them as its first page.


rule aggregate_claims:
    input:
        claims=expand("results/{study}/claims.parquet", study=config["studies"]),
    output:
        table="results/claims.parquet",
        summary="results/claims_summary.rst",
        page=report("results/claims.html", caption="../report/claims.rst", category="Claims and verdicts"),
    params:
        func="learndyn.tasks:aggregate_claims",
    log:
        "logs/aggregate_claims.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/run.py"
