import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # bit-identity of batched vs single runs is a CPU, one-thread property (motor.md, 'Cost, speed and configurations',
    # technique 5)
    import torch

    torch.set_num_threads(1)
    yield
