# learndyn: one DAG reproducing four studies of how neural networks learn.
#   snakemake --cores 2                      # everything in config/config.yaml
#   snakemake --cores 2 splines              # one study
#   snakemake --configfile config/smoke.yaml # the tiny DAG (tests, CI)
import os

from snakemake.utils import min_version

from learndyn.config import STUDIES, check_config, check_config_files

min_version("9.19")


# The default config only when no --configfile is given: Snakemake deep-merges a command-line
# config file INTO the `configfile:` one, so keys that config.yaml has and smoke.yaml lacks
# (a sweep, a schedule, a data set) would silently join the smoke DAG. `--config k=v` still
# overrides single keys of whichever file is used.
# Snakemake reads config files with plain PyYAML (duplicate keys: last wins; 0100 is 64): re-read
# them strictly first. Then finite numbers, sizes and the top-level schema, before any study's rules.
check_config_files(workflow.config_settings.configfiles or
                   [p for p in ("config/config.yaml", f"{workflow.basedir}/config/config.yaml") if os.path.isfile(p)][:1])
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


check_config(config, f"{workflow.basedir}/workflow/schemas")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


# One rules file per study (workflow/rules/<study>.smk); `studies` in the config chooses which
# are part of this DAG (each validates its own config section against its own schema).
for _study in STUDIES:
    if _study in config["studies"]:

        include: f"workflow/rules/{_study}.smk"


include: "workflow/rules/claims.smk"
include: "workflow/rules/ladder.smk"


rule all:
    default_target: True
    input:
        "results/claims.parquet",
        "results/claims.html",
        [study_targets(s) for s in config["studies"]],
