"""TrainedModel.predict against a written-out pipeline: normalise, resample, run, carry back."""

import numpy as np
import pytest
import torch
from tiny_networks import TINY_ATTENTION

import pointea
from pointea.data.user_clouds import resample_cloud
from pointea.models import PointTransformerCls, PointTransformerSeg
from pointea.trained_model import TrainedClassifier, TrainedModel, TrainedSegmenter

TINY = {
    "embed_channels": 8,
    "k": 8,
    "attention": TINY_ATTENTION["external"],
    "fuse_channels": 16,
    "head_channels": (16, 8),
}
CATEGORY_PARTS = [[0, 1], [2, 3, 4]]
RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    net = PointTransformerCls(3, stage_channels=(16, 16), num_samples=(32, 16), **TINY)
    meta = {"task": "cls", "num_points": 48, "num_classes": 3, "class_names": ["a", "b", "c"]}
    return TrainedClassifier(net, meta)


@pytest.fixture(scope="module")
def segmenter():
    torch.manual_seed(0)
    net = PointTransformerSeg(
        num_parts=5, num_categories=2, channels=16, category_channels=8, **TINY
    )
    meta = {"task": "seg", "num_points": 48, "num_parts": 5, "categories": ["Mug", "Lamp"],
            "category_parts": CATEGORY_PARTS}  # fmt: skip
    return TrainedSegmenter(net, meta)


def written_out(cloud, num_points, seed=0):
    """Centre, scale into the unit sphere, resample: float64 numpy, by hand."""
    centred = cloud - cloud.mean(0)
    unit = centred / np.sqrt((centred**2).sum(1)).max()
    return unit, unit[resample_cloud(unit.astype(np.float32), num_points, seed)]


def test_classifier_probabilities_in_the_users_units(classifier):
    rng = np.random.default_rng(0)
    cloud = rng.normal(size=(100, 3)) * 50 + 7  # other units and placement than training
    result = classifier.predict(cloud)
    _, sampled = written_out(cloud, 48)
    with torch.no_grad():
        expected = classifier.network(torch.tensor(sampled[None], dtype=torch.float32))
    expected = expected.softmax(-1)[0].numpy()
    np.testing.assert_allclose(result["probabilities"], expected, atol=1e-5)
    assert result["classes"] == "abc"[int(expected.argmax())]
    assert result["class_names"] == ["a", "b", "c"]
    # A batch as a tensor: each cloud as if alone (a smaller cloud is padded with repeats).
    batch = torch.from_numpy(np.stack([cloud[:40], cloud[40:80] * 0.01]))
    together = classifier.predict(batch)
    alone = [classifier.predict(c.numpy())["probabilities"] for c in batch]
    np.testing.assert_allclose(together["probabilities"], np.stack(alone), atol=1e-5)
    assert len(together["classes"]) == 2


def test_segmenter_labels_every_point_by_its_nearest_resampled_point(segmenter):
    rng = np.random.default_rng(1)
    cloud = rng.uniform(-3, 3, size=(90, 3))
    result = segmenter.predict(cloud, category="lamp")
    unit, sampled = written_out(cloud, 48)
    with torch.no_grad():
        logits = segmenter.network(
            torch.tensor(sampled[None], dtype=torch.float32), torch.tensor([1])
        )
    allowed = CATEGORY_PARTS[1]
    sampled_parts = [allowed[int(np.argmax(row[allowed]))] for row in logits[0].numpy()]
    expected = []
    for point in unit:  # naive nearest neighbour
        expected.append(sampled_parts[int(np.argmin(((sampled - point) ** 2).sum(1)))])
    assert result["parts"].shape == (90,) and result["categories"] == "Lamp"
    assert result["parts"].tolist() == expected
    per_cloud = segmenter.predict(np.stack([cloud, cloud[::-1]]), category=[1, "Mug"])
    assert per_cloud["categories"] == ["Lamp", "Mug"]
    assert per_cloud["parts"][0].tolist() == expected and set(per_cloud["parts"][1]) <= {0, 1}


@pytest.mark.parametrize(
    ("which", "points", "kwargs", "message"),
    [
        (
            "cls",
            np.zeros((5, 2)),
            {},
            r"points must be \(N, 3\) or \(B, N, 3\) \(x y z\), or \(N, 6\) or \(B, N, 6\) .*, got shape "
            r"\(5, 2\)",
        ),
        ("cls", np.full((60, 3), np.nan), {}, "finite"),
        ("cls", np.zeros((60, 3), complex), {}, "real numbers .*, got complex128"),
        ("cls", np.zeros((60, 3), bool), {}, "real numbers .*, got bool"),
        ("cls", np.zeros((0, 3)), {}, r"empty clouds \(shape \(0, 3\)\): expected N >= 1"),
        (
            "cls",
            np.zeros((0, 60, 3)),
            {},
            r"a batch of zero clouds: expected \(B, N, 3\) with B >= 1",
        ),
        (
            "cls",
            [np.zeros((60, 3)), np.zeros((50, 3))],
            {},
            "clouds of one size; for clouds of different sizes",
        ),
        (
            "seg",
            RNG.random((60, 3)),
            {"category": 1.0},
            r"category must be a name or an integer index, got 1\.0",
        ),
        (
            "seg",
            RNG.random((60, 3)),
            {"category": True},
            "category must be a name or an integer index",
        ),
        ("cls", RNG.random((60, 3)), {"category": "a"}, "category= is for part segmenters"),
        ("cls", RNG.random((20, 3)), {}, "20 points, fewer than the 32 the model needs"),
        ("seg", RNG.random((60, 3)), {}, "needs category= \\(one of Mug, Lamp\\)"),
        ("seg", RNG.random((60, 3)), {"category": "chair"}, "unknown category 'chair'"),
        ("seg", RNG.random((2, 60, 3)), {"category": ["Mug"]}, "1 categories given for 2 clouds"),
    ],
)
def test_bad_input_is_refused_with_its_reason(
    classifier, segmenter, which, points, kwargs, message
):
    model = classifier if which == "cls" else segmenter
    with pytest.raises(ValueError, match=message):
        model.predict(points, **kwargs)


def test_package_facts():
    from importlib.metadata import version

    assert pointea.__version__ == version("pointea")  # the installed metadata: one source
    assert pointea.TrainedModel is TrainedModel and callable(pointea.load_model)


def test_each_kind_checks_its_metadata(classifier, segmenter):
    assert repr(classifier) == "TrainedModel(classifier, 3 classes, num_points=48)"
    assert repr(segmenter) == "TrainedModel(part segmenter, 2 categories, num_points=48)"
    assert classifier.categories is None and segmenter.categories == ["Mug", "Lamp"]
    with pytest.raises(TypeError, match="TrainedModel is abstract"):
        TrainedModel(classifier.network, classifier.metadata)
    seg = segmenter.metadata
    bad = [
        (
            {**seg, "category_parts": [[0, 1], [2, 9]]},
            r"category_parts\[1\]=\[2, 9\]; expected .* in \[0, 5\)",
        ),
        ({**seg, "category_parts": [[0, 1], [1, 2]]}, "part 1 belongs to two categories"),
        ({**seg, "categories": ["Mug"]}, "1 categories for 2; expected 2"),
        ({**seg, "num_parts": 0}, r"num_parts=0; expected an integer >= 1"),
        ({**seg, "num_points": -3}, r"num_points=-3; expected an integer >= 1"),
        ({k: v for k, v in seg.items() if k != "category_parts"}, "category_parts must be"),
    ]
    for meta, message in bad:
        with pytest.raises(ValueError, match=message):
            TrainedSegmenter(segmenter.network, meta)
    with pytest.raises(ValueError, match="class_names must be a list of names"):
        TrainedClassifier(classifier.network, {**classifier.metadata, "class_names": [1, 2, 3]})


# --- normals ------------------------------------------------------------------------------


def fibonacci_sphere(count, radius, centre):
    """Points spread evenly on a sphere, and their outward unit normals (radial)."""
    i = np.arange(count) + 0.5
    polar, azimuth = np.arccos(1 - 2 * i / count), np.pi * (1 + 5**0.5) * i
    radial = np.stack(
        [np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], 1
    )
    return centre + radius * radial, radial


@pytest.fixture(scope="module")
def normals_classifier():
    torch.manual_seed(1)
    net = PointTransformerCls(
        3, in_channels=6, stage_channels=(16, 16), num_samples=(32, 16), **TINY
    )
    meta = {"task": "cls", "num_points": 48, "num_classes": 3, "class_names": ["a", "b", "c"]}
    return TrainedClassifier(net, meta)


@pytest.fixture(scope="module")
def normals_segmenter():
    torch.manual_seed(2)
    net = PointTransformerSeg(
        num_parts=5, num_categories=2, channels=16, category_channels=8, in_channels=6, **TINY
    )
    meta = {"task": "seg", "num_points": 48, "num_parts": 5, "categories": ["Mug", "Lamp"],
            "category_parts": CATEGORY_PARTS}  # fmt: skip
    return TrainedSegmenter(net, meta)


def test_estimated_normals_are_a_spheres_radii_and_a_planes_axis():
    from pointea.vis.normals import estimate_normals

    points, radial = fibonacci_sphere(400, 5.0, np.array([7.0, -2.0, 3.0]))
    normals = estimate_normals(points)
    assert normals.shape == (400, 3) and normals.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-5)
    assert ((normals * radial).sum(1) > 0.99).all()  # outward, along the radius
    grid = np.stack(np.meshgrid(np.arange(20.0), np.arange(15.0), [4.0]), -1).reshape(-1, 3)
    assert (np.abs(estimate_normals(grid)[:, 2]) > 0.999).all()  # +-z: a plane has no outside


def test_a_normals_network_gets_the_given_normals_with_their_points(normals_classifier):
    rng = np.random.default_rng(3)
    cloud = rng.normal(size=(100, 3)) * 20 - 4
    normals = rng.normal(size=(100, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    result = normals_classifier.predict(np.hstack([cloud, normals * 1.05]))  # near unit
    assert result["normals"] == "given"
    unit = (cloud - cloud.mean(0)) / np.linalg.norm(cloud - cloud.mean(0), axis=1).max()
    pick = resample_cloud(unit.astype(np.float32), 48, 0)  # the same points, normals alongside
    network_input = np.hstack([unit[pick], normals[pick]])[None]
    with torch.no_grad():
        expected = normals_classifier.network(torch.tensor(network_input, dtype=torch.float32))
    np.testing.assert_allclose(result["probabilities"], expected.softmax(-1)[0], atol=1e-5)
    batch = normals_classifier.predict(np.stack([np.hstack([cloud, normals])] * 2))
    np.testing.assert_allclose(batch["probabilities"][1], result["probabilities"], atol=1e-5)
    assert batch["normals"] == "given"


def test_a_normals_network_given_xyz_estimates_them_and_says_so(normals_classifier):
    points, radial = fibonacci_sphere(300, 0.2, np.array([1.0, 2.0, 3.0]))
    estimated = normals_classifier.predict(points)
    exact = normals_classifier.predict(np.hstack([points, radial]))
    assert estimated["normals"] == "estimated" and exact["normals"] == "given"
    np.testing.assert_allclose(estimated["probabilities"], exact["probabilities"], atol=2e-3)


def test_a_normals_segmenter_labels_points_by_their_coordinates(normals_segmenter):
    points, radial = fibonacci_sphere(90, 3.0, np.zeros(3))
    result = normals_segmenter.predict(np.hstack([points, radial]), category="Lamp")
    unit = points / 3.0
    pick = resample_cloud(unit.astype(np.float32), 48, 0)
    with torch.no_grad():
        logits = normals_segmenter.network(
            torch.tensor(np.hstack([unit[pick], radial[pick]])[None], dtype=torch.float32),
            torch.tensor([1]),
        )[0].numpy()
    allowed = CATEGORY_PARTS[1]
    sampled_parts = [allowed[int(np.argmax(row[allowed]))] for row in logits]
    nearest = [int(np.argmin(((unit[pick] - p) ** 2).sum(1))) for p in unit]
    assert result["parts"].tolist() == [sampled_parts[i] for i in nearest]
    assert result["normals"] == "given"


def test_an_xyz_network_ignores_given_normals(classifier):
    cloud = np.random.default_rng(4).normal(size=(80, 3))
    with_normals = classifier.predict(np.hstack([cloud, np.full((80, 3), 7.0)]))
    alone = classifier.predict(cloud)
    np.testing.assert_array_equal(with_normals["probabilities"], alone["probabilities"])
    assert with_normals["normals"] == alone["normals"] == "unused"


def test_columns_that_are_not_normals_are_refused(normals_classifier):
    cloud = np.random.default_rng(5).normal(size=(80, 3))
    colours = np.random.default_rng(5).integers(0, 255, size=(80, 3))
    with pytest.raises(ValueError, match=r"cloud 0: its normals \(columns 4-6\) have lengths .* "
                       r"expected unit vectors; give x y z only"):  # fmt: skip
        normals_classifier.predict(np.hstack([cloud, colours]))


# --- outputs that are not numbers, coordinates that are huge ----------------------------


def test_nan_outputs_are_refused_not_turned_into_labels(classifier, segmenter):
    import copy

    from pointea.prediction_error import PredictionError

    cloud = np.random.default_rng(6).normal(size=(60, 3))
    for model, kwargs in ((classifier, {}), (segmenter, {"category": "Mug"})):
        broken = copy.deepcopy(model)
        with torch.no_grad():
            for weight in broken.network.parameters():
                weight.fill_(float("nan"))
        with pytest.raises(
            PredictionError,
            match=r"^cloud 0, cloud 1: the network's outputs are NaN or infinite \(its weights hold",
        ):
            broken.predict(np.stack([cloud, cloud]), **kwargs)
        assert issubclass(PredictionError, ValueError)
    # Finite weights that overflow on an input are named as the input's fault.
    broken = copy.deepcopy(classifier)
    with torch.no_grad():  # finite weights, each layer 1e10 larger: float32 overflows
        for layer in broken.network.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.weight.mul_(1e10)
    with pytest.raises(ValueError, match="^cloud 0: .* NaN or infinite on this input"):
        broken.predict(cloud)


def test_huge_coordinates_are_normalised_without_overflow(classifier):
    cloud = np.random.default_rng(7).uniform(-1, 1, size=(70, 3))
    expected = classifier.predict(cloud)["probabilities"]
    near_float32_limit = cloud.astype(np.float32) * np.float32(3e38)  # its sum overflows
    beyond_float32 = cloud * 1e300
    for huge in (near_float32_limit, beyond_float32, cloud * 1.7e308):
        np.testing.assert_allclose(classifier.predict(huge)["probabilities"], expected, atol=1e-5)
