"""The built wheel works outside the checkout: its console scripts find the packaged configs.

The wheel is installed (not editable, --no-deps) into a temporary folder put first on
PYTHONPATH, and every command runs from a folder outside the repository, so nothing can be
read from the checkout by accident.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import ROOT, tiny_overrides


def run(args, cwd, env):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(site folder holding the installed wheel, its console-script folder, environment)."""
    tmp = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp), str(ROOT)], tmp, None)
    (wheel,) = tmp.glob("pointea-*.whl")
    site = tmp / "site"
    run(
        [*pip, "install", "--no-deps", "--no-compile", "--target", str(site), str(wheel)], tmp, None
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    return site, site / "bin", env


def test_wheel_ships_the_configs_and_imports_from_the_install(installed, tmp_path):
    site, _, env = installed
    assert (site / "pointea" / "configs" / "train.yaml").is_file()
    assert (site / "pointea" / "configs" / "model" / "attention" / "external.yaml").is_file()
    code = "import pointea, pointea.configs; print(pointea.__file__, pointea.__version__)"
    where, version = run([sys.executable, "-c", code], tmp_path, env).split()
    assert Path(where).is_relative_to(site)
    assert (
        version
        == (ROOT / "pointea" / "__init__.py").read_text().split('__version__ = "')[1].split('"')[0]
    )


def test_installed_scripts_train_predict_visualize_and_export(installed, tmp_path):
    """From a folder outside the repo: --help, a one-batch fit on the built-in data through a
    user's own config folder (hydra.searchpath), then predict, visualize and export."""
    _, bin_dir, env = installed
    usage = run([bin_dir / "pointea-train", "--help"], tmp_path, env)
    assert "synthetic_cls" in usage and "pct_seg_tiny" in usage  # the packaged config groups
    # A user's config folder adds a trainer option the package does not have.
    mine = tmp_path / "my_configs" / "trainer"
    mine.mkdir(parents=True)
    (mine / "one_batch.yaml").write_text(
        "defaults:\n  - cpu\n  - _self_\nmax_epochs: 1\nlimit_train_batches: 1\n"
    )
    data_root = tmp_path / "data"
    overrides = [o for o in tiny_overrides(data_root) if not o.startswith("trainer")]
    run(
        [
            bin_dir / "pointea-train",
            *overrides,
            "trainer=one_batch",
            "trainer.limit_val_batches=1",
            "trainer.limit_test_batches=1",
            f"hydra.searchpath=[file://{tmp_path / 'my_configs'}]",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        tmp_path,
        env,
    )
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["metrics"]
    assert 0 <= metrics["test/oa"] <= 1

    cloud = tmp_path / "cloud.npy"
    np.save(cloud, np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32))
    run(
        [bin_dir / "pointea-predict", f"ckpt_path={ckpt}", f"input={cloud}", "output_dir=pred"],
        tmp_path,
        env,
    )
    (result,) = json.loads((tmp_path / "pred" / "predictions.json").read_text())["results"]
    assert len(result["top5"]) == 5

    options = next(o for o in overrides if o.startswith("+data.builtin_options"))
    run(
        [
            bin_dir / "pointea-visualize",
            f"ckpt_path={ckpt}",
            "data=synthetic_cls",
            f"data.root={data_root}",
            "data.num_points=256",
            options,
            "num_shapes=2",
            "output_dir=vis",
        ],
        tmp_path,
        env,
    )
    assert (tmp_path / "vis" / "contact_sheet.png").stat().st_size > 0

    run(
        [bin_dir / "pointea-export", f"ckpt_path={ckpt}", "format=torchscript", "output=m.pt"],
        tmp_path,
        env,
    )
    assert (tmp_path / "m.pt").stat().st_size > 0
