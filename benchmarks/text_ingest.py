"""First ingest and cached load of a text release, against a plain per-file np.loadtxt loop.

    python benchmarks/text_ingest.py [--quick] [--files 400] [--rows 10000] [--workers 2]
        [--cached-repeats 5]

Writes a synthetic folder in the layout of PointNet++'s ``modelnet40_normal_resampled``
(``--files`` shape files of ``--rows`` rows ``x,y,z,nx,ny,nz`` written with "%f", as the
release's are), then times, in the same run: the baseline (``np.loadtxt(path,
delimiter=",")`` per file, stacked), pointea's first ingest (parse, resample, write the
HDF5 cache; ``--workers`` threads parse files at once) and pointea's cached load (the
reader finding the cache current, in a fresh process as a later training run meets it:
the first of ``--cached-repeats`` loads there, each listed).
Each timed phase starts after ``gc.collect()``: the interpreter's first full collection
of the heap torch and the rest build at import lands in whichever call triggers it, and
it is no phase's own work. Reports MB/s and files/s and the machine's load average before
and after (timings are comparable only on a quiet machine); writes ``text_ingest.json``
under ``--out``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pointea.data import ModelNet40Normal

CLASSES = ["airplane", "chair", "lamp", "table"]


def write_release(folder: Path, files: int, rows: int, seed: int = 0) -> list[Path]:
    """The release's tables, train list (every shape) and shape files; returns the files."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    paths, ids = [], []
    for i in range(files):
        name = CLASSES[i % len(CLASSES)]
        normal = rng.standard_normal((rows, 3))
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        (folder / name).mkdir(exist_ok=True)
        path = folder / name / f"{name}_{i + 1:04d}.txt"
        np.savetxt(path, np.concatenate([0.8 * normal, normal], 1), fmt="%f", delimiter=",")
        paths.append(path)
        ids.append(path.stem)
    (folder / "modelnet40_shape_names.txt").write_text("\n".join(CLASSES) + "\n")
    (folder / "modelnet40_test.txt").write_text(ids[0] + "\n")  # unused; the list must exist
    (folder / "modelnet40_train.txt").write_text("\n".join(ids[1:]) + "\n")
    return paths[1:]


def cached_loads(folder: Path, rows: int, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` loads of the train split from its current cache."""
    seconds = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        ModelNet40Normal(folder, "train", num_points=min(1024, rows), stored_points=rows)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 files of 1,000 rows")
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cached-repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--cached-load", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cached_load:
        print(*cached_loads(args.cached_load, args.rows, args.cached_repeats))
        return
    files, rows = (21, 1000) if args.quick else (args.files + 1, args.rows)
    scratch = Path(tempfile.mkdtemp(prefix="pointea-ingest-"))
    try:
        folder = scratch / "modelnet40_normal_resampled"
        paths = write_release(folder, files, rows)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        load_before = os.getloadavg()[0]

        gc.collect()
        start = time.perf_counter()
        baseline = np.stack([np.loadtxt(p, delimiter=",", dtype=np.float32) for p in paths])
        loop_s = time.perf_counter() - start

        gc.collect()
        start = time.perf_counter()
        data = ModelNet40Normal(
            folder, "train", num_points=min(1024, rows), stored_points=rows, workers=args.workers
        )
        first_s = time.perf_counter() - start
        assert np.array_equal(data.arrays()["pos"].numpy(), baseline[..., :3])

        # as a later training run meets it: a fresh process, its imports done
        command = [sys.executable, __file__, "--cached-load", str(folder), "--rows", str(rows)]
        cached = [
            float(t)
            for t in subprocess.run(
                command, check=True, capture_output=True, text=True
            ).stdout.split()
        ]
        cached_s = cached[0]

        result = {
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "files": len(paths),
            "rows": rows,
            "megabytes": round(megabytes, 1),
            "workers": args.workers,
            "cpus": os.cpu_count(),
            "loadtxt_loop_s": round(loop_s, 3),
            "loadtxt_loop_mb_per_s": round(megabytes / loop_s, 1),
            "loadtxt_loop_files_per_s": round(len(paths) / loop_s, 1),
            "first_ingest_s": round(first_s, 3),
            "first_ingest_mb_per_s": round(megabytes / first_s, 1),
            "first_ingest_files_per_s": round(len(paths) / first_s, 1),
            "cached_load_s": round(cached_s, 4),
            "cached_load_each_s": [round(t, 4) for t in cached],
            "first_ingest_speedup": round(loop_s / first_s, 2),
            "cached_speedup_over_first": round(first_s / cached_s, 1),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "text_ingest.json").write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:28s} {value}")


if __name__ == "__main__":
    main()
