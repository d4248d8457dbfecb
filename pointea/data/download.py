"""Verified, safe installation of the official HDF5 releases.

    python -m pointea.data.download {modelnet40,shapenetpart} --root DIR [--url URL ...] [--archive ZIP]

The archive is fetched with pooch (streaming, progress bar, TLS verified) from each mirror
in turn, or taken from ``--archive`` when it was downloaded by hand. It is extracted into
a staging folder inside ``--root`` after every member has been checked (no absolute
paths, no ``..``, no links); the release is verified there (ModelNet40: the published md5
of every shard; both: the file set, array shapes and shape counts) and only then moved
into place. Any failure leaves ``--root`` as it was.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import stat
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pointea.data.errors import DatasetError
from pointea.data.modelnet40 import ModelNet40H5
from pointea.data.shapenet_part import ShapeNetPartH5

__all__ = ["RELEASES", "ReleaseSpec", "fetch", "install_archive", "safe_extract", "verify_release"]


@dataclass(frozen=True)
class ReleaseSpec:
    """What a release is and how to recognise a good copy of it."""

    dataset: type  # the reader that checks it; its ``folder`` is what the zip extracts to
    archive: str  # file name of the zip
    urls: tuple[str, ...]  # mirrors, tried in order
    counts: Mapping[str, int]  # shapes per split
    points: int = 2048  # points stored per shape
    md5: Mapping[str, str] = field(default_factory=dict)  # file name -> md5 hex digest

    @property
    def folder(self) -> str:
        return self.dataset.folder


# Keyed by the dataset classes' ``release`` names.
RELEASES: dict[str, ReleaseSpec] = {
    ModelNet40H5.release: ReleaseSpec(
        dataset=ModelNet40H5,
        archive="modelnet40_ply_hdf5_2048.zip",
        urls=("https://shapenet.cs.stanford.edu/media/modelnet40_ply_hdf5_2048.zip",),
        counts={"train": 9840, "test": 2468},
        md5={
            "ply_data_train0.h5": "3176385ffc31a7b6b5af22191fd920d1",
            "ply_data_train1.h5": "e3f613fb500559403b34925112754dc4",
            "ply_data_train2.h5": "0c56e233a090ff87c3049d4ce08e7d8b",
            "ply_data_train3.h5": "9d2af465adfa33a3285c369f3ca66c45",
            "ply_data_train4.h5": "dff38de489b2c41bfaeded86c2208984",
            "ply_data_test0.h5": "e9732e6d83b09e79e9a7617df058adee",
            "ply_data_test1.h5": "aba4b12a67c34391cc3c015a6f08ed4b",
        },
    ),
    ShapeNetPartH5.release: ReleaseSpec(
        dataset=ShapeNetPartH5,
        archive="shapenet_part_seg_hdf5_data.zip",
        urls=("https://shapenet.cs.stanford.edu/media/shapenet_part_seg_hdf5_data.zip",),
        counts={"train": 12137, "val": 1870, "test": 2874},
    ),
}


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a zip after checking every member; refuse the whole archive otherwise."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = info.filename
                parts = PurePosixPath(name.replace("\\", "/")).parts
                if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts:
                    raise DatasetError(
                        f"{archive}: member {name!r} would be written outside the target folder; refusing the archive"
                    )
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise DatasetError(
                        f"{archive}: member {name!r} is a link; refusing the archive"
                    )
            bad = zf.testzip()
            if bad is not None:
                raise DatasetError(f"{archive}: member {bad!r} is corrupt (CRC mismatch)")
            for info in zf.infolist():
                try:
                    zf.extract(info, dest)
                except OSError as err:  # a full disk, a quota, no permission: say where
                    raise DatasetError(
                        f"{archive}: extracting {info.filename} into {dest.parent} failed: "
                        f"{err.strerror or err}"
                    ) from err
    except (zipfile.BadZipFile, EOFError) as err:
        raise DatasetError(
            f"{archive} is not a complete zip archive ({err}); it may be truncated"
        ) from err


def verify_release(folder: Path, spec: ReleaseSpec) -> None:
    """Check md5 sums, then read every split with the real reader: counts and point counts."""
    for name, expected in spec.md5.items():
        path = folder / name
        if not path.is_file():
            raise DatasetError(f"{folder}: {name} is missing from the archive")
        got = _md5(path)
        if got != expected:
            raise DatasetError(
                f"{path}: md5 {got} does not match the published {expected}; the file is damaged or not the official release"
            )
    for split, count in spec.counts.items():
        dataset = spec.dataset(folder, split, num_points=1)
        if len(dataset) != count:
            raise DatasetError(
                f"{folder}: split {split!r} holds {len(dataset)} shapes, expected {count}"
            )
        if dataset.points.shape[1] != spec.points:
            raise DatasetError(
                f"{folder}: split {split!r} stores {dataset.points.shape[1]} points per shape, "
                f"expected {spec.points}"
            )


def install_archive(
    archive: Path, root: Path, spec: ReleaseSpec, source: str | None = None
) -> Path:
    """Extract and verify ``archive`` in a staging folder inside ``root``, then move it into place.

    Errors name the archive as ``source`` (a download's URL: its local copy is deleted) and
    the files inside it by their path in the archive, never the deleted staging copies.
    """
    target = root / spec.folder
    if target.exists():
        raise DatasetError(f"{target} already exists; remove it first to reinstall")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.folder}-staging-", dir=root))
    try:
        safe_extract(archive, staging)
        found = [p for p in staging.rglob(spec.folder) if p.is_dir()]
        if not found:
            raise DatasetError(f"{archive} holds no {spec.folder}/ folder")
        try:
            verify_release(found[0], spec)
        except DatasetError as err:
            raise DatasetError(
                f"{archive}: " + str(err).replace(str(found[0]), spec.folder)
            ) from None
        found[0].rename(target)
    except DatasetError as err:
        raise DatasetError(str(err).replace(str(archive), source or str(archive))) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def fetch(
    name: str | ReleaseSpec,
    root: str | Path,
    *,
    urls: Sequence[str] | None = None,
    archive: str | Path | None = None,
) -> Path:
    """Install a release into ``root``: from ``archive`` if given, else from the mirrors.

    Returns:
        the verified release folder ``root/<spec.folder>``
    """
    spec = RELEASES[name] if isinstance(name, str) else name
    root = Path(root).expanduser()
    target = root / spec.folder
    if target.exists():
        verify_release(target, spec)
        return target
    if archive is not None:
        archive = Path(archive).expanduser()
        if not archive.is_file():
            raise DatasetError(f"archive {archive} does not exist")
        return install_archive(archive, root, spec)
    import pooch

    root.mkdir(parents=True, exist_ok=True)
    downloads = Path(tempfile.mkdtemp(prefix=f".{spec.folder}-download-", dir=root))
    errors = []
    try:
        for url in urls or spec.urls:
            try:
                path = pooch.retrieve(
                    url,
                    known_hash=None,
                    fname=spec.archive,
                    path=downloads,
                    progressbar=sys.stderr.isatty(),
                    downloader=pooch.HTTPDownloader(progressbar=sys.stderr.isatty(), timeout=60),
                )
            except Exception as err:  # noqa: BLE001 - any failure means: try the next mirror
                errors.append(f"  {url}: {type(err).__name__}: {err}")
                continue
            try:
                return install_archive(Path(path), root, spec, source=url)
            except DatasetError as err:  # names the url
                errors.append(f"  {err}")
        raise DatasetError(
            f"could not install {spec.archive} into {root}:\n"
            + "\n".join(errors)
            + "\nDownload it by hand and pass --archive PATH, or give a working mirror with --url."
        )
    finally:
        shutil.rmtree(downloads, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pointea.data.download", description=__doc__.splitlines()[0]
    )
    parser.add_argument("dataset", choices=sorted(RELEASES))
    parser.add_argument(
        "--root", required=True, type=Path, help="folder that will hold the release"
    )
    parser.add_argument(
        "--url", action="append", dest="urls", help="mirror URL (repeatable; tried in order)"
    )
    parser.add_argument("--archive", type=Path, help="install from a zip downloaded by hand")
    args = parser.parse_args(argv)
    from pointea.error_boundary import exit_code  # the CLIs' one error boundary

    def download() -> None:
        folder = fetch(args.dataset, args.root, urls=args.urls, archive=args.archive)
        print(f"{args.dataset} is ready in {folder}")

    # A full disk or no permission to create --root is reported at --root when the
    # error names no file.
    return exit_code(download, where=args.root)


if __name__ == "__main__":
    sys.exit(main())
