"""A real single-node SLURM for the cluster tests (tests/_support/localslurm.py).

Started once per module, stopped by PID in the fixture's finalizer, whatever the tests do.
Skipped, with the reason, where it cannot run (not root, Debian packages missing).
"""

import pytest

from localslurm import LocalSlurm, unavailable_reason


@pytest.fixture(scope="module")
def cluster():
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"local SLURM cluster: {reason}")
    slurm = LocalSlurm()
    try:
        yield slurm.start(timeout=120)
    finally:
        slurm.stop()
