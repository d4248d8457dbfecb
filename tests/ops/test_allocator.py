"""keep_freed_memory sets glibc's mallopt parameters (checked against <malloc.h>)."""

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

import pointea
from pointea.ops import allocator

ROOT = Path(pointea.__file__).resolve().parents[1]


class _FakeLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return 1


def test_sets_mmap_max_zero_and_trim_threshold(monkeypatch):
    fake = _FakeLibc()
    monkeypatch.setattr(allocator.sys, "platform", "linux")
    monkeypatch.setattr(allocator.ctypes.util, "find_library", lambda name: "libc.so.6")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: fake)
    assert allocator.keep_freed_memory(123456) is True
    # <malloc.h>: #define M_TRIM_THRESHOLD -1, #define M_MMAP_MAX -4
    assert fake.calls == [(-4, 0), (-1, 123456)]


def test_no_op_off_linux(monkeypatch):
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    monkeypatch.setattr(allocator.ctypes, "CDLL", pytest.fail)
    assert allocator.keep_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_big_tensors_still_allocate_and_free_in_a_fresh_process():
    probe = (
        "import torch\nfrom pointea.ops.allocator import keep_freed_memory\n"
        "print(keep_freed_memory())\n"
        "for _ in range(3):\n    x = torch.ones(2**25); assert float(x.sum()) == 2**25; del x\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    libc_has_mallopt = hasattr(ctypes.CDLL(None), "mallopt")
    assert done.stdout.split() == [str(libc_has_mallopt)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_released_memory_leaves_the_resident_set():
    """With freed memory kept (as train.py runs), a freed 512 MiB stays resident until
    release_freed_memory gives it back: what a multirun's next run must not inherit."""
    probe = (
        "import torch\nfrom pointea.ops.allocator import keep_freed_memory, release_freed_memory\n"
        "def rss():\n"
        "    line = [l for l in open('/proc/self/status') if l.startswith('VmRSS:')][0]\n"
        "    return int(line.split()[1]) / 1024\n"
        "keep_freed_memory()\nstart = rss()\n"
        "x = torch.ones(2**27); del x\nkept = rss()\n"
        "print(start, kept, release_freed_memory(), rss())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    start, kept, released, after = done.stdout.split()
    if released == "False":
        pytest.skip("this C library has no malloc_trim")
    assert float(kept) - float(start) > 400  # the freed 512 MiB stayed resident
    assert float(after) - float(start) < 100  # and went back
