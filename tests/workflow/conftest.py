"""Fixtures of the workflow tests (helpers live in tests/_support/smk.py).

``smoke_run`` (the shared smoke DAG) lives in tests/conftest.py: tests/cluster and tests/faults
compare their runs against it.
"""
