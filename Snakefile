# learndyn: one DAG reproducing four studies of how neural networks learn.
#   snakemake --cores 2                      # everything in config/config.yaml
#   snakemake --cores 2 splines              # one study
#   snakemake --configfile config/smoke.yaml # the tiny DAG (tests, CI)
from snakemake.utils import min_version, validate

from learndyn.config import STUDIES, check_config

min_version("9.19")


# The default config only when no --configfile is given: Snakemake deep-merges a command-line
# config file INTO the `configfile:` one, so keys that config.yaml has and smoke.yaml lacks
# (a sweep, a schedule, a data set) would silently join the smoke DAG. `--config k=v` still
# overrides single keys of whichever file is used.
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")
check_config(config)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


# One rules file per study (workflow/rules/<study>.smk); `studies` in the config chooses which
# are part of this DAG (each validates its own config section against its own schema).
for _study in STUDIES:
    if _study in config["studies"]:

        include: f"workflow/rules/{_study}.smk"


include: "workflow/rules/claims.smk"


rule all:
    default_target: True
    input:
        "results/claims.parquet",
        "results/claims.html",
        [study_targets(s) for s in config["studies"]],


# Last, once every rule exists: each rule's src/learndyn files become its input `code`, derived from
# the import closure of its params.func (workflow/rules/common.smk).
declare_code_inputs()
