# Every rule runs this script; the science is the function named in params.func.
from learndyn.job import run_snakemake_job

run_snakemake_job(snakemake)  # noqa: F821 (injected by Snakemake)
