"""Bad values are refused before any work starts, naming the key, the value and what is allowed."""

import subprocess
import sys

import pytest
from cli_helpers import ROOT, compose_train, tiny_overrides

from pointea.cli.run_config import ConfigError
from pointea.cli.train import run
from pointea.cli.visualize import visualize

# The tiny classifier samples 128 then 64 points from data.num_points=256; the built-in
# data of the tests stores 256 points per shape.
CLS_CASES = [
    (["data.num_points=0"], r"data.num_points=0 is not allowed: expected an integer >= 1"),
    (["data.num_points=-5"], r"data.num_points=-5 is not allowed"),
    (
        ["data.num_points=100"],
        r"data.num_points=100 is not allowed: the network samples model.num_samples\[0\]=128 "
        r"points from it; expected at least 128",
    ),
    (
        ["data.num_points=4096"],
        r"data.num_points=4096 is not allowed: the shapes in .*ply_data_\w+.h5 store 256 points; "
        r"expected at most 256",
    ),
    (["data.batch_size=0"], r"data.batch_size=0 is not allowed: expected an integer >= 1"),
    (["data.eval_batch_size=-1"], r"data.eval_batch_size=-1 is not allowed"),
    (
        ["model.attention.memory_size=0"],
        r"model.attention.memory_size=0 is not allowed: expected an integer >= 1",
    ),
    (["model.attention.memory_size=-3"], r"model.attention.memory_size=-3 is not allowed"),
    (
        ["model/attention=multihead_external", "model.attention.memory_size=0"],
        r"model.attention.memory_size=0 is not allowed",
    ),
    (["model.k=0"], r"model.k=0 is not allowed: expected an integer >= 1"),
    (
        ["model.k=129"],
        r"model.k=129 is not allowed: a neighbour-embedding stage has only 128 points",
    ),
    (["model/attention=local", "model.attention.k=0"], r"model.attention.k=0 is not allowed"),
    (
        ["model/attention=local", "model.attention.k=65"],
        r"model.attention.k=65 is not allowed: the attention runs on 64 points; expected at most 64",
    ),
    (["model.num_samples=[128,200]"], r"model.num_samples\[1\]=200 is not allowed"),
    (["task.votes=0"], r"task.votes=0 is not allowed: expected an integer >= 1"),
    (["task.ema_decay=1.5"], r"task.ema_decay=1.5 is not allowed: expected a number in \(0, 1\)"),
    (["task.ema_decay=abc"], r"task.ema_decay='abc' is not allowed: expected a number in \(0, 1\)"),
    (["data.val_fraction=0"], r"data.val_fraction=0 is not allowed: expected a number strictly"),
    (["data.val_fraction=1.0"], r"data.val_fraction=1.0 is not allowed"),
    (["data.val_fraction=1.5"], r"data.val_fraction=1.5 is not allowed"),
]


@pytest.mark.parametrize(("overrides", "message"), CLS_CASES)
def test_bad_values_are_refused_before_work_starts(tmp_path, data_root, overrides, message):
    cfg = compose_train([*tiny_overrides(data_root / "cls"), *overrides], tmp_path / "run")
    with pytest.raises(ConfigError, match=message):
        run(cfg)
    folder = tmp_path / "run"
    if overrides == ["data.num_points=4096"]:
        # the stored points are known once the release is found, inside the claimed run
        # folder: no config.yaml, no checkpoint, nothing left there
        assert list(folder.iterdir()) == []
    else:
        assert not folder.exists()  # config values: refused before the folder is claimed


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.k=257"], r"model.k=257 is not allowed: .* only 256 points \(data.num_points\)"),
        (
            ["model/attention=local", "model.attention.k=300"],
            r"model.attention.k=300 is not allowed: the attention runs on 256 points",
        ),
        (["model.attention.memory_size=0"], r"model.attention.memory_size=0 is not allowed"),
    ],
)
def test_segmentation_values_are_refused(tmp_path, data_root, overrides, message):
    cfg = compose_train(
        [*tiny_overrides(data_root / "seg", task="seg"), *overrides], tmp_path / "run"
    )
    with pytest.raises(ConfigError, match=message):
        run(cfg)
    assert not (tmp_path / "run").exists()


def test_values_at_the_limits_are_accepted(tmp_path, data_root):
    """k equal to the points of the smallest stage, the attention's k equal to its points."""
    from pointea.cli.config_checks import check_model_values, check_stored_points

    cfg = compose_train(
        [
            *tiny_overrides(data_root / "cls"),
            "model.k=128",
            "model/attention=local",
            "model.attention.k=64",
        ],
        tmp_path / "run",
    )
    check_model_values(cfg)
    check_stored_points(cfg, 256, "x.h5")


def test_visualize_refuses_num_shapes_below_one(tmp_path):
    cfg = compose_train(
        [f"ckpt_path={tmp_path / 'none.ckpt'}", "num_shapes=0", "data=synthetic_cls"],
        tmp_path,
        config_name="visualize",
    )
    with pytest.raises(ConfigError, match=r"num_shapes=0 is not allowed: expected an integer >= 1"):
        visualize(cfg)


def test_cli_prints_one_line_naming_the_key(tmp_path):
    done = subprocess.run(
        [sys.executable, "train.py", "model=pct_cls_tiny", "model.attention.memory_size=0",
         f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: model.attention.memory_size=0 is not allowed: expected an integer >= 1 "
        "(external attention's memory slots)"
    ]


def _test_overrides(data_root, ckpt, *extra):
    """A mode=test run of the tiny classifier's checkpoint, ``model=`` left to ``extra``."""
    base = [o for o in tiny_overrides(data_root / "cls") if not o.startswith("model=")]
    return [*base, "mode=test", f"ckpt_path={ckpt}", *extra]


def test_mode_test_judges_the_network_stored_in_the_checkpoint(trained_cls, data_root, tmp_path):
    """The command line's model (the default one samples 512 of the 256 points) is not what
    runs in mode=test, so it is not what the checks judge."""
    ckpt = trained_cls[0] / "checkpoints" / "last.ckpt"
    metrics = run(compose_train(_test_overrides(data_root, ckpt), tmp_path / "ok"))
    assert 0 <= metrics["test/oa"] <= 1


def test_mode_test_refuses_too_few_points_for_the_stored_network(trained_cls, data_root, tmp_path):
    ckpt = trained_cls[0] / "checkpoints" / "last.ckpt"
    overrides = _test_overrides(data_root, ckpt, "model=pct_cls", "data.num_points=100")
    message = (
        r"data.num_points=100 is not allowed: the network samples model.num_samples\[0\]=128 "
        r"points from it; expected at least 128 \(model.\* is the network stored in .*last.ckpt\)"
    )
    with pytest.raises(ConfigError, match=message):
        run(compose_train(overrides, tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_mode_test_refuses_a_checkpoint_of_the_other_task(trained_seg, data_root, tmp_path):
    ckpt = trained_seg[0] / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError, match=r"is a task=seg checkpoint, but this run is task=cls"):
        run(compose_train(_test_overrides(data_root, ckpt, "model=pct_cls_tiny"), tmp_path / "r"))
