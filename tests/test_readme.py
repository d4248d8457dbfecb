"""The README's commands and example must keep working as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_example_runs(tmp_path):
    (example,) = [block for block in fenced("python") if "load_model" not in block]
    script = tmp_path / "example.py"
    script.write_text(example)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "class logits (2, 40)" in done.stdout
    assert "part logits (1, 2048, 50)" in done.stdout


def test_load_model_example_runs(tmp_path):
    """The README's load_model lines on a checkpoint in pointea's format and a cloud file."""
    import numpy as np
    import torch

    from pointea.checkpoint import METADATA_VERSION
    from pointea.cli.attention_config import attention_node
    from pointea.models import PointTransformerCls

    (example,) = [block for block in fenced("python") if "load_model" in block]
    import pointea

    used = set(re.findall(r"\bpointea\.(\w+)", example))  # only the package's public names
    assert used and used <= set(pointea.__all__), used - set(pointea.__all__)
    net = PointTransformerCls(3, embed_channels=8, stage_channels=(8, 8), num_samples=(16, 8),
                              k=4, fuse_channels=8, head_channels=(8, 8))  # fmt: skip
    names = ["mug", "lamp", "rocket"]
    meta = {"task": "cls", "model": {"_target_": "pointea.models.PointTransformerCls",
            "num_classes": 3, "embed_channels": 8, "stage_channels": [8, 8],
            "num_samples": [16, 8], "k": 4, "fuse_channels": 8, "head_channels": [8, 8],
            "attention": attention_node("external")}, "version": METADATA_VERSION,
            "num_points": 32, "num_classes": 3, "class_names": names,
            "trained_model": "pointea.trained_model.TrainedClassifier"}  # fmt: skip
    state = {f"model.{k}": v for k, v in net.state_dict().items()}
    (ckpt,) = re.findall(r'load_model\("([^"]+)"\)', example)
    (tmp_path / ckpt).parent.mkdir(parents=True)
    torch.save({"state_dict": state, "pointea": meta}, tmp_path / ckpt)
    np.savetxt(tmp_path / "my_cloud.xyz", np.random.default_rng(0).normal(size=(50, 3)) * 40)
    script = tmp_path / "example.py"
    script.write_text(example)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    name, probability = done.stdout.split()
    # The same model on the same file in this process: the snippet printed its answer.
    expected = pointea.load_model(tmp_path / ckpt).predict(np.loadtxt(tmp_path / "my_cloud.xyz"))
    assert name == expected["classes"]
    assert float(probability) == pytest.approx(float(expected["probabilities"].max()), abs=1e-6)


def test_ci_runs_the_readme_test_command():
    commands = [
        line.split("#")[0].strip() for block in fenced("bash") for line in block.splitlines()
    ]
    assert "make test" in commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M)


def test_every_readme_make_target_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.M))
    used = set(re.findall(r"`?make ([\w-]+)`?", README))
    assert used and used <= targets, used - targets


def _releases(tmp_path):
    """Small releases in the official layouts that the README's data names are pointed at."""
    import json

    import numpy as np
    from h5_layouts import PART_TABLE, modelnet_arrays, parts_arrays, write_h5
    from pyg_layouts import write_modelnet_raw, write_shapenet_raw

    rng = np.random.default_rng(0)
    modelnet = tmp_path / "modelnet40" / "modelnet40_ply_hdf5_2048"
    modelnet.mkdir(parents=True)
    for split, count in (("train", 24), ("test", 8)):
        write_h5(modelnet / f"ply_data_{split}0.h5", **modelnet_arrays(rng, count, points=256))
        (modelnet / f"{split}_files.txt").write_text(f"data/x/ply_data_{split}0.h5\n")
    (modelnet / "shape_names.txt").write_text("a\nb\nc\n")
    parts = tmp_path / "shapenetpart" / "hdf5_data"
    parts.mkdir(parents=True)
    for split, count in (("train", 12), ("val", 4), ("test", 4)):
        write_h5(parts / f"ply_data_{split}0.h5", **parts_arrays(rng, count, points=256))
        (parts / f"{split}_hdf5_file_list.txt").write_text(f"ply_data_{split}0.h5\n")
    (parts / "all_object_categories.txt").write_text("A\t100\nB\t200\n")
    (parts / "overallid_to_catid_partid.json").write_text(json.dumps(PART_TABLE))
    from text_layouts import write_modelnet_normal, write_shapenetpart_normal

    text = tmp_path / "text"
    write_modelnet_normal(text, ["a", "b", "c"], {"train": 8, "test": 3}, rows=256)
    write_shapenetpart_normal(text, {"train": 6, "val": 2, "test": 2}, sizes=(200, 300))
    stored = "data.dataset.stored_points=256"
    write_modelnet_raw(tmp_path / "ModelNet10")
    write_shapenet_raw(tmp_path / "ShapeNet")
    from scanobjectnn_layout import write_scanobjectnn

    write_scanobjectnn(tmp_path / "scanobjectnn", points=256)
    from folder_layouts import write_class_folder, write_part_folder

    write_class_folder(tmp_path / "my_scans", rng, per_class=6, sizes=(200, 300))
    write_part_folder(tmp_path / "my_parts", rng, per_category=6)
    return {
        "modelnet40_normal": [f"data.root={text}", "data.num_classes=3", stored],
        "shapenetpart_normal": [f"data.root={text}", stored],
        "pyg_modelnet": [f"data.root={tmp_path / 'ModelNet10'}"],
        "pyg_shapenet": [f"data.root={tmp_path / 'ShapeNet'}", "data.dataset.stored_points=256"],
        "folder": [f"data.root={tmp_path / 'my_scans'}", "data.dataset.stored_points=256"],
        "folder_seg": [f"data.root={tmp_path / 'my_parts'}", "data.dataset.stored_points=256"],
        "scanobjectnn": [f"data.root={tmp_path / 'scanobjectnn'}"],
        "modelnet40": [f"data.root={modelnet.parent}", "data.num_classes=3"],
        "shapenetpart": [
            f"data.root={parts.parent}",
            "data.num_parts=5",
            "data.num_categories=2",
        ],
    }


def test_readme_train_commands_run_with_tiny_overrides(tmp_path):
    """Every `python train.py` line of the README runs as written, on tiny data and sizes."""
    data_overrides = _releases(tmp_path)
    lines = [line.split("#")[0].split() for block in fenced("bash") for line in block.splitlines()]
    commands = [words for words in lines if words[:2] == ["python", "train.py"]]
    assert len(commands) >= 5
    tiny = [
        "data.download=false",
        "data.num_points=256",
        "data.batch_size=4",
        "data.eval_batch_size=4",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
    ]
    last_run = {}
    for i, words in enumerate(commands):
        args = [w for w in words[2:] if not w.startswith(("trainer=", "data.root="))]
        experiment = next((a.split("=")[1] for a in args if a.startswith("experiment=")), None)
        if experiment:  # paper-scale runs and sweeps: the recipe must exist
            assert (ROOT / "pointea" / "configs" / "experiment" / f"{experiment}.yaml").is_file()
            continue
        data = next(a.split("=")[1] for a in args if a.startswith("data="))
        task = next(a.split("=")[1] for a in args if a.startswith("task="))
        args = [f"ckpt_path={last_run[task]}" if a.startswith("ckpt_path=") else a for a in args]
        run_dir = tmp_path / f"run{i}"
        cmd = [
            sys.executable,
            "train.py",
            *args,
            *tiny,
            f"model=pct_{task}_tiny",
            *data_overrides[data],
            "trainer=cpu",
            f"hydra.run.dir={run_dir}",
        ]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(words)}\n{done.stderr[-3000:]}"
        assert (run_dir / "metrics.json").is_file()
        if "mode=test" not in args:  # plain lines per epoch when not on a terminal
            epoch_lines = [
                line for line in done.stdout.splitlines() if line.startswith("epoch 0 (")
            ]
            assert (
                epoch_lines and "train/loss=" in epoch_lines[0] and "_step=" not in epoch_lines[0]
            )
        last_run[task] = run_dir / "checkpoints" / "last.ckpt"


def test_readme_download_command_parses(tmp_path):
    from pointea.data.download import main

    lines = [line.split("#")[0].split() for block in fenced("bash") for line in block.splitlines()]
    downloads = [words for words in lines if words[:3] == ["python", "-m", "pointea.data.download"]]
    assert len(downloads) == 2
    for download in downloads:
        args = [*download[3:], "--archive", str(tmp_path / "by_hand.zip")]
        assert (
            main(args) == 2
        )  # a user error; parsed; stops at the missing archive, before touching --root


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_links_to_benchmarks_sections_exist():
    benchmarks = (ROOT / "BENCHMARKS.md").read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", benchmarks, flags=re.M)}
    linked = set(re.findall(r"\(BENCHMARKS\.md#([^)]+)\)", README))
    assert linked and linked <= anchors, linked - anchors
