"""ingest: resampling to a stored count, and a cache that is rebuilt when it cannot be trusted."""

import os

import h5py
import numpy as np
import pytest

from pointea.data import DatasetError
from pointea.data.ingest_cache import cache_file, ingest, resample_indices
from pointea.data.text_table import read_table

CALLS = []


def parse(path):
    CALLS.append(path.name)
    table = read_table(path, 4)
    return {"data": table[:, :3], "pid": table[:, 3].astype(np.int64)}


@pytest.fixture
def files(tmp_path):
    """Three clouds of 5, 8 and 12 rows ``x,y,z,label``; the label is the row number."""
    CALLS.clear()
    rng = np.random.default_rng(0)
    paths = []
    for i, rows in enumerate((5, 8, 12)):
        table = np.concatenate([rng.standard_normal((rows, 3)), np.arange(rows)[:, None]], 1)
        path = tmp_path / f"shape{i}.txt"
        np.savetxt(path, table, fmt="%.6f", delimiter=",")
        paths.append(path)
    return paths


def test_every_cloud_is_resampled_to_the_stored_count(files, tmp_path):
    arrays = ingest(files, parse, None, num_points=8, seed=3)
    assert arrays["data"].shape == (3, 8, 3) and arrays["pid"].shape == (3, 8)
    np.testing.assert_array_equal(arrays["size"], [5, 8, 12])
    for i, path in enumerate(files):
        table = np.loadtxt(path, delimiter=",").astype(np.float32)
        rows = arrays["pid"][i]  # the label column names each kept row
        np.testing.assert_array_equal(arrays["data"][i], table[rows, :3])
        if len(table) == 8:
            np.testing.assert_array_equal(rows, np.arange(8))  # file order kept
        elif len(table) < 8:
            np.testing.assert_array_equal(rows[:5], np.arange(5))  # every point, then repeats
            assert set(rows[5:]) <= set(range(5))
        else:
            assert len(set(rows)) == 8 and (np.diff(rows) > 0).all()  # a subset, in order


def test_farthest_point_sampling_matches_a_naive_loop():
    points = np.random.default_rng(1).standard_normal((30, 3)).astype(np.float32)
    chosen = [0]
    dist = np.full(30, np.inf)
    for _ in range(5):
        dist = np.minimum(dist, ((points - points[chosen[-1]]) ** 2).sum(1))
        chosen.append(int(dist.argmax()))
    idx = resample_indices(points, 6, "fps", np.random.default_rng(0))
    np.testing.assert_array_equal(idx, chosen)


def test_the_second_call_reads_the_cache(files, tmp_path):
    cache = cache_file(tmp_path, "train")
    first = ingest(files, parse, cache, num_points=8)
    assert len(CALLS) == 3 and cache.is_file()
    again = ingest(files, parse, cache, num_points=8)
    assert len(CALLS) == 3  # no file parsed again
    for key in first:
        np.testing.assert_array_equal(again[key], first[key])
    assert not [p for p in cache.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_a_current_cache_reads_no_source_file(files, tmp_path):
    cache = cache_file(tmp_path, "train")
    first = ingest(files, parse, cache, num_points=8)
    for path in files:  # the same size and time: only the key's metadata is looked at
        stat = path.stat()
        path.write_bytes(b"x" * stat.st_size)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = ingest(files, parse, cache, num_points=8)
    np.testing.assert_array_equal(again["data"], first["data"])


@pytest.mark.parametrize("change", ["mtime", "size", "options", "file list"])
def test_a_stale_cache_is_rebuilt(files, tmp_path, change):
    cache = cache_file(tmp_path, "train")
    ingest(files, parse, cache, num_points=8)
    options = {"num_points": 8}
    if change == "mtime":
        stat = files[1].stat()
        os.utime(files[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    elif change == "size":
        with files[1].open("a") as f:
            f.write("9,9,9,7\n")
    elif change == "options":
        options["num_points"] = 6
    else:
        files = files[:2]
    CALLS.clear()
    arrays = ingest(files, parse, cache, **options)
    assert len(CALLS) == len(files)
    assert arrays["data"].shape[1] == options["num_points"]
    if change == "size":
        assert arrays["size"][1] == 9


@pytest.mark.parametrize("damage", ["truncated", "no completion mark", "garbage"])
def test_a_half_written_cache_is_not_trusted(files, tmp_path, damage):
    cache = cache_file(tmp_path, "train")
    expected = ingest(files, parse, cache, num_points=8)
    if damage == "truncated":
        data = cache.read_bytes()
        cache.write_bytes(data[: len(data) // 2])
    elif damage == "no completion mark":
        with h5py.File(cache, "a") as f:
            del f.attrs["pointea_complete"]
    else:
        cache.write_bytes(b"not hdf5 at all")
    CALLS.clear()
    arrays = ingest(files, parse, cache, num_points=8)
    assert len(CALLS) == 3  # parsed again, not read
    np.testing.assert_array_equal(arrays["data"], expected["data"])
    with h5py.File(cache, "r") as f:  # and the cache is whole again
        assert f.attrs["pointea_complete"]


def test_workers_give_the_same_arrays(files):
    one = ingest(files * 3, parse, None, num_points=8, workers=1)
    two = ingest(files * 3, parse, None, num_points=8, workers=2)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key])


def test_a_bad_file_is_named_and_nothing_is_cached(files, tmp_path):
    files[2].write_text("1,2,3,4\n5,6\n")
    cache = cache_file(tmp_path, "train")
    with pytest.raises(DatasetError, match=r"shape2.txt: line 2 has 2 columns"):
        ingest(files, parse, cache, num_points=8)
    assert not cache.exists()


def test_the_first_bad_file_is_named_with_workers(files):
    files[1].write_text("1,2,3,4\n5,6,x,8\n")
    files[2].write_text("1,2,3\n")
    with pytest.raises(DatasetError, match=r"shape1.txt: line 2: 'x' is not a number"):
        ingest(files * 4, parse, None, num_points=8, workers=2)


def test_a_missing_file_is_named(files):
    with pytest.raises(DatasetError, match=r"nowhere.txt cannot be read"):
        ingest([*files, files[0].with_name("nowhere.txt")], parse, None, num_points=8)


def test_a_read_only_release_caches_under_the_user_cache(tmp_path, monkeypatch):
    release = tmp_path / "release"
    release.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_file(release, "train") == release / ".pointea_cache" / "train.h5"
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for a read-only mount
    path = cache_file(release, "train")
    assert path.is_relative_to(tmp_path / "xdg" / "pointea" / "ingest")
    assert path.name == "train.h5"
