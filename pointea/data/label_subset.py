"""Training and testing on some classes or categories of a release."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from pointea.data.errors import DatasetError
from pointea.data.release_tables import ReleaseTables

__all__ = ["LabelSubset"]


@dataclass(frozen=True)
class LabelSubset:
    """Some of a release's shape-level labels, presented as a smaller release.

    The kept classes (or categories) are numbered 0..k-1 in the release's order. For part
    segmentation the kept categories' global part ids are numbered 0..p-1 in the release's
    id order, so each category keeps its parts in their order (part names still apply) and
    the network, the metrics and the checkpoint see a release of k categories and p parts.

    Attributes:
        tables: the subset's tables (names, part lists and counts as a release defines them).
        keep: the release's label index of each kept class or category, in subset order.
        part_ids: per global part id of the release, its id in the subset (-1: dropped);
            empty for classification.

    Shapes:
        apply(arrays, key): arrays of S shapes -> the same keys, S' kept shapes
    """

    tables: ReleaseTables
    keep: tuple[int, ...]
    part_ids: tuple[int, ...] = ()

    @classmethod
    def select(cls, tables: ReleaseTables, names: Sequence[str], option: str) -> LabelSubset:
        """The subset of ``tables`` named by ``names`` (matched case-insensitively).

        Args:
            option: the config key that gave the names (``data.classes``), for messages.

        Raises:
            DatasetError: a name the release does not define (the message lists the known
                ones), a name given twice, or no name.
        """
        known = list(tables.class_names)
        what = "categories" if tables.category_parts else "classes"
        if not names:
            raise DatasetError(f"{option}=[] names no {what}; leave it out to use them all")
        index = {name.lower(): i for i, name in enumerate(known)}
        wanted = [str(name) for name in names]
        unknown = [name for name in wanted if name.lower() not in index]
        if unknown:
            raise DatasetError(
                f"{option}: unknown {what} {unknown}; the release's {what}: {', '.join(known)}"
            )
        lowered = [name.lower() for name in wanted]
        twice = sorted({name for name in wanted if lowered.count(name.lower()) > 1})
        if twice:
            raise DatasetError(f"{option} names {twice} more than once")
        keep = tuple(sorted(index[name] for name in lowered))
        names_kept = [known[i] for i in keep]
        source = f"{option}={names_kept}"
        if not tables.category_parts:
            counts = {"num_classes": (len(keep), source)}
            return cls(ReleaseTables(names_kept, len(keep), counts=counts), keep)
        old_parts = sorted(p for i in keep for p in tables.category_parts[i])
        part_ids = [-1] * tables.num_labels
        for new, old in enumerate(old_parts):
            part_ids[old] = new
        category_parts = [[part_ids[p] for p in tables.category_parts[i]] for i in keep]
        counts = {
            "num_parts": (len(old_parts), source),
            "num_categories": (len(keep), source),
        }
        subset_tables = ReleaseTables(names_kept, len(old_parts), category_parts, counts)
        return cls(subset_tables, keep, tuple(part_ids))

    def apply(self, arrays: dict[str, torch.Tensor], key: str) -> dict[str, torch.Tensor]:
        """The shapes whose ``arrays[key]`` (the shape-level label) is kept, relabelled.

        Args:
            key: the per-shape label array (the release's ``stratify_by``).
        """
        labels = arrays[key]
        size = max(int(labels.max()) + 1 if len(labels) else 0, max(self.keep) + 1)
        new_label = torch.full((size,), -1, dtype=torch.int64)
        new_label[list(self.keep)] = torch.arange(len(self.keep))
        mapped = new_label[labels]  # (S,)
        rows = (mapped >= 0).nonzero().flatten()
        out = {k: v[rows] for k, v in arrays.items()}
        out[key] = mapped[rows]
        if self.part_ids and "y" in out and key != "y":
            out["y"] = torch.tensor(self.part_ids, dtype=torch.int64)[out["y"]]
        return out
