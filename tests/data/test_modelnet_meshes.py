import numpy as np
import pytest

from pointea.data import DatasetError, ModelNet40H5
from pointea.data.modelnet_meshes import convert_modelnet_meshes

CUBE = """OFF
8 12 0
-1 -1 -1
1 -1 -1
1 1 -1
-1 1 -1
-1 -1 1
1 -1 1
1 1 1
-1 1 1
3 0 1 2
3 0 2 3
3 4 6 5
3 4 7 6
3 0 4 5
3 0 5 1
3 1 5 6
3 1 6 2
3 2 6 7
3 2 7 3
3 3 7 4
3 3 4 0
"""
# A flat square in z = 0 (the header glued to OFF, as in some ModelNet files).
SQUARE = """OFF4 2 0
0 0 0
2 0 0
2 2 0
0 2 0
3 0 1 2
3 0 2 3
"""


def write_meshes(root):
    for cls, text in (("box", CUBE), ("square", SQUARE)):
        for split, count in (("train", 2), ("test", 1)):
            folder = root / cls / split
            folder.mkdir(parents=True)
            for i in range(count):
                (folder / f"{cls}_{i:04d}.off").write_text(text)


def test_meshes_become_a_readable_release_with_points_on_the_surfaces(tmp_path):
    write_meshes(tmp_path / "ModelNet40")
    convert_modelnet_meshes(tmp_path / "ModelNet40", tmp_path / "out", num_points=256)
    train = ModelNet40H5(tmp_path / "out", "train", num_points=256)
    assert train.class_names == ["box", "square"] and train.labels.tolist() == [0, 0, 1, 1]
    assert len(ModelNet40H5(tmp_path / "out", "test", num_points=256)) == 2
    cube = train.points[0].numpy()
    # Whatever the shift and scale, every sample of a cube lies on a bounding-box plane.
    on_plane = np.isclose(cube, cube.min(0), atol=1e-5) | np.isclose(cube, cube.max(0), atol=1e-5)
    assert on_plane.any(axis=1).all()
    square = train.points[2].numpy()
    np.testing.assert_allclose(square[:, 2], 0.0, atol=1e-6)  # the square stays flat
    np.testing.assert_allclose(np.linalg.norm(square, axis=1).max(), 1.0, atol=1e-5)


def test_bad_mesh_is_named(tmp_path):
    write_meshes(tmp_path / "ModelNet40")
    bad = tmp_path / "ModelNet40" / "box" / "train" / "box_0000.off"
    bad.write_text("OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n")
    with pytest.raises(DatasetError, match="box_0000.off: the mesh has no faces"):
        convert_modelnet_meshes(tmp_path / "ModelNet40", tmp_path / "out", num_points=64)
    assert not (tmp_path / "out" / "modelnet40_ply_hdf5_2048").exists()
