"""Parse a release of many small files once into an HDF5 cache, and load from it after.

Releases such as PointNet++'s ``modelnet40_normal_resampled`` store one text file per
shape; parsing twelve thousand of them takes minutes, so :func:`ingest` parses them once,
resamples every cloud to one stored point count and writes the result to an HDF5 file in
the layout of the PointNet releases (``data`` (S, P, 3), ``normal``, ``pid`` ...). Later
calls read that file back, as long as its key still matches: the source files' paths,
sizes and modification times and the ingest options. The cache is written to a hidden
temporary file beside it, flushed to disk and renamed over it in one step, and it carries
a completion attribute written last: a cache that is half-written, truncated, stale or
unreadable is rebuilt, never read.

S shapes, P stored points per shape (``num_points``), R rows of one file.

Example::

    arrays = ingest(files, parse_one, cache_file(folder, "train"), num_points=10000)
    arrays["data"]   # (S, 10000, 3) float32
    arrays["size"]   # (S,) int64: each file's own point count before resampling

A parse function for text rows is one call to
:func:`pointea.data.text_table.read_table`, which names each bad file's fault.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np

from pointea.data.errors import DatasetError
from pointea.vis.atomic import atomic_output

__all__ = [
    "SAMPLINGS",
    "cache_file",
    "check_resampling",
    "ingest",
    "ingest_key",
    "resample_indices",
]

log = logging.getLogger(__name__)

SAMPLINGS = ("random", "fps")
_FORMAT = 1  # bumped when the cache's own layout changes: older caches are rebuilt
_COMPLETE = "pointea_complete"  # attribute written last; a cache without it is not trusted
_KEY = "pointea_ingest_key"

Parse = Callable[[Path], Mapping[str, np.ndarray]]


def check_resampling(stored_points: object, sampling: object) -> None:
    """The two resampling options every reader that resamples takes, checked by their
    config names (``data.dataset.stored_points``, ``data.dataset.sampling``).

    Raises:
        DatasetError: ``stored_points`` is not a positive integer, or ``sampling`` is not
            one of :data:`SAMPLINGS`.
    """
    if isinstance(stored_points, bool) or not isinstance(stored_points, int) or stored_points < 1:
        raise DatasetError(
            f"data.dataset.stored_points must be a positive integer (points kept per cloud), "
            f"got {stored_points!r}"
        )
    if sampling not in SAMPLINGS:
        raise DatasetError(
            f"data.dataset.sampling must be one of {list(SAMPLINGS)}, got {sampling!r}"
        )


def cache_file(folder: str | Path, name: str) -> Path:
    """Where the cache called ``name`` of the release in ``folder`` lives.

    ``folder/.pointea_cache/NAME.h5`` when the release folder is writable (the cache then
    travels and is deleted with the release); otherwise under the user's cache folder
    (``$XDG_CACHE_HOME`` or ``~/.cache``), in a sub-folder named after the release folder's
    absolute path.
    """
    folder = Path(folder).expanduser().resolve()
    beside = folder / ".pointea_cache"
    if os.access(beside if beside.is_dir() else folder, os.W_OK):
        return beside / f"{name}.h5"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    return base / "pointea" / "ingest" / f"{folder.name}-{digest}" / f"{name}.h5"


def ingest_key(files: Sequence[Path], options: Mapping[str, object]) -> str:
    """A digest of the source files' paths, sizes and modification times and of
    ``options``: a cache whose key differs is stale.

    Raises:
        DatasetError: a source file is missing or cannot be stat'ed; the message names it.
    """
    entries = []
    for path in map(os.fspath, files):
        try:
            stat = os.stat(path)  # the metadata only: a current cache reads no source file
        except OSError as err:
            raise DatasetError(f"{path} cannot be read: {err.strerror or err}") from err
        entries.append([path, stat.st_size, stat.st_mtime_ns])
    text = json.dumps({"format": _FORMAT, "files": entries, "options": dict(options)}, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def resample_indices(
    points: np.ndarray, num_points: int, sampling: str, rng: np.random.Generator
) -> np.ndarray:
    """Indices of ``num_points`` rows of one cloud, for a fixed stored point count.

    A cloud of exactly ``num_points`` keeps its order. A larger cloud keeps a random
    subset without repeats, in file order (``"random"``), or its farthest point sample
    from point 0 (``"fps"``). A smaller cloud keeps every point, in order, followed by
    random repeats of its points.

    Shapes:
        points: (R, 3) -> (num_points,) int64
    """
    rows = len(points)
    if rows == num_points:
        return np.arange(rows)
    if rows < num_points:
        return np.concatenate([np.arange(rows), rng.integers(0, rows, num_points - rows)])
    if sampling == "fps":
        import torch

        from pointea.ops.sampling import farthest_point_sample

        xyz = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))[None]
        return farthest_point_sample(xyz, num_points)[0].numpy()
    return np.sort(rng.choice(rows, num_points, replace=False))


def _parse_checked(parse: Parse, path: Path) -> dict[str, np.ndarray]:
    """``parse(path)``, with any failure turned into one DatasetError line naming the file."""
    try:
        arrays = dict(parse(path))
    except DatasetError:
        raise
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path} cannot be parsed: {err}") from err
    if "data" not in arrays:
        raise DatasetError(f"{path}: the parser returned no 'data' (got {sorted(arrays)})")
    rows = len(arrays["data"])
    if rows == 0:
        raise DatasetError(f"{path} holds no points")
    for key, value in arrays.items():
        if len(value) != rows:
            raise DatasetError(
                f"{path}: '{key}' has {len(value)} rows but 'data' has {rows}; every "
                f"per-point array of a file must have one row per point"
            )
    return arrays


def _parse_one(
    parse: Parse, path: Path, index: int, num_points: int, sampling: str, seed: int
) -> tuple[dict[str, np.ndarray], int]:
    """One file parsed and resampled to ``num_points`` rows, and its own row count."""
    arrays = _parse_checked(parse, path)
    rows = len(arrays["data"])
    if rows == num_points:  # kept whole and in order: no gather, no copy
        return arrays, rows
    # one generator per cloud: the result does not depend on the order or the workers
    rng = np.random.default_rng([seed, index])
    idx = resample_indices(arrays["data"][:, :3], num_points, sampling, rng)
    return {key: value[idx] for key, value in arrays.items()}, rows


def _build(
    files: Sequence[Path],
    parse: Parse,
    num_points: int,
    sampling: str,
    seed: int,
    workers: int,
) -> dict[str, np.ndarray]:
    if not files:
        return {"data": np.empty((0, num_points, 3), np.float32), "size": np.empty(0, np.int64)}
    first, rows = _parse_one(parse, files[0], 0, num_points, sampling, seed)
    keys = sorted(first)
    # the first file sets each array's shape and dtype
    out = {key: np.empty((len(files), *value.shape), value.dtype) for key, value in first.items()}
    sizes = np.empty(len(files), dtype=np.int64)
    for key in keys:
        out[key][0] = first[key]
    sizes[0] = rows

    def store(index: int) -> None:
        arrays, sizes[index] = _parse_one(parse, files[index], index, num_points, sampling, seed)
        if sorted(arrays) != keys:
            raise DatasetError(
                f"{files[index]}: the parser returned {sorted(arrays)}, but {files[0]} gave {keys}"
            )
        for key in keys:  # each thread copies its own file into place
            out[key][index] = arrays[key]

    if workers <= 1:
        for index in range(1, len(files)):
            store(index)
    else:
        # threads, not processes: the text parser, the resampling and the copies release
        # the GIL, and threads neither fork nor send each parsed file back through a pipe
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(store, range(1, len(files))):
                pass  # the first bad file, in file order, raises here
    out["size"] = sizes
    return out


def _read_cache(path: Path, key: str, count: int) -> dict[str, np.ndarray] | None:
    """The cached arrays, or ``None`` when the cache is absent, stale or not whole."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get(_KEY) != key or not f.attrs.get(_COMPLETE, False):
                log.info("ingest cache %s is stale or incomplete: rebuilding it", path)
                return None
            arrays = {name: f[name][()] for name in f}
    except (OSError, KeyError, ValueError) as err:
        log.warning("ingest cache %s cannot be read (%s): rebuilding it", path, err)
        return None
    if "size" not in arrays or any(len(v) != count for v in arrays.values()):
        return None
    return arrays


def _write_cache(path: Path, key: str, arrays: Mapping[str, np.ndarray]) -> None:
    with atomic_output(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, value in arrays.items():
                f.create_dataset(name, data=value)
            f.attrs[_KEY] = key
            f.flush()
            f.attrs[_COMPLETE] = True  # last: a file without it was cut short


def ingest(
    files: Sequence[str | Path],
    parse: Parse,
    cache: str | Path | None,
    *,
    num_points: int,
    sampling: str = "random",
    seed: int = 0,
    version: str = "",
    workers: int = 1,
) -> dict[str, np.ndarray]:
    """Every file parsed and resampled to ``num_points`` rows, from the cache when it is
    current, else parsed now and cached.

    Args:
        files: the source files, in the order of the returned shapes.
        parse: reads one file into per-point arrays, each with one row per point; ``data``
            (R, 3+) is required and its first three columns drive the resampling. Other
            keys (``normal``, ``pid`` ...) are stored alongside. Called from ``workers``
            threads at once. It raises
            :class:`DatasetError` naming the file for a bad file; any other ``OSError`` or
            ``ValueError`` is turned into one.
        cache: the cache file (see :func:`cache_file`), or ``None`` to parse without caching.
        num_points: the stored point count P; see :func:`resample_indices`.
        sampling: ``"random"`` (seeded) or ``"fps"`` (farthest point sampling), for clouds
            larger than P.
        seed: the seed of the random subsets and repeats.
        version: names the parser and its options; a cache made by another is rebuilt.
        workers: threads parsing files at once.

    Returns:
        ``{key: (S, P, ...)}`` for each key of ``parse``'s result and ``size`` (S,) int64,
        each file's own row count.

    Raises:
        DatasetError: the first bad file, named with its fault; nothing is cached then.
    """
    check_resampling(num_points, sampling)
    files = [Path(f) for f in files]
    options = {"num_points": num_points, "sampling": sampling, "seed": seed, "version": version}
    key = ingest_key(files, options)
    if cache is not None:
        cached = _read_cache(Path(cache), key, len(files))
        if cached is not None:
            return cached
    arrays = _build(files, parse, num_points, sampling, seed, workers)
    if cache is not None:
        try:
            _write_cache(Path(cache), key, arrays)
        except OSError as err:  # a read-only or full disk costs the cache, not the run
            log.warning("ingest cache %s not written (%s); the next run parses again", cache, err)
    return arrays
