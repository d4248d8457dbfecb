"""Finding shapes that a release holds in two of its splits (a copied shard)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from pointea.data.errors import DatasetError

__all__ = ["FINGERPRINT_POINTS", "check_no_shared_shapes"]

FINGERPRINT_POINTS = 8  # the first points of a shape, compared before the whole shape is


def _owners(sources: Sequence[tuple[Path, int]]) -> np.ndarray:
    """(S,) the index into ``sources`` of the file each row came from."""
    return np.repeat(np.arange(len(sources)), [count for _, count in sources])


def _fingerprints(pos: np.ndarray) -> list[bytes]:
    head = np.ascontiguousarray(pos[:, :FINGERPRINT_POINTS])  # (S, F, 3)
    return [row.tobytes() for row in head]


def check_no_shared_shapes(
    splits: Mapping[str, tuple[torch.Tensor, Sequence[tuple[Path, int]]]],
) -> list[str]:
    """Refuse a release whose later splits repeat the shapes of earlier ones.

    Each split is given as its points and its ``sources`` (the file each block of rows
    came from, in order), in the order train, val, test. A shape of a later split that is
    byte for byte a shape of an earlier split is shared. A file of which at least half the
    shapes are shared (a copied shard, one shard under two names) is refused; fewer shared
    shapes are returned as one line of warning per pair of files.

    Shapes:
        splits[name] = (pos (S, P, 3), sources) -> warnings

    Raises:
        DatasetError: naming both files and the count.
    """
    names = list(splits)
    warnings = []
    for later_index, later in enumerate(names):
        pos_b, sources_b = splits[later]
        pos_b = pos_b.numpy()
        owners_b = _owners(sources_b)
        for earlier in names[:later_index]:
            pos_a, sources_a = splits[earlier]
            pos_a = pos_a.numpy()
            owners_a = _owners(sources_a)
            first_row: dict[bytes, list[int]] = {}
            for row, key in enumerate(_fingerprints(pos_a)):
                first_row.setdefault(key, []).append(row)
            shared: dict[tuple[int, int], int] = {}  # (file a, file b) -> shared shapes
            for row_b, key in enumerate(_fingerprints(pos_b)):
                for row_a in first_row.get(key, ()):
                    if np.array_equal(pos_a[row_a], pos_b[row_b]):
                        pair = (int(owners_a[row_a]), int(owners_b[row_b]))
                        shared[pair] = shared.get(pair, 0) + 1
                        break
            for (file_a, file_b), count in sorted(shared.items()):
                path_a, _ = sources_a[file_a]
                path_b, size_b = sources_b[file_b]
                line = (
                    f"{count} of the {size_b} {later} shapes of {path_b} are {earlier} shapes "
                    f"of {path_a}"
                )
                if 2 * count >= size_b:
                    raise DatasetError(
                        f"{line}: a {later} shape must not be a {earlier} shape (a copied "
                        f"shard, or one shard under two names?)"
                    )
                warnings.append(line)
    return warnings
