"""Verified, safe installation of a release whose dataset class has download facts.

    python -m pointea.data.download NAME --root DIR [--url URL ...] [--archive ZIP]
        [--stall-timeout SECONDS]

NAME is a data option (``pointea/configs/data/NAME.yaml``) whose dataset class holds a
:class:`~pointea.data.release_spec.ReleaseSpec` as ``download``. The archive is streamed
from each mirror in turn (TLS verified; a transfer that makes no progress for the stall
timeout is given up), or taken from ``--archive`` when it was obtained by hand. It is
extracted into a staging folder inside ``--root`` after every member has been checked (no
absolute paths, no ``..``, no links, no encryption); the release is verified there (the
published md5 of every file the spec lists, then every split read with the real reader:
shape counts and stored points) and only then moved into place. Any failure leaves
``--root`` as it was; temporaries of killed runs are removed on the next start.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import shutil
import stat
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import yaml

from pointea.configs import CONFIG_DIR
from pointea.data.errors import DatasetError
from pointea.data.owned_temporaries import make_owned_temporary, remove_dead_temporaries
from pointea.data.point_cloud_release import PointCloudRelease

__all__ = [
    "STALL_BYTES",
    "download_options",
    "fetch",
    "install_archive",
    "safe_extract",
    "stream_url",
    "verify_release",
]

# A transfer is stalled when fewer bytes than this arrive within the stall timeout: a
# mirror that trickles a byte at a time never trips a per-read timeout.
STALL_BYTES = 1024


def _dataset_class(option: Path) -> type | None:
    """The dataset class a data config names (``dataset._target_``), if it is a release."""
    try:
        config = yaml.safe_load(option.read_text(encoding="utf-8")) or {}
        target = config.get("dataset", {}).get("_target_")
        if not isinstance(target, str) or config.get("builtin"):
            return None
        module, _, name = target.rpartition(".")
        found = getattr(importlib.import_module(module), name)
    except Exception:  # noqa: BLE001 - an option that cannot be read installs nothing
        return None
    return found if isinstance(found, type) and issubclass(found, PointCloudRelease) else None


def download_options(config_dir: Path = CONFIG_DIR) -> dict[str, type[PointCloudRelease]]:
    """Data options whose release can be installed: option name -> dataset class.

    Every ``data/NAME.yaml`` whose ``dataset._target_`` is a release class holding a
    ``download`` spec, built-in data excepted.
    """
    options = {}
    for path in sorted((config_dir / "data").glob("*.yaml")):
        release = _dataset_class(path)
        if release is not None and release.download is not None:
            options[path.stem] = release
    return options


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
                if info.flag_bits & 0x1:
                    raise DatasetError(
                        f"{archive}: member {name!r} is encrypted (a password-protected zip); "
                        f"extract it by hand and give data.root=PATH"
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


def verify_release(folder: Path, release: type[PointCloudRelease]) -> None:
    """Check md5 sums, then read every split with the real reader: counts and point counts.

    The reader runs with ``partial=False``: an install must be the official release.
    """
    spec = release.download
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
        dataset = release(folder, split, num_points=1)
        if len(dataset) != count:
            raise DatasetError(
                f"{folder}: split {split!r} holds {len(dataset)} shapes, expected {count}"
            )
        stored = dataset.arrays()["pos"].shape[1]
        if stored != spec.points:
            raise DatasetError(
                f"{folder}: split {split!r} stores {stored} points per shape, "
                f"expected {spec.points}"
            )


def install_archive(
    archive: Path, root: Path, release: type[PointCloudRelease], source: str | None = None
) -> Path:
    """Extract and verify ``archive`` in a staging folder inside ``root``, then move it into place.

    Errors name the archive as ``source`` (a download's URL: its local copy is deleted) and
    the files inside it by their path in the archive, never the deleted staging copies.
    """
    target = root / release.folder
    if target.exists():
        raise DatasetError(f"{target} already exists; remove it first to reinstall")
    root.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(root)
    staging = make_owned_temporary(root, release.folder, "staging")
    try:
        safe_extract(archive, staging)
        found = [p for p in staging.rglob(release.folder) if p.is_dir()]
        if not found:
            raise DatasetError(f"{archive} holds no {release.folder}/ folder")
        try:
            verify_release(found[0], release)
        except DatasetError as err:
            raise DatasetError(
                f"{archive}: " + str(err).replace(str(found[0]), release.folder)
            ) from None
        found[0].rename(target)
    except DatasetError as err:
        raise DatasetError(str(err).replace(str(archive), source or str(archive))) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def stream_url(url: str, dest: Path, stall_timeout: float) -> None:
    """Write ``url``'s body to ``dest``; give up when fewer than :data:`STALL_BYTES` arrive
    within ``stall_timeout`` seconds (a silent or trickling mirror).

    Raises:
        DatasetError: the transfer stalled; the message names the URL.
        OSError: the connection failed (``urllib.error.URLError`` included).
    """
    show = sys.stderr.isatty()
    with urllib.request.urlopen(url, timeout=stall_timeout) as response, dest.open("wb") as out:
        total, window_start, window_bytes, shown = 0, time.monotonic(), 0, 0.0
        while True:
            try:
                chunk = response.read1(1 << 16)
            except TimeoutError:
                chunk, window_bytes = None, 0
            if chunk == b"":
                break
            if chunk:
                out.write(chunk)
                total += len(chunk)
                window_bytes += len(chunk)
            now = time.monotonic()
            if now - window_start >= stall_timeout or chunk is None:
                if window_bytes < STALL_BYTES:
                    raise DatasetError(
                        f"{url}: the transfer stalled (under {STALL_BYTES} bytes in "
                        f"{stall_timeout:g} s after {total} bytes); giving up"
                    )
                window_start, window_bytes = now, 0
            if show and now - shown >= 1:
                print(f"\r{url}: {total / 1e6:.1f} MB", end="", file=sys.stderr, flush=True)
                shown = now
        if show:
            print(file=sys.stderr)


def fetch(
    release: type[PointCloudRelease],
    root: str | Path,
    *,
    urls: Sequence[str] | None = None,
    archive: str | Path | None = None,
    stall_timeout: float = 60.0,
) -> Path:
    """Install ``release`` into ``root``: from ``archive`` if given, else from the mirrors.

    Returns:
        the verified release folder ``root/<release.folder>``

    Raises:
        DatasetError: the release has no download facts, no mirror and no archive, or
            nothing could be installed; the message says how to proceed.
    """
    spec = release.download
    if spec is None:
        raise DatasetError(f"no download for {release.__name__}: give data.root=PATH where it is")
    root = Path(root).expanduser()
    target = root / release.folder
    if target.exists():
        verify_release(target, release)
        return target
    if archive is not None:
        archive = Path(archive).expanduser()
        if not archive.is_file():
            raise DatasetError(f"archive {archive} does not exist")
        return install_archive(archive, root, release)
    mirrors = list(urls or spec.urls)
    if not mirrors:
        raise DatasetError(f"{root / release.folder} is not installed. {release.how_to_get(root)}")
    root.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(root)
    downloads = make_owned_temporary(root, release.folder, "download")
    errors = []
    try:
        for url in mirrors:
            path = downloads / spec.archive
            try:
                stream_url(url, path, stall_timeout)
            except DatasetError as err:  # stalled: names the url
                errors.append(f"  {err}")
                continue
            except (OSError, ValueError) as err:  # unreachable, HTTP error, bad URL
                errors.append(f"  {url}: {type(err).__name__}: {err}")
                continue
            try:
                return install_archive(path, root, release, source=url)
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
    options = download_options()
    parser = argparse.ArgumentParser(
        prog="python -m pointea.data.download", description=__doc__.splitlines()[0]
    )
    parser.add_argument("dataset", choices=sorted(options), help="the data option to install")
    parser.add_argument(
        "--root", required=True, type=Path, help="folder that will hold the release"
    )
    parser.add_argument(
        "--url", action="append", dest="urls", help="mirror URL (repeatable; tried in order)"
    )
    parser.add_argument("--archive", type=Path, help="install from a zip obtained by hand")
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=60.0,
        help=f"give a mirror up when under {STALL_BYTES} bytes arrive in this many seconds",
    )
    args = parser.parse_args(argv)
    if not args.stall_timeout > 0:
        parser.error(f"--stall-timeout must be positive, got {args.stall_timeout}")
    from pointea.error_boundary import exit_code  # the CLIs' one error boundary

    def download() -> None:
        folder = fetch(
            options[args.dataset],
            args.root,
            urls=args.urls,
            archive=args.archive,
            stall_timeout=args.stall_timeout,
        )
        print(f"{args.dataset} is ready in {folder}")

    # A full disk or no permission to create --root is reported at --root when the
    # error names no file.
    return exit_code(download, where=args.root)


if __name__ == "__main__":
    sys.exit(main())
