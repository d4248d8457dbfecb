import sys

import numpy as np
import pytest
import torch

from pointea.tasks.resource_log import peak_memory_mib, reset_peak_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS reset is Linux-only")
def test_peak_memory_sees_an_allocation_and_resets():
    cpu = torch.device("cpu")
    reset_peak_memory(cpu)
    before = peak_memory_mib(cpu)
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
    during = peak_memory_mib(cpu)
    del block
    reset_peak_memory(cpu)
    after = peak_memory_mib(cpu)
    assert during - before >= 60
    assert after < during - 60  # a new peak starts at the current RSS
