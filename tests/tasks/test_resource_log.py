import subprocess
import sys

import pytest

# In a fresh process, so that memory freed by earlier tests cannot hide the allocation.
PROBE = """
import numpy as np, torch
from pointea.tasks.resource_log import peak_memory_mib, reset_peak_memory
cpu = torch.device("cpu")
reset_peak_memory(cpu)
before = peak_memory_mib(cpu)
block = np.ones(256 * 2**20 // 8)  # 256 MiB, touched
during = peak_memory_mib(cpu)
del block
reset_peak_memory(cpu)
print(before, during, peak_memory_mib(cpu))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS reset is Linux-only")
def test_peak_memory_sees_an_allocation_and_resets():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    before, during, after = map(float, done.stdout.split())
    assert during - before >= 250
    assert after < during - 250  # a new peak starts at the current RSS
