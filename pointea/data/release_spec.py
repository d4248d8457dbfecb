"""What a downloadable release is and how to recognise a good copy of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["ReleaseSpec"]


@dataclass(frozen=True)
class ReleaseSpec:
    """A release's download facts, held by its dataset class as ``download``.

    Attributes:
        archive: the zip's file name; it extracts to the dataset class's ``folder``.
        urls: mirrors, tried in order. Empty when the release has no public URL: the user
            installs a zip obtained otherwise with ``--archive``.
        counts: shapes per split of the official release (a split name the dataset accepts).
            A downloaded or installed copy must hold exactly these.
        points: points stored per shape.
        md5: published md5 hex digests by file name inside the release folder.
    """

    archive: str
    urls: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    points: int = 2048
    md5: Mapping[str, str] = field(default_factory=dict)
