"""A checkpoint is data, never code: a forged network config is refused by every entry point
before anything is built, and no file is written, truncated or copied.

Each forged checkpoint is a real tiny one whose stored network names a payload ``_target_``,
at the network's top level or nested as its attention node.
"""

import re
import sys

import pytest
import torch
from cli_helpers import compose_train, tiny_overrides
from omegaconf import OmegaConf
from tiny_networks import TINY_CLS

import pointea
from pointea.checkpoint import CheckpointError, load_checkpoint, load_model
from pointea.cli.export import export
from pointea.cli.predict import predict
from pointea.cli.train import run
from pointea.cli.visualize import visualize
from pointea.models import PointTransformerCls


class Victims:
    """Files a payload would write, truncate, copy or create, and the check that none did."""

    def __init__(self, folder):
        self.folder = folder
        folder.mkdir()
        self.csv = folder / "results.csv"
        self.csv.write_text("epoch,loss\n0,1.0\n")
        self.secret = folder / "secret.txt"
        self.secret.write_text("hunter2\n")
        self.written = folder / "written.txt"
        self.copied = folder / "copied.txt"
        self.touched = folder / "touched"

    def payloads(self):
        return {
            "pathlib.Path.write_text": {"self": str(self.written), "data": "pwned"},
            "builtins.open": {"file": str(self.csv), "mode": "w"},
            "shutil.copyfile": {"src": str(self.secret), "dst": str(self.copied)},
            "subprocess.run": {"args": ["touch", str(self.touched)]},
        }

    def untouched(self):
        names = sorted(p.name for p in self.folder.iterdir())
        assert names == ["results.csv", "secret.txt"], names
        assert self.csv.read_text() == "epoch,loss\n0,1.0\n"


PAYLOADS = ["pathlib.Path.write_text", "builtins.open", "shutil.copyfile", "subprocess.run"]
PLACES = ["network", "attention"]


def forge(real, path, target, options, place):
    checkpoint = load_checkpoint(real)
    node = {"_target_": target, **options}
    if place == "network":
        checkpoint["pointea"]["model"] = node
    else:
        checkpoint["pointea"]["model"]["attention"] = node
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


def refused(call, path, target):
    with pytest.raises(CheckpointError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    assert re.match(rf"{re.escape(str(path))}: refused to build '{re.escape(target)}'", message)


@pytest.fixture
def victims(tmp_path):
    return Victims(tmp_path / "victims")


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("target", PAYLOADS)
def test_load_model_and_predict_refuse(trained_cls, victims, tmp_path, target, place):
    real = trained_cls[0] / "checkpoints" / "last.ckpt"
    forged = forge(real, tmp_path / "forged.ckpt", target, victims.payloads()[target], place)
    refused(lambda: pointea.load_model(forged), forged, target)
    cloud = tmp_path / "cloud.xyz"
    cloud.write_text("0 0 0\n1 0 0\n0 1 0\n")
    out = tmp_path / "out"
    cfg = compose_train([f"ckpt_path={forged}", f"input={cloud}", f"output_dir={out}"], out,
                        config_name="predict")  # fmt: skip
    refused(lambda: predict(cfg), forged, target)
    victims.untouched()
    assert not out.exists()


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("target", PAYLOADS)
def test_export_and_visualize_refuse(trained_cls, data_root, victims, tmp_path, target, place):
    real = trained_cls[0] / "checkpoints" / "last.ckpt"
    forged = forge(real, tmp_path / "forged.ckpt", target, victims.payloads()[target], place)
    cfg = OmegaConf.create({"ckpt_path": str(forged), "format": "onnx",
                            "output": str(tmp_path / "m.onnx"), "num_points": None})  # fmt: skip
    refused(lambda: export(cfg), forged, target)
    assert not (tmp_path / "m.onnx").exists()
    options = next(o for o in tiny_overrides(data_root / "cls") if o.startswith("+data.builtin"))
    vis = compose_train([options, f"ckpt_path={forged}", "data=synthetic_cls",
                         f"data.root={data_root / 'cls'}", "data.num_points=256",
                         f"output_dir={tmp_path / 'vis'}"], tmp_path / "vis",
                        config_name="visualize")  # fmt: skip
    refused(lambda: visualize(vis), forged, target)
    assert not (tmp_path / "vis").exists()
    victims.untouched()


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("target", PAYLOADS)
def test_train_test_and_resume_refuse(trained_cls, data_root, victims, tmp_path, target, place):
    run_dir = trained_cls[0]
    real = run_dir / "checkpoints" / "last.ckpt"
    options = victims.payloads()[target]
    forged = forge(real, tmp_path / "forged.ckpt", target, options, place)
    out = tmp_path / "test_run"
    cfg = compose_train([*tiny_overrides(data_root / "cls"), "mode=test", f"ckpt_path={forged}"],
                        out)  # fmt: skip
    refused(lambda: run(cfg), forged, target)
    assert not out.exists()
    # A resume from a forged checkpoint inside a run folder: refused before the folder changes.
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "config.yaml").write_bytes((run_dir / "config.yaml").read_bytes())
    resumed = forge(real, folder / "checkpoints" / "last.ckpt", target, options, place)
    cfg = compose_train(
        [*tiny_overrides(data_root / "cls"), f"ckpt_path={resumed}"], tmp_path / "x"
    )
    refused(lambda: run(cfg), resumed, target)
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoints", "config.yaml"]
    victims.untouched()


def test_refusal_is_one_line_and_exit_status_2(trained_cls, victims, tmp_path):
    """Through the CLI's own error boundary, in a fresh process."""
    import subprocess

    from cli_helpers import ROOT

    real = trained_cls[0] / "checkpoints" / "last.ckpt"
    target = "subprocess.run"
    forged = forge(real, tmp_path / "forged.ckpt", target, victims.payloads()[target], "network")
    done = subprocess.run(
        [sys.executable, "-m", "pointea.cli.export", f"ckpt_path={forged}", "output=m.onnx"],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == f"error: {forged}: refused to build 'subprocess.run' (at model): a " \
        "checkpoint may name only the networks and attention kinds of pointea's config groups " \
        "and of the config folders given\n"  # fmt: skip
    victims.untouched()


def test_a_users_own_attention_kind_loads_from_their_config_folder(tmp_path, monkeypatch):
    """A kind outside pointea (its class and its yaml in the user's folders) is refused
    until its config folder is given, then builds the network that was saved."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "my_mixers.py").write_text(
        "from torch import nn\n\n\nclass GatedMixer(nn.Module):\n"
        "    def __init__(self, channels, gate=0.5):\n        super().__init__()\n"
        "        self.linear, self.gate = nn.Linear(channels, channels), gate\n\n"
        "    def forward(self, x, pos=None):\n        return self.gate * self.linear(x)\n"
    )
    monkeypatch.syspath_prepend(str(code))
    conf = tmp_path / "conf"
    (conf / "model" / "attention").mkdir(parents=True)
    (conf / "model" / "attention" / "gated.yaml").write_text(
        "_target_: my_mixers.GatedMixer\n_partial_: true\ngate: 0.5\n"
    )
    from my_mixers import GatedMixer

    torch.manual_seed(0)
    network = PointTransformerCls(3, attention=GatedMixer, **TINY_CLS).eval()
    sizes = {k: list(v) if isinstance(v, tuple) else v for k, v in TINY_CLS.items()}
    meta = {"version": 3, "task": "cls", "trained_model": "pointea.trained_model.TrainedClassifier",
            "model": {"_target_": "pointea.models.PointTransformerCls", "num_classes": 3, **sizes,
                      "attention": {"_target_": "my_mixers.GatedMixer", "_partial_": True,
                                    "gate": 0.5}},
            "num_points": 64, "num_classes": 3, "class_names": ["a", "b", "c"]}  # fmt: skip
    state = {f"model.{k}": v for k, v in network.state_dict().items()}
    torch.save({"state_dict": state, "pointea": meta}, tmp_path / "mine.ckpt")
    with pytest.raises(CheckpointError, match="refused to build 'my_mixers.GatedMixer'"):
        load_model(tmp_path / "mine.ckpt")
    model = load_model(tmp_path / "mine.ckpt", config_dirs=[conf])
    xyz = torch.rand(2, 64, 3)
    with torch.no_grad():
        torch.testing.assert_close(model.network(xyz), network(xyz))


def test_unusable_files_are_one_line_naming_the_checkpoint(trained_cls, tmp_path):
    real = trained_cls[0] / "checkpoints" / "last.ckpt"
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    text = tmp_path / "notes.ckpt"
    text.write_text("not a checkpoint\n")
    cases = [(empty, rf"{empty} is empty \(0 bytes\)"),
             (text, rf"{text} is not a checkpoint pointea can load safely")]  # fmt: skip
    for path, message in cases:
        with pytest.raises(CheckpointError, match=message) as caught:
            load_model(path)
        assert "\n" not in str(caught.value)
    if not torch.cuda.is_available():
        with pytest.raises(CheckpointError, match=rf"{real}: map_location='cuda' names a CUDA"):
            load_model(real, map_location="cuda")


def forged_meta(real, path, **changes):
    checkpoint = load_checkpoint(real)
    for key, value in changes.items():
        if key == "model_num_classes":
            checkpoint["pointea"]["model"]["num_classes"] = value
        else:
            checkpoint["pointea"][key] = value
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_points": 0}, r"num_points=0; expected an integer >= 1"),
        ({"num_points": "256"}, r"num_points='256'; expected an integer >= 1"),
        ({"task": "detect"}, r"task 'detect' is not one of cls, seg"),
        ({"trained_model": "os.system"}, r"trained_model='os.system' is not the kind task=cls"),
        ({"class_names": ["a"]}, r"1 class_names for 13; expected 13"),
        ({"class_names": ["a", "b", "c", 4]}, r"class_names must be a list of names"),
        ({"num_classes": 3, "class_names": list("abc")},
         r"its network config has num_classes=13, its metadata 3"),
        ({"num_classes": 3, "class_names": list("abc"), "model_num_classes": 3},
         r"its weights do not fit the network its metadata describes \(head\..* is \(13,\), the network's is \(3,\)\)"),
        ({"model": "pointea.models.PointTransformerCls"}, r"its network config has no _target_"),
    ],
)  # fmt: skip
def test_metadata_that_disagrees_is_one_line_naming_the_checkpoint(
    trained_cls, tmp_path, changes, message
):
    real = trained_cls[0] / "checkpoints" / "last.ckpt"
    forged = forged_meta(real, tmp_path / "bad.ckpt", **changes)
    with pytest.raises(CheckpointError, match=rf"^{re.escape(str(forged))}: {message}") as caught:
        load_model(forged)
    assert "\n" not in str(caught.value)


def test_train_test_with_weights_that_do_not_fit_is_one_line(trained_cls, data_root, tmp_path):
    real = trained_cls[0] / "checkpoints" / "last.ckpt"
    checkpoint = load_checkpoint(real)
    key = next(k for k in checkpoint["state_dict"] if k.startswith("model.head"))
    checkpoint["state_dict"][key] = torch.zeros(1)
    torch.save(checkpoint, tmp_path / "bad.ckpt")
    out = tmp_path / "run"
    cfg = compose_train(
        [*tiny_overrides(data_root / "cls"), "mode=test", f"ckpt_path={tmp_path / 'bad.ckpt'}"], out
    )
    with pytest.raises(
        CheckpointError, match=rf"bad\.ckpt: its weights do not fit .*\({key[6:]} is \(1,\)"
    ):
        run(cfg)
