import os

# One thread per test process: results must not depend on it, and the machine has 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
