"""A hostile sweep over the data options that read text releases, ScanObjectNN, folders of a
user's files and PyG datasets, with subsets and partial copies.

Every case ends in one line (a DatasetError or ConfigError, as ``exit_on_user_error``
prints them) naming the file or key at fault, with nothing left half-written; or, where
the fault is the cache's own, in a rebuild that gives the same arrays.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import traceback
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from folder_layouts import write_class_folder, write_part_folder
from scanobjectnn_layout import write_scanobjectnn
from text_layouts import write_modelnet_normal, write_shapenetpart_normal

from pointea.cli.run_config import ConfigError
from pointea.data import (
    DatasetError,
    ModelNet40Normal,
    PartFolder,
    PointCloudDataModule,
    PointFolder,
    ScanObjectNN,
    ShapeNetPartNormal,
)

CACHE = ".pointea_cache"


# --- one tiny release per option -------------------------------------------------------------


def _modelnet40_normal(tmp_path, **options):
    folder, _ = write_modelnet_normal(tmp_path, ["airplane", "bed"], {"train": 5, "test": 2})
    reader = functools.partial(ModelNet40Normal, stored_points=64, workers=1, **options)
    return reader, folder, folder / "airplane" / "airplane_0001.txt"


def _shapenetpart_normal(tmp_path, **options):
    folder, shapes = write_shapenetpart_normal(tmp_path, {"train": 3, "val": 1, "test": 1})
    reader = functools.partial(ShapeNetPartNormal, stored_points=64, workers=1, **options)
    synset, shape, *_ = shapes["train"][0]
    return reader, folder, folder / synset / f"{shape}.txt"


def _scanobjectnn(tmp_path, **options):
    root = tmp_path / "scanobjectnn"
    write_scanobjectnn(root)
    reader = functools.partial(ScanObjectNN, **{"variant": "obj_bg", **options})
    return reader, root, root / "h5_files" / "main_split" / "training_objectdataset.h5"


def _folder(tmp_path, **options):
    root = tmp_path / "scans"
    write_class_folder(root, np.random.default_rng(0))
    return PointFolder(stored_points=32, **options), root, root / "mug" / "mug_0.npy"


def _folder_seg(tmp_path, **options):
    root = tmp_path / "parts"
    write_part_folder(root, np.random.default_rng(0))
    first = sorted((root / "chair").iterdir())[0]
    return PartFolder(stored_points=32, **options), root, first


READERS = {
    "modelnet40_normal": _modelnet40_normal,
    "shapenetpart_normal": _shapenetpart_normal,
    "scanobjectnn": _scanobjectnn,
    "folder": _folder,
    "folder_seg": _folder_seg,
}
PARTIAL = {"shapenetpart_normal", "scanobjectnn"}  # tiny copies of official releases


def _module(option, reader, root, **data):
    data = {"partial": option in PARTIAL, **data}
    return PointCloudDataModule(dataset=reader, root=str(root), num_points=16, batch_size=4,
                                num_workers=0, **data)  # fmt: skip


def _load(module):
    module.read_tables()
    module.setup("fit")
    return {split: arrays["pos"].clone() for split, arrays in module.arrays.items()}


def _one_line_error(option, reader, root, match, **data):
    """The run ends in one DatasetError/ConfigError line matching ``match``; nothing under
    ``root`` is left as a temporary."""
    with pytest.raises((DatasetError, ConfigError)) as err:
        _load(_module(option, reader, root, **data))
    message = str(err.value)
    assert "\n" not in message, message
    assert re.search(match, message), message
    leftovers = [p for p in root.rglob("*") if ".tmp" in p.name or p.name.startswith(".tmp")]
    assert not leftovers, leftovers
    return message


# --- options a user can get wrong ------------------------------------------------------------

OPTIONS = [
    ({"stored_points": 0}, r"data\.dataset\.stored_points must be a positive integer.*got 0"),
    ({"stored_points": -5}, r"data\.dataset\.stored_points must be a positive integer.*got -5"),
    ({"stored_points": "many"}, r"data\.dataset\.stored_points .*got 'many'"),
    ({"sampling": "grid"}, r"data\.dataset\.sampling must be one of \['random', 'fps'\]"),
]


@pytest.mark.parametrize("option", ["modelnet40_normal", "shapenetpart_normal", "folder",
                                    "folder_seg"])  # fmt: skip
@pytest.mark.parametrize("options, match", OPTIONS)
def test_a_wrong_resampling_option_is_one_line_naming_the_key(option, options, match, tmp_path):
    reader, root, _ = READERS[option](tmp_path)
    if isinstance(reader, functools.partial):
        reader = functools.partial(reader, **options)
    else:
        reader = reader.configured(**{**reader.given, **options})
    _one_line_error(option, reader, root, match)
    assert not (root / CACHE).exists() or not any((root / CACHE).iterdir())


@pytest.mark.parametrize("options, match", OPTIONS)
def test_a_wrong_pyg_resampling_option_is_one_line_naming_the_key(options, match):
    from torch_geometric.datasets import ModelNet

    from pointea.data import from_pyg

    with pytest.raises(DatasetError, match=match):
        from_pyg(ModelNet, task="cls", **options)


def test_an_unknown_scanobjectnn_variant_names_the_key(tmp_path):
    reader, root, _ = _scanobjectnn(tmp_path, variant="pb_t99")
    _one_line_error("scanobjectnn", reader, root, r"data\.dataset\.variant must be one of")


@pytest.mark.parametrize("option", sorted(READERS))
def test_an_unknown_subset_name_lists_the_known_ones(option, tmp_path):
    reader, root, _ = READERS[option](tmp_path)
    key = "categories" if option in ("shapenetpart_normal", "folder_seg") else "classes"
    _one_line_error(
        option,
        reader,
        root,
        rf"data\.{key}: unknown .*'zeppelin'.*the release's",
        **{key: ["zeppelin"]},
    )


@pytest.mark.parametrize("option", sorted(READERS))
def test_an_empty_subset_is_refused(option, tmp_path):
    reader, root, _ = READERS[option](tmp_path)
    key = "categories" if option in ("shapenetpart_normal", "folder_seg") else "classes"
    _one_line_error(option, reader, root, rf"data\.{key}", **{key: []})


# --- damaged files ---------------------------------------------------------------------------


def _damage(path, how):
    if how == "a folder":
        path.unlink()
        path.mkdir()
    elif how == "a symlink loop":
        path.unlink()
        path.symlink_to(path.name)
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])
    elif path.suffix == ".npy":  # "nan rows", "wrong columns"
        table = np.load(path)
        table[0, 0] = np.nan
        np.save(path, table if how == "nan rows" else table[:, :2])
    else:
        lines = path.read_text().splitlines()
        sep = "," if "," in lines[0] else " "
        cells = lines[0].split(sep)
        lines[0] = sep.join(["nan", *cells[1:]] if how == "nan rows" else cells[:2])
        path.write_text("\n".join(lines) + "\n")


DAMAGES = ["a folder", "a symlink loop", "empty", "binary", "truncated"]


ROWS = ["nan rows", "wrong columns"]  # damages of a table's rows


@pytest.mark.parametrize(
    "option, how",
    [(o, h) for o in ("modelnet40_normal", "shapenetpart_normal") for h in DAMAGES + ROWS]
    + [("scanobjectnn", h) for h in DAMAGES],
)
def test_a_damaged_release_file_is_one_line_naming_it(option, how, tmp_path):
    reader, root, path = READERS[option](tmp_path)
    _damage(path, how)
    _one_line_error(option, reader, root, re.escape(path.name))
    assert not list(root.rglob(f"{CACHE}/*train*"))  # nothing cached from a failed ingest


@pytest.mark.parametrize("option", ["folder", "folder_seg"])
@pytest.mark.parametrize("how", DAMAGES + ROWS)
def test_a_damaged_user_file_is_skipped_and_named(option, how, tmp_path, caplog):
    reader, root, path = READERS[option](tmp_path)
    _damage(path, how)
    with caplog.at_level("WARNING"):
        arrays = _load(_module(option, reader, root))
    assert all(torch.isfinite(a).all() for a in arrays.values())
    named = [r.getMessage() for r in caplog.records if path.name in r.getMessage()]
    assert named and all("\n" not in m for m in named), caplog.text


def test_nan_rows_and_labels_out_of_range_in_scanobjectnn_are_named(tmp_path):
    reader, root, path = _scanobjectnn(tmp_path)
    with h5py.File(path, "r+") as f:
        f["label"][0] = 99
    _one_line_error("scanobjectnn", reader, root, rf"{path.name}.*99")
    with h5py.File(path, "r+") as f:
        f["label"][0] = 0
        data = f["data"][()]
        data[1, 2] = np.nan
        f["data"][...] = data
    _one_line_error("scanobjectnn", reader, root, rf"{path.name}.*(NaN|finite)")


# --- the ingest cache ------------------------------------------------------------------------


def _cache_files(root):
    return sorted(p for p in root.rglob(f"{CACHE}/*") if p.is_file())


@pytest.mark.parametrize("option", ["modelnet40_normal", "shapenetpart_normal", "folder",
                                    "folder_seg"])  # fmt: skip
@pytest.mark.parametrize("how", ["garbage", "half-written", "a folder"])
def test_a_damaged_cache_is_rebuilt_to_the_same_arrays(option, how, tmp_path):
    reader, root, _ = READERS[option](tmp_path)
    first = _load(_module(option, reader, root))
    caches = _cache_files(root)
    assert caches
    for cache in caches:
        if how == "garbage":
            cache.write_bytes(b"not hdf5 at all" * 10)
        elif how == "half-written":
            cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
        else:
            cache.unlink()
            cache.mkdir()
    again = _load(_module(option, reader, root))
    assert again.keys() == first.keys()
    for split in first:
        assert torch.equal(again[split], first[split])


@pytest.mark.parametrize("option", ["modelnet40_normal", "shapenetpart_normal", "folder",
                                    "folder_seg"])  # fmt: skip
def test_a_cache_folder_that_cannot_be_written_costs_the_cache_not_the_run(option, tmp_path):
    """Emulates a read-only cache folder (tests run as root, where chmod does not block): the
    cache's path is taken by a file, so nothing can be written under it."""
    reader, root, _ = READERS[option](tmp_path)
    (root / CACHE).write_text("in the way")
    arrays = _load(_module(option, reader, root))
    assert arrays["train"].shape[1:] == (64 if "normal" in option else 32, 3)
    assert (root / CACHE).read_text() == "in the way"


def _as_unprivileged(action):
    """Run ``action`` in a forked child as user ``nobody`` when this process is root (root
    reads folders whatever their mode); the child's exit status, 0 when ``action`` passed."""
    if os.geteuid() != 0:
        action()
        return 0
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            action()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.parametrize("option", sorted(READERS))
def test_an_unreadable_folder_is_one_line_naming_it(option):
    # a folder every user may enter: the child that reads it runs as nobody
    base = Path(tempfile.mkdtemp(prefix="pointea-unreadable-"))
    try:
        base.chmod(0o777)
        reader, root, path = READERS[option](base)
        for folder in [root, *root.rglob("*")]:
            if folder.is_dir():
                folder.chmod(0o777)  # the cache may be written; only one folder is shut
        path.parent.chmod(0)
        code = _as_unprivileged(
            lambda: _one_line_error(option, reader, root, re.escape(path.parent.name))
        )
        assert code == 0, f"{option}: the unreadable {path.parent} was not one line naming it"
    finally:
        for folder in [base, *base.rglob("*")]:
            if folder.is_dir():
                folder.chmod(0o755)
        shutil.rmtree(base)


# --- split lists -----------------------------------------------------------------------------


def test_a_folder_split_file_naming_a_missing_file_is_named(tmp_path):
    reader, root, _ = _folder(tmp_path)
    _load(_module("folder", reader, root))  # writes splits.json
    splits = root / "splits.json"
    splits.write_text(splits.read_text().replace('"mug/mug_0.npy"', '"mug/gone.npy"', 1))
    _one_line_error("folder", reader, root, r"splits\.json.*gone\.npy")


def test_a_folder_split_file_naming_a_file_twice_is_named(tmp_path):
    reader, root, _ = _folder(tmp_path)
    _load(_module("folder", reader, root))
    splits = root / "splits.json"
    splits.write_text(
        splits.read_text().replace('"mug/mug_0.npy"', '"mug/mug_0.npy", "mug/mug_0.npy"', 1)
    )
    _one_line_error("folder", reader, root, r"splits\.json.*mug_0\.npy")


def test_a_folder_seg_label_outside_parts_json_is_named(tmp_path):
    reader, root, path = _folder_seg(tmp_path)
    (root / "parts.json").write_text(
        '{"chair": ["back", "seat", "leg"], "lamp": ["base", "shade"]}'
    )
    table = np.loadtxt(path) if path.suffix != ".npy" else np.load(path)
    table[0, -1] = 42
    if path.suffix == ".npy":
        np.save(path, table)
    else:
        np.savetxt(path, table, fmt="%.6f")
    _one_line_error("folder_seg", reader, root, rf"{path.name}.*42")


@pytest.mark.parametrize(
    "option, key, chosen",
    [
        ("modelnet40_normal", "classes", ["BED"]),
        ("shapenetpart_normal", "categories", ["airplane"]),
        ("scanobjectnn", "classes", ["bag", "bin"]),
        ("folder", "classes", ["vase", "mug"]),
        ("folder_seg", "categories", ["lamp"]),
    ],
)
def test_a_subset_of_every_option_loads_only_its_shapes(option, key, chosen, tmp_path):
    """data.classes / data.categories (which imply data.partial) reach every reader."""
    reader, root, _ = READERS[option](tmp_path)
    module = _module(option, reader, root, **{key: chosen})
    _load(module)
    names = [n.lower() for n in module.class_names]
    assert names == sorted(n.lower() for n in chosen) or names == [n.lower() for n in chosen]
    label = "category" if key == "categories" else "y"
    for arrays in module.arrays.values():
        assert set(arrays[label].tolist()) <= set(range(len(chosen)))


@pytest.mark.parametrize("how", [*DAMAGES, "processed garbage"])
def test_a_damaged_pyg_root_is_one_line_naming_raw_and_processed(how, tmp_path):
    """PyG's parsers name no file: the line names the raw/ folder PyG read and the processed/
    one it builds, and how to have it built again."""
    from pyg_layouts import write_modelnet_raw
    from torch_geometric.datasets import ModelNet
    from torch_geometric.transforms import SamplePoints

    from pointea.data import from_pyg

    root = tmp_path / "ModelNet10"
    write_modelnet_raw(root, train_per_class=2, test_per_class=1)
    pyg = functools.partial(ModelNet, pre_transform=SamplePoints(96))
    release = from_pyg(pyg, task="cls", stored_points=64)
    if how == "processed garbage":
        _load(_module("pyg", release, root))
        for path in (root / "processed").glob("*.pt"):
            path.write_bytes(b"garbage")
    else:
        _damage(sorted((root / "raw").rglob("*.off"))[0], how)
    message = _one_line_error("pyg", release, root, r"ModelNet\(root=.*failed: ")
    assert f"{root / 'raw'}: check those" in message and f"delete {root / 'processed'}" in message


@pytest.mark.parametrize(
    "data, override, match",
    [
        ("folder", "data.dataset.stored_points=0", r"data\.dataset\.stored_points must be"),
        ("folder_seg", "data.dataset.sampling=grid", r"data\.dataset\.sampling must be one of"),
        (
            "modelnet40_normal",
            "data.dataset.stored_points=-1",
            r"data\.dataset\.stored_points must",
        ),
        ("shapenetpart_normal", "data.dataset.sampling=grid", r"data\.dataset\.sampling must"),
        ("scanobjectnn", "data.dataset.variant=pb_t99", r"data\.dataset\.variant must be one"),
        ("pyg_modelnet", "data.dataset.stored_points=0", r"data\.dataset\.stored_points must"),
        ("pyg_shapenet", "data.dataset.sampling=grid", r"data\.dataset\.sampling must be one"),
    ],
)
def test_the_cli_ends_a_wrong_option_in_one_line(data, override, match, tmp_path, capsys):
    """As ``python train.py data=... <override>`` does: exit status 2 and one line on stderr."""
    from cli_helpers import compose_train

    from pointea.cli.run_config import exit_on_user_error
    from pointea.cli.train import run

    roots = {
        "folder": lambda: _folder(tmp_path)[1],
        "folder_seg": lambda: _folder_seg(tmp_path)[1],
        "modelnet40_normal": lambda: _modelnet40_normal(tmp_path)[1],
        "shapenetpart_normal": lambda: _shapenetpart_normal(tmp_path)[1],
        "scanobjectnn": lambda: _scanobjectnn(tmp_path)[1],
    }
    root = roots[data]() if data in roots else tmp_path / "pyg"
    seg = data in ("folder_seg", "shapenetpart_normal", "pyg_shapenet")
    overrides = [f"data={data}", f"data.root={root}", override, "trainer=cpu", "model.k=4",
                 f"model=pct_{'seg' if seg else 'cls'}_tiny", "data.num_points=32"]  # fmt: skip
    overrides += [] if seg else ["model.num_samples=[16,8]"]
    overrides += ["data.num_classes=2"] if data == "modelnet40_normal" else []
    cfg = compose_train(overrides, tmp_path / "run")
    with pytest.raises(SystemExit) as exit_:
        exit_on_user_error(lambda: run(cfg))
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(match, err[0]), err
    assert not (tmp_path / "run" / "checkpoints").exists()
