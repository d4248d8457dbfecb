"""Tiny trained runs shared by the CLI tests (trained once per session)."""

import pytest
from cli_helpers import compose_train, tiny_overrides

from pointea.cli.train import run


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def trained_cls(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("cls_run")
    return out, run(compose_train(tiny_overrides(data_root / "cls", epochs=2), out))


@pytest.fixture(scope="session")
def trained_seg(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("seg_run")
    return out, run(
        compose_train(tiny_overrides(data_root / "seg", task="seg", epochs=2, batches=4), out)
    )
