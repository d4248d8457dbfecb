import math

import pytest
import torch

from pointea.data.transforms import (
    Compose,
    FirstPoints,
    RandomAnisotropicScale,
    RandomJitter,
    RandomPointDropout,
    RandomRotate,
    RandomSubset,
    RandomTranslate,
    ShufflePoints,
)


def batch(b=4, n=50, per_point=True):
    torch.manual_seed(0)
    pos = torch.randn(b, n, 3)
    # Labels that identify each point, so reorderings can be checked exactly.
    y = torch.arange(n).expand(b, n).clone() if per_point else torch.arange(b)
    return {"pos": pos, "y": y}


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_scale_is_one_factor_per_axis_per_cloud_within_bounds():
    b = batch()
    out = RandomAnisotropicScale(2 / 3, 3 / 2)(b, gen())
    factor = out["pos"] / b["pos"]  # (B, N, 3)
    torch.testing.assert_close(factor, factor[:, :1].expand_as(factor))
    assert ((factor >= 2 / 3 - 1e-6) & (factor <= 1.5 + 1e-6)).all()
    assert not torch.allclose(factor[0, 0], factor[1, 0])


def test_translate_is_one_offset_per_cloud_within_bounds():
    b = batch()
    shift = RandomTranslate(0.2)(b, gen())["pos"] - b["pos"]
    torch.testing.assert_close(shift, shift[:, :1].expand_as(shift))
    assert shift.abs().max() <= 0.2


def test_jitter_is_clipped():
    b = batch()
    noise = RandomJitter(sigma=1.0, clip=0.05)(b, gen())["pos"] - b["pos"]
    assert noise.abs().max() <= 0.05 + 1e-6 and noise.abs().max() > 0.04


def test_rotation_about_up_keeps_height_and_radius():
    b = batch()
    out = RandomRotate("up", up_axis=1)(b, gen())["pos"]
    torch.testing.assert_close(out[..., 1], b["pos"][..., 1])
    torch.testing.assert_close(out[..., [0, 2]].norm(dim=-1), b["pos"][..., [0, 2]].norm(dim=-1))


def test_so3_rotations_are_proper_and_rigid():
    rot = RandomRotate("so3").matrices(64, torch.zeros(1), gen())
    torch.testing.assert_close(
        rot @ rot.transpose(1, 2), torch.eye(3).expand(64, 3, 3), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(64))
    # Uniform rotations move the x axis everywhere: its mean image is near the origin.
    assert rot[:, 0].mean(0).norm() < 0.35


def test_dropout_replaces_with_first_point_and_labels_follow():
    b = batch(b=8, n=400)
    out = RandomPointDropout(0.875)(b, gen())
    dropped = out["y"] != torch.arange(400)
    assert out["pos"].shape == b["pos"].shape
    torch.testing.assert_close(out["pos"][dropped], b["pos"][:, :1].expand_as(b["pos"])[dropped])
    assert (out["y"][dropped] == 0).all()
    fraction = dropped.float().mean(1)
    assert fraction.max() < 0.95 and fraction.std() > 0.05  # a different ratio per cloud


def test_shuffle_and_subset_are_permutations_with_labels_following():
    b = batch()
    for transform, size in ((ShufflePoints(), 50), (RandomSubset(20), 20)):
        out = transform(b, gen())
        assert out["pos"].shape == (4, size, 3)
        for i in range(4):
            assert out["y"][i].unique().numel() == size  # no repeats
            torch.testing.assert_close(out["pos"][i], b["pos"][i, out["y"][i]])


def test_first_points_and_class_labels_untouched():
    b = batch(per_point=False)
    out = Compose([FirstPoints(10), ShufflePoints()])(b, gen())
    assert out["pos"].shape == (4, 10, 3) and torch.equal(out["y"], b["y"])


def test_inputs_never_mutated_and_seeded_runs_repeat():
    b = batch()
    before = {k: v.clone() for k, v in b.items()}
    pipeline = Compose(
        [
            RandomAnisotropicScale(),
            RandomTranslate(),
            RandomJitter(),
            RandomRotate(),
            RandomPointDropout(),
            ShufflePoints(),
        ]
    )
    first, second = pipeline(b, gen(3)), pipeline(b, gen(3))
    for key in b:
        assert torch.equal(b[key], before[key])
        assert torch.equal(first[key], second[key])
    assert not torch.equal(pipeline(b, gen(4))["pos"], first["pos"])


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="'tilt'"):
        RandomRotate("tilt")
    with pytest.raises(ValueError, match="max_ratio"):
        RandomPointDropout(1.5)


def test_rotation_angle_covers_the_circle():
    rot = RandomRotate("up").matrices(500, torch.zeros(1), gen())
    angles = torch.atan2(rot[:, 2, 0], rot[:, 0, 0])
    assert angles.min() < -math.pi + 0.2 and angles.max() > math.pi - 0.2


def _plane_batch(batch_size=4, points=64, seed=0):
    """Points on random planes n . p = d, each point carrying its plane's unit normal n."""
    gen = torch.Generator().manual_seed(seed)
    normal = torch.nn.functional.normalize(torch.randn(batch_size, 1, 3, generator=gen), dim=-1)
    tangent = torch.randn(batch_size, points, 3, generator=gen)
    tangent = tangent - (tangent * normal).sum(-1, keepdim=True) * normal  # in the plane
    pos = tangent + 0.3 * normal
    return {"pos": pos, "normals": normal.expand(-1, points, -1).clone()}


def test_scaled_normals_stay_perpendicular_to_the_scaled_surface():
    batch = _plane_batch()
    out = RandomAnisotropicScale(0.5, 2.0)(batch, torch.Generator().manual_seed(1))
    scale = out["pos"][:, :1] / batch["pos"][:, :1]  # (B, 1, 3) the factors drawn
    # closed form: a plane n . p = d becomes (n / s) . p' = d, so n' = (n / s) / |n / s|
    expected = batch["normals"] / scale
    expected = expected / expected.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(out["normals"], expected)
    # and n' is perpendicular to every in-plane direction of the scaled cloud
    chords = out["pos"][:, 1:] - out["pos"][:, :1]
    assert (chords * out["normals"][:, 1:]).sum(-1).abs().max() < 1e-4
    torch.testing.assert_close(out["normals"].norm(dim=-1), torch.ones(4, 64))


@pytest.mark.parametrize("mode", ["up", "so3"])
def test_rotated_normals_rotate_with_the_points(mode):
    batch = _plane_batch()
    rotate = RandomRotate(mode)
    out = rotate(batch, torch.Generator().manual_seed(2))
    rot = rotate.matrices(4, batch["pos"], torch.Generator().manual_seed(2))
    torch.testing.assert_close(out["normals"], batch["normals"] @ rot)
    chords = out["pos"][:, 1:] - out["pos"][:, :1]
    assert (chords * out["normals"][:, 1:]).sum(-1).abs().max() < 1e-4


def test_translation_and_jitter_leave_normals():
    batch = _plane_batch()
    for transform in (RandomTranslate(0.2), RandomJitter()):
        out = transform(batch, torch.Generator().manual_seed(3))
        assert torch.equal(out["normals"], batch["normals"])


def test_reorderings_carry_normals_with_their_points():
    batch = _plane_batch()
    batch["normals"] = torch.randn(4, 64, 3)  # distinct per point, to follow each one
    batch["y"] = torch.arange(64).expand(4, -1)
    for transform in (ShufflePoints(), RandomSubset(16), RandomPointDropout(0.8), FirstPoints(8)):
        out = transform(batch, torch.Generator().manual_seed(4))
        idx = out["y"]  # each output point's source index
        torch.testing.assert_close(
            out["normals"], torch.gather(batch["normals"], 1, idx[..., None].expand(-1, -1, 3))
        )
        torch.testing.assert_close(
            out["pos"], torch.gather(batch["pos"], 1, idx[..., None].expand(-1, -1, 3))
        )
