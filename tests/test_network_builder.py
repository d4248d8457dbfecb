"""Stored config nodes are built only through the allow-list the config groups define."""

import re
from functools import partial

import pytest

from pointea.checkpoint_error import CheckpointError
from pointea.configs import CONFIG_DIR
from pointea.network_builder import (
    NETWORK_GROUPS,
    build_node,
    check_targets,
    config_dirs_from_searchpath,
    group_targets,
)
from pointea.nn import ExternalAttention


def test_the_allow_list_is_every_target_the_network_groups_name(tmp_path):
    by_hand = set()  # read from the yaml text, not through the code under test
    for group in NETWORK_GROUPS:
        for path in (CONFIG_DIR / group).glob("*.yaml"):
            by_hand |= set(re.findall(r"_target_:\s*(\S+)", path.read_text()))
    assert group_targets(NETWORK_GROUPS) == by_hand
    assert "pointea.nn.ExternalAttention" in by_hand
    mine = tmp_path / "conf" / "model" / "attention"
    mine.mkdir(parents=True)
    (mine / "gated.yaml").write_text("_target_: my_mixers.GatedMixer\n_partial_: true\n")
    assert group_targets(NETWORK_GROUPS, [tmp_path / "conf"]) == by_hand | {"my_mixers.GatedMixer"}


def test_searchpath_entries_become_folders():
    dirs = config_dirs_from_searchpath(["file:///a/b", "c/d", "pkg://some.package"])
    assert [str(d) for d in dirs] == ["/a/b", "c/d"]


def test_a_partial_node_builds_a_partial_of_the_allowed_class():
    allowed = group_targets(NETWORK_GROUPS)
    node = {"_target_": "pointea.nn.ExternalAttention", "_partial_": True, "memory_size": 4}
    built = build_node(node, allowed, "a.ckpt")
    assert isinstance(built, partial) and built.func is ExternalAttention
    assert built.keywords == {"memory_size": 4}


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"_target_": "os.system", "command": "true"}, r"refused to build 'os.system' \(at model\)"),
        ({"x": [{"_target_": "builtins.eval"}]}, r"refused to build 'builtins.eval' \(at model.x\[0\]\)"),
        ({"_target_": ["os", "system"]}, r"refused to build \['os', 'system'\]"),
        ({"_target_": "pointea.nn.ExternalAttention", "_args_": [4]}, r"model._args_ is not allowed"),
        ({"_target_": "pointea.nn.ExternalAttention", "_partial_": "yes"}, r"model._partial_ must be true or false"),
    ],
)  # fmt: skip
def test_anything_else_is_refused_naming_the_target(node, message):
    with pytest.raises(CheckpointError, match=rf"^a\.ckpt: {message}"):
        check_targets(node, group_targets(NETWORK_GROUPS), "a.ckpt")
    with pytest.raises(CheckpointError):
        build_node(node, group_targets(NETWORK_GROUPS), "a.ckpt")
