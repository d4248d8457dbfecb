"""Checkpoints of the old form (attention=<kind> beside its options) convert exactly."""

from functools import partial

import pytest
import torch
from tiny_networks import TINY_CLS

from pointea.cli.checkpoint import load_network
from pointea.cli.checkpoint_upgrade import main, upgrade_checkpoint
from pointea.cli.run_config import ConfigError, check_checkpoint
from pointea.models import PointTransformerCls
from pointea.nn import LocalSelfAttention, OffsetAttention

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
    here = {k: old["pointea"][k] for k in ("task", "num_classes", "class_names", "category_parts")}
    with pytest.raises(ConfigError, match="python -m pointea.cli.checkpoint_upgrade old.ckpt"):
        check_checkpoint("old.ckpt", old, here, mode="test")
    torch.save(old, tmp_path / "old.ckpt")
    assert main([str(tmp_path / "old.ckpt"), str(tmp_path / "new.ckpt")]) == 0
    new = torch.load(tmp_path / "new.ckpt", weights_only=True)
    check_checkpoint("new.ckpt", new, here, mode="test")
    assert upgrade_checkpoint(new) is new  # already current: unchanged
    assert main([str(tmp_path / "old.ckpt"), str(tmp_path / "new.ckpt")]) == 2  # no overwrite
