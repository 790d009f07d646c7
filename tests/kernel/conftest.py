import pytest
import torch

# torch's first forward-mode (jvp) call scripts its internal decompositions and warns
# that torch.jit.script is deprecated: torch-internal noise, not ours.
_JIT_NOISE = "ignore:`torch.jit.script` is deprecated:DeprecationWarning"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/kernel" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.filterwarnings(_JIT_NOISE))


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # Shared CPUs: one BLAS thread, as the pipeline runs it.
    torch.set_num_threads(1)
