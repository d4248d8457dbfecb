import numpy as np
import open3d as o3d
import pytest

from pointea.data import DatasetError
from pointea.vis.point_files import read_labeled_ply, read_points, write_labeled_ply


@pytest.fixture
def cloud():
    return np.random.default_rng(0).uniform(-1, 1, (200, 3))


def test_labeled_ply_round_trip(tmp_path, cloud):
    labels = np.arange(200) % 5
    colors = np.stack([labels * 40, 255 - labels * 40, np.full(200, 9)], axis=1).astype(np.uint8)
    points, read_colors, read_labels = read_labeled_ply(
        write_labeled_ply(tmp_path / "a.ply", cloud, colors, labels)
    )
    np.testing.assert_allclose(points, cloud, atol=1e-6)
    assert np.array_equal(read_colors, colors) and np.array_equal(read_labels, labels)


@pytest.mark.parametrize("suffix", [".ply", ".pcd", ".xyz", ".pts"])
def test_point_formats_through_open3d(tmp_path, cloud, suffix):
    path = tmp_path / f"c{suffix}"
    o3d.io.write_point_cloud(str(path), o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud)))
    np.testing.assert_allclose(read_points(path), cloud, atol=1e-5)


def test_text_and_numpy(tmp_path, cloud):
    with_normals = np.hstack([cloud, np.ones((200, 3))])
    np.savetxt(tmp_path / "c.txt", with_normals, delimiter=",")
    np.save(tmp_path / "c.npy", with_normals)
    np.testing.assert_allclose(read_points(tmp_path / "c.txt"), cloud)
    np.testing.assert_allclose(read_points(tmp_path / "c.npy"), cloud)


@pytest.mark.parametrize("suffix", [".off", ".obj", ".stl"])
def test_meshes_are_surface_sampled(tmp_path, suffix):
    mesh = o3d.geometry.TriangleMesh.create_box(2, 2, 2)
    mesh.compute_triangle_normals()
    path = tmp_path / f"box{suffix}"
    o3d.io.write_triangle_mesh(str(path), mesh)
    points = read_points(path, mesh_points=500)
    assert points.shape == (500, 3)
    on_face = np.isclose(points, 0, atol=1e-6) | np.isclose(points, 2, atol=1e-6)
    assert on_face.any(axis=1).all()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.foo", b"1 2 3", "unsupported format .foo"),
        ("a.xyz", b"", "the cloud is empty"),
        (
            "a.txt",
            b"1 2\n3 4\n",
            r"expected rows of at least 3 coordinates, got an array of shape \(2, 2\)",
        ),
        ("a.txt", b"1 2 3\nnan 0 0\n", r"1 point\(s\) have NaN or infinite coordinates"),
        ("a.npy", b"garbage", "could not be read as .npy"),
        ("a.off", b"OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n", "the mesh has no faces"),
    ],
)
def test_bad_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=f"{name}: .*{message}|{name}: {message}"):
        read_points(path)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        read_points(tmp_path / "nope.ply")


@pytest.fixture
def normals(cloud):
    return cloud / np.linalg.norm(cloud, axis=1, keepdims=True)


@pytest.mark.parametrize("suffix", [".ply", ".pcd"])
def test_normals_stored_by_open3d_formats_are_read(tmp_path, cloud, normals, suffix):
    from pointea.vis.point_files import read_cloud

    stored = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud))
    stored.normals = o3d.utility.Vector3dVector(normals)
    o3d.io.write_point_cloud(str(tmp_path / f"c{suffix}"), stored)
    points, read = read_cloud(tmp_path / f"c{suffix}")
    np.testing.assert_allclose(points, cloud, atol=1e-5)
    np.testing.assert_allclose(read, normals, atol=1e-5)
    o3d.io.write_point_cloud(
        str(tmp_path / f"bare{suffix}"), o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud))
    )
    assert read_cloud(tmp_path / f"bare{suffix}")[1] is None


@pytest.mark.parametrize("suffix", [".txt", ".xyz", ".pts", ".npy"])
@pytest.mark.parametrize("extra", [0, 1], ids=["xyz-normals", "xyz-normals-label"])
def test_columns_4_to_6_are_normals(tmp_path, cloud, normals, suffix, extra):
    from pointea.vis.point_files import read_cloud

    rows = np.hstack([cloud, normals] + ([np.arange(200)[:, None] % 3.0] if extra else []))
    path = tmp_path / f"c{suffix}"
    np.save(path, rows) if suffix == ".npy" else np.savetxt(path, rows)
    points, read = read_cloud(path)
    np.testing.assert_allclose(points, cloud, atol=1e-12)
    np.testing.assert_allclose(read, normals, atol=1e-12)
    np.save(path, cloud) if suffix == ".npy" else np.savetxt(path, cloud)
    points, read = read_cloud(path)
    np.testing.assert_allclose(points, cloud, atol=1e-12)  # every row, none taken as a count
    assert read is None


def test_mesh_samples_carry_their_faces_normals(tmp_path):
    from pointea.vis.point_files import read_cloud

    mesh = o3d.geometry.TriangleMesh.create_box(2, 2, 2)  # faces wound outward
    o3d.io.write_triangle_mesh(str(tmp_path / "box.off"), mesh)
    points, normals = read_cloud(tmp_path / "box.off", mesh_points=300)
    expected = np.zeros_like(points)  # by hand: the face a point lies on, its outward axis
    for axis in range(3):
        expected[np.isclose(points[:, axis], 0, atol=1e-9), axis] = -1
        expected[np.isclose(points[:, axis], 2, atol=1e-9), axis] = 1
    on_one_face = (expected != 0).sum(1) == 1  # edges belong to two faces: left out
    assert on_one_face.sum() > 250
    np.testing.assert_allclose(normals[on_one_face], expected[on_one_face], atol=1e-9)
