"""ModelNet40 from the original meshes, for when the HDF5 mirror is unavailable.

    python -m pointea.data.modelnet_meshes --meshes ModelNet40/ --root datasets/modelnet40

Reads the raw release ``ModelNet40/<class>/{train,test}/*.off`` with torch-geometric's OFF
reader, samples ``num_points`` points on each surface (area-weighted, torch-geometric's
``SamplePoints``), centres and scales each cloud into the unit sphere as the HDF5 release
does, and writes ``modelnet40_ply_hdf5_2048/`` in the official layout (classes in sorted
folder order, which is the official ``shape_names.txt`` order).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from pointea.data.errors import DatasetError
from pointea.data.modelnet40 import ModelNet40H5
from pointea.data.owned_temporaries import make_owned_temporary, remove_dead_temporaries
from pointea.data.release_writer import write_modelnet40_layout

__all__ = ["convert_modelnet_meshes", "sample_mesh"]


def sample_mesh(path: Path, num_points: int) -> np.ndarray:
    """Surface samples of one OFF mesh, centred and scaled into the unit sphere: (P, 3)."""
    from torch_geometric.io import read_off
    from torch_geometric.transforms import SamplePoints

    try:
        mesh = read_off(str(path))
    except Exception as err:  # noqa: BLE001 - the parser raises many kinds; name the file
        raise DatasetError(
            f"{path}: not a readable OFF mesh ({type(err).__name__}: {err})"
        ) from err
    if mesh.face is None or mesh.face.numel() == 0:
        raise DatasetError(f"{path}: the mesh has no faces to sample")
    pts = SamplePoints(num_points)(mesh).pos.double()
    pts = pts - pts.mean(dim=0)
    radius = pts.norm(dim=1).max()
    if not torch.isfinite(radius) or radius == 0:
        raise DatasetError(f"{path}: the mesh has zero area or non-finite vertices")
    return (pts / radius).float().numpy()


def convert_modelnet_meshes(
    meshes: str | Path, root: str | Path, *, num_points: int = 2048, seed: int = 0
) -> Path:
    """Write ``root/modelnet40_ply_hdf5_2048`` from the raw meshes; returns that folder."""
    meshes, root = Path(meshes).expanduser(), Path(root).expanduser()
    classes = sorted(p.name for p in meshes.iterdir() if p.is_dir()) if meshes.is_dir() else []
    if not classes:
        raise DatasetError(
            f"{meshes}: expected one folder per class holding train/ and test/ OFF meshes"
        )
    target = root / ModelNet40H5.folder
    if target.exists():
        raise DatasetError(f"{target} already exists; remove it first to rebuild it from meshes")
    torch.manual_seed(seed)
    splits = {}
    for split in ("train", "test"):
        points, labels = [], []
        for label, name in enumerate(classes):
            for path in sorted((meshes / name / split).glob("*.off")):
                points.append(sample_mesh(path, num_points))
                labels.append(label)
        if not points:
            raise DatasetError(f"{meshes}: no {split} meshes found (<class>/{split}/*.off)")
        splits[split] = (np.stack(points), np.array(labels))
    root.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(root)
    staging = make_owned_temporary(root, target.name, "meshes")
    try:
        write_modelnet40_layout(staging / target.name, splits, classes)
        (staging / target.name).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pointea.data.modelnet_meshes", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--meshes", required=True, type=Path, help="the raw ModelNet40/ folder")
    parser.add_argument(
        "--root", required=True, type=Path, help="folder that will hold the release"
    )
    parser.add_argument("--num-points", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        folder = convert_modelnet_meshes(
            args.meshes, args.root, num_points=args.num_points, seed=args.seed
        )
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"ModelNet40 written to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
