# learndyn: one DAG reproducing four studies of how neural networks learn.
#   snakemake --cores 2                      # everything in config/config.yaml
#   snakemake --cores 2 splines              # one study
#   snakemake --configfile config/smoke.yaml # the tiny DAG (tests, CI)
from snakemake.utils import min_version, validate

from learndyn.config import check_config

min_version("9.19")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")
check_config(config)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/splines.smk"
include: "workflow/rules/claims.smk"


rule all:
    default_target: True
    input:
        "results/claims.parquet",
        "results/claims.html",
        [study_targets(s) for s in config["studies"]],
