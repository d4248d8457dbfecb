"""Compose and run pointea's Hydra configs in-process, as train.py would."""

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

import pointea.configs  # noqa: F401  (registers the resolver the data configs use)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "pointea" / "configs"


def compose_train(overrides, output_dir, config_name="train", config_dir=CONFIGS):
    """The config an entry point would run with, its output folder set to ``output_dir``."""
    with initialize_config_dir(str(config_dir), version_base="1.3"):
        cfg = compose(config_name, overrides=list(overrides), return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.runtime.cwd = str(ROOT)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def compose_predict(ckpt, inputs, out, *extra):
    """The config ``pointea-predict`` would run with on ``inputs``, writing into ``out``."""
    return compose_train(
        [f"ckpt_path={ckpt}", f"input={inputs}", f"output_dir={out}", *extra],
        out,
        config_name="predict",
    )


def tiny_overrides(data_root, task="cls", epochs=1, batches=2):
    data = "synthetic_cls" if task == "cls" else "synthetic_parts"
    options = (
        "{num_points: 256, cls_train_per_class: 8, cls_test_per_class: 2, parts_train_per_category: 6, "
        "parts_val_per_category: 2, parts_test_per_category: 2}"
    )
    return [
        f"task={task}",
        f"data={data}",
        f"model=pct_{task}_tiny",
        "trainer=cpu",
        f"data.root={data_root}",
        f"+data.builtin_options={options}",
        "data.num_points=256",
        "data.batch_size=8",
        f"trainer.max_epochs={epochs}",
        f"trainer.limit_train_batches={batches}",
        "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2",
        "trainer.log_every_n_steps=1",
    ]
