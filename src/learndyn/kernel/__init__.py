"""Study `kernel`: pseudo-kernel prediction of learned representations and multitasking
(Pyle, Musslick, Cohen & Patel, arXiv 2307.07575). Pure, importable science code; the
pipeline (rules, tables, training wrapper, figures) lives elsewhere.

Modules: pseudo_kernel (P via torch.func + multitask closed form), multitask
(environment, TaskNet, paired inits), decompose (per-output eigen/SVD, groupings),
linear_case (Saxe–McClelland–Ganguli and 1-D ReLU validation cases, mode tracking),
splines_regime (the pseudo-kernel of the splines study's nets vs their lazy/rich regime),
tables (the Parquet schemas, import-light for figure jobs).
"""
