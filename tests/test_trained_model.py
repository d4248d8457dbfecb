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
