"""Checkpoints of older forms (version 1: attention=<kind> beside its options; version 2: a
segmenter's parts and categories named as classes) convert exactly."""

from functools import partial

import pytest
import torch
from tiny_networks import TINY_CLS

from pointea.checkpoint import (
    METADATA_VERSION,
    CheckpointError,
    checkpoint_metadata,
    load_model,
    load_network,
    upgrade_checkpoint,
)
from pointea.cli.checkpoint_upgrade import main
from pointea.models import PointTransformerCls, PointTransformerSeg
from pointea.nn import ExternalAttention, LocalSelfAttention, OffsetAttention

SIZES = {**TINY_CLS, "dropout": 0.5}


def old_checkpoint(model, kind):
    """What train.py wrote before: the options flat in the network config, and offset
    attention's layers directly in each block (written out by hand, not by the converter)."""
    state = {}
    for key, value in model.state_dict().items():
        if kind == "offset":
            key = key.replace(".mixer.query_key.", ".query_key.").replace(
                ".mixer.value.", ".value."
            )
        state[f"model.{key}"] = value
    network = {"_target_": "pointea.models.PointTransformerCls", "num_classes": 5,
               "attention": kind, "memory_size": 16, "num_heads": 4, "local_k": 7,
               **{k: list(v) if isinstance(v, tuple) else v for k, v in SIZES.items()}}  # fmt: skip
    meta = {"task": "cls", "layout": "modelnet40", "model": network, "num_classes": 5,
            "num_points": 64, "class_names": list("abcde"), "category_parts": []}  # fmt: skip
    return {"state_dict": state, "pointea": meta}


@pytest.mark.parametrize(
    ("kind", "factory"),
    [("offset", OffsetAttention), ("local", partial(LocalSelfAttention, k=7, num_heads=4))],
)
def test_old_checkpoints_load_and_compute_what_they_did(tmp_path, kind, factory):
    torch.manual_seed(0)
    model = PointTransformerCls(5, attention=factory, **SIZES).eval()
    path = tmp_path / "old.ckpt"
    torch.save(old_checkpoint(model, kind), path)
    network, meta = load_network(path)
    xyz = torch.randn(2, 64, 3)
    with torch.no_grad():
        torch.testing.assert_close(network(xyz), model(xyz))
    assert "layout" not in meta and meta["model"]["k"] == 6  # the embedding's k, untouched
    if kind == "local":
        assert meta["model"]["attention"]["k"] == 7 and meta["model"]["attention"]["num_heads"] == 4


def test_train_refuses_an_old_checkpoint_and_says_how_to_convert(tmp_path):
    torch.manual_seed(0)
    old = old_checkpoint(PointTransformerCls(5, attention=OffsetAttention, **SIZES), "offset")
    with pytest.raises(CheckpointError, match="python -m pointea.cli.checkpoint_upgrade old.ckpt"):
        checkpoint_metadata(old, "old.ckpt")
    torch.save(old, tmp_path / "old.ckpt")
    assert main([str(tmp_path / "old.ckpt"), str(tmp_path / "new.ckpt")]) == 0
    new = torch.load(tmp_path / "new.ckpt", weights_only=True)
    meta = checkpoint_metadata(new, "new.ckpt")
    assert meta["version"] == METADATA_VERSION and meta["class_names"] == list("abcde")
    assert "category_parts" not in meta  # a classifier has no parts
    assert upgrade_checkpoint(new) is new  # already current: unchanged
    before = (tmp_path / "new.ckpt").read_bytes()
    assert main([str(tmp_path / "old.ckpt"), str(tmp_path / "new.ckpt")]) == 2  # no overwrite
    assert (tmp_path / "new.ckpt").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.ckpt", "old.ckpt"]  # no temporary


def test_a_version_2_segmenter_gets_its_parts_and_categories_named(tmp_path):
    """Version 2 stored a segmenter's part count and category names as num_classes and
    class_names (written out here by hand); the upgrade renames them, keeps the weights."""
    torch.manual_seed(0)
    sizes = {"embed_channels": 8, "channels": 16, "k": 6, "fuse_channels": 32,
             "category_channels": 8, "head_channels": [24, 16], "dropout": 0.5}  # fmt: skip
    attention = {"_target_": "pointea.nn.ExternalAttention", "_partial_": True, "memory_size": 8}
    model = PointTransformerSeg(num_parts=5, num_categories=2,
                                attention=partial(ExternalAttention, memory_size=8), **sizes).eval()  # fmt: skip
    network = {"_target_": "pointea.models.PointTransformerSeg", "num_parts": 5,
               "num_categories": 2, "attention": attention, **sizes}  # fmt: skip
    meta = {"version": 2, "task": "seg", "model": network, "num_points": 64, "num_classes": 5,
            "class_names": ["Mug", "Lamp"], "category_parts": [[0, 1], [2, 3, 4]]}  # fmt: skip
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "pointea": meta}, tmp_path / "v2.ckpt")
    segmenter = load_model(tmp_path / "v2.ckpt")
    assert segmenter.metadata["num_parts"] == 5 and segmenter.categories == ["Mug", "Lamp"]
    assert "num_classes" not in segmenter.metadata and "class_names" not in segmenter.metadata
    assert segmenter.metadata["trained_model"] == "pointea.trained_model.TrainedSegmenter"
    xyz, category = torch.randn(2, 64, 3), torch.tensor([0, 1])
    with torch.no_grad():
        torch.testing.assert_close(segmenter.network(xyz, category), model(xyz, category))


def test_a_full_disk_leaves_no_converted_file(tmp_path, monkeypatch, capsys):
    import errno

    torch.manual_seed(0)
    old = old_checkpoint(PointTransformerCls(5, attention=OffsetAttention, **SIZES), "offset")
    torch.save(old, tmp_path / "old.ckpt")
    save = torch.save

    def full_disk(obj, path, *args, **kwargs):
        save(obj, path, *args, **kwargs)  # a part written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    assert main([str(tmp_path / "old.ckpt"), str(tmp_path / "new.ckpt")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'new.ckpt'}: No space left on device\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.ckpt"]
