import os

# No test may reach the network: a corpus that "cannot be loaded" must fail at once, not after the hub
# client's retries (about 20 s each). Set before anything imports ``datasets`` or ``huggingface_hub``, which
# read these variables once, at import.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

# Two pytest workers already keep both cores busy: a torch or BLAS thread pool per worker (and per process it
# starts) only oversubscribes them, and OpenMP's waiting threads spin on a core another worker needs (26% less
# CPU for the same tests measured here). Tests of several threads ask for them; waiting threads then sleep.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# For the same reason inductor compiles without its pool of compile workers (one per core, each importing torch;
# gcc still runs as a child process): the pool's start-up and its workers competing with the other pytest worker
# cost CPU (the three compile tests of test_gpu_path, cold and alone: 98 s of user CPU against 128 s with the pool).
os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")

# Inductor's on-disk cache does not tell kernels built for one instruction set from another: kernels compiled
# under the default capability (AVX512 here) and read back under ATEN_CPU_CAPABILITY=avx2 gave NaN losses and an
# out-of-bounds index. One cache per capability, set before torch is imported (inductor fixes its folder early).
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(
    os.environ.get("TMPDIR", "/tmp"), f"replication-inductor-{os.environ.get('ATEN_CPU_CAPABILITY', 'default')}"))

# Results kept on disk between processes (replication.memo) start empty in every run of the suite, and the
# workers of one run (and the site build they start) share them: each slow result is computed once per run.
os.environ.setdefault("REPLICATION_RESULTS_DIR", os.path.join(
    os.environ.get("TMPDIR", "/tmp"),
    f"replication-results-{os.environ.get('PYTEST_XDIST_TESTRUNUID') or os.getpid()}"))

import pytest


@pytest.fixture
def one_thread(monkeypatch):
    """Tiny models train faster on one thread, and are immune to other jobs on a shared 2-core machine."""
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# The chapters' presentation helpers live beside the chapters, in book/_lib (imported as ``_lib``).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book"))
