"""A release of one text file per shape, parsed once into the ingest cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from pointea.data.errors import DatasetError
from pointea.data.ingest_cache import cache_file, check_resampling, ingest
from pointea.data.point_cloud_release import PointCloudRelease

__all__ = ["IngestedRelease"]


class IngestedRelease(PointCloudRelease):
    """A :class:`~pointea.data.point_cloud_release.PointCloudRelease` whose shapes are
    text files, parsed once into an HDF5 cache (see
    :func:`~pointea.data.ingest_cache.ingest`) and resampled there to ``stored_points``
    rows each. The ingest options are the same for every such release.

    S shapes, P stored points (``stored_points``), N = ``num_points``.

    Args:
        root, split, num_points: as for every release.
        stored_points: points kept per shape at ingest (the class's default when ``None``).
        sampling: how a larger shape is cut to ``stored_points``: ``"random"`` (seeded)
            or ``"fps"`` (farthest point sampling).
        workers: threads parsing files at once on the first ingest.
        cache: keep the parsed arrays in a cache (``<folder>/.pointea_cache/``, or the
            user's cache folder when the release is read-only).

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, ...} as the subclass loads them
    """

    stored_points: ClassVar[int]

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        num_points: int = 1024,
        *,
        stored_points: int | None = None,
        sampling: str = "random",
        workers: int = 2,
        cache: bool = True,
        partial: bool = False,
    ) -> None:
        if stored_points is not None:
            self.stored_points = stored_points
        check_resampling(self.stored_points, sampling)
        self.sampling, self.workers, self.use_cache = sampling, workers, cache
        super().__init__(root, split, num_points, partial=partial)

    @staticmethod
    def require_files(folder: Path, files: list[Path], listed_in: Path) -> None:
        """Every shape file the split list ``listed_in`` names must exist (the first missing
        one named)."""
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise DatasetError(
                f"{listed_in} names {len(missing)} shape file(s) missing from {folder}, "
                f"first {missing[0]}"
            )

    def ingest_files(
        self,
        folder: Path,
        files: list[Path],
        parse: Callable[[Path], dict[str, np.ndarray]],
        cache_name: str,
        columns: str,
    ) -> dict[str, np.ndarray]:
        """``files`` parsed by ``parse`` (called from ``workers`` threads at once) and
        resampled with the ingest options, from the cache ``cache_name`` when current;
        ``columns`` names the file layout in the cache's version key.

        Shapes:
            -> each of ``parse``'s arrays stacked, (S, P, ...), and "size" (S,) int64
        """
        return ingest(
            files,
            parse,
            cache_file(folder, cache_name) if self.use_cache else None,
            num_points=self.stored_points,
            sampling=self.sampling,
            seed=0,
            version=f"{type(self).__name__}:{columns}",
            workers=self.workers,
        )
