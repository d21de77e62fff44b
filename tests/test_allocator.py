"""training.allocator: freed blocks stay mapped, so a step's buffers are not faulted in again."""
import json
import os
import platform
import subprocess
import sys

import pytest

from replication.training import allocator

PROBE = """
import json, resource, sys
from replication.training.allocator import retain_freed_memory
applied = retain_freed_memory() if sys.argv[1] == "1" else False
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def step():  # 20 buffers of 1 MB, written, then freed, as a training step's activations are
    buffers = [bytes([1]) * (1 << 20) for _ in range(20)]
    del buffers
for _ in range(3):  # warm up
    step()
before = faults()
for _ in range(20):
    step()
print(json.dumps({"applied": applied, "faults": faults() - before, "torch": "torch" in sys.modules}))
"""


def probe(retain: bool) -> dict:
    # glibc's own threshold moves with what the process freed before (an import): fixing it at its
    # starting value, 128 KiB, makes the plain probe map every 1 MB block, as a fresh process does
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    out = subprocess.run([sys.executable, "-c", PROBE, "1" if retain else "0"], capture_output=True, text=True,
                         check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")
def test_freed_memory_is_not_faulted_in_again():
    # 20 steps of 20 MB are 102,400 pages of 4 KiB: glibc maps each block and unmaps it when it is freed (every
    # page faults in again), where with the memory retained the same pages serve every step
    plain, retained = probe(False), probe(True)
    assert retained["applied"] is True and not retained["torch"]
    assert plain["faults"] > 50_000
    assert retained["faults"] < 1_000


def test_retaining_twice_is_a_no_op():
    first = allocator.retain_freed_memory()
    assert allocator.retain_freed_memory() is first
