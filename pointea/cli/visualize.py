"""Render a checkpoint's predictions on a test set: PNGs, a contact sheet, coloured PLYs.

    python -m pointea.cli.visualize ckpt_path=CKPT data=shapenetpart [split=test]
        [num_shapes=16] [output_dir=DIR] [show=false]

Segmentation: each shape's predicted parts beside its ground truth, in the fixed part
palette, with the shape IoU in the caption. Classification: the cloud with its true and
predicted class (green when right, red when wrong).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from pointea.checkpoint import load_network, run_folder
from pointea.cli.config_checks import check_visualize_values
from pointea.cli.outputs import write_json
from pointea.cli.run_config import ConfigError, check_same_tables, config_dirs
from pointea.configs import CONFIG_DIR
from pointea.data.synthetic import SyntheticConfig
from pointea.error_boundary import exit_on_user_error
from pointea.vis.figures import contact_sheet, save_png
from pointea.vis.window import NoDisplayError, show_clouds

__all__ = ["main", "visualize"]


@torch.no_grad()
def _predict(figures, network, arrays: dict[str, torch.Tensor], batch_size: int = 8):
    """The task's per-shape predictions, in batches."""
    count = len(arrays["pos"])
    return torch.cat(
        [
            figures.predict(network, {k: v[start : start + batch_size] for k, v in arrays.items()})
            for start in range(0, count, batch_size)
        ]
    )


def visualize(cfg: DictConfig) -> Path:
    """Write the pictures and PLY files; returns the output folder.

    The task (chosen by ``data=``) says what to draw: ``task.figures`` builds its figure
    maker (:class:`~pointea.cli.class_figures.ClassFigures` or
    :class:`~pointea.cli.part_figures.PartFigures`) from the checkpoint's metadata.
    """
    check_visualize_values(cfg)
    network, meta = load_network(cfg.ckpt_path, config_dirs=config_dirs())
    if meta["task"] != cfg.task.name:
        raise ConfigError(
            f"{cfg.ckpt_path} is a task={meta['task']} checkpoint, but this data (dataset "
            f"{cfg.data.dataset._target_}) is for task={cfg.task.name}: pick the data= it was "
            f"trained on"
        )
    datamodule = instantiate(cfg.data)
    if datamodule.builtin:
        _check_builtin_options(cfg.ckpt_path, datamodule)
    datamodule.prepare_data()
    tables = datamodule.read_tables()
    takes = getattr(network, "in_channels", 3)
    if takes != 3 + 3 * len(datamodule.features):
        raise ConfigError(
            f"{cfg.ckpt_path}'s network takes {takes} channels per point, but "
            f"data.features={list(datamodule.features)} feeds {3 + 3 * len(datamodule.features)}: "
            f"give the data.features it was trained with"
        )
    kind = get_class(cfg.task.trained_model._target_)
    check_same_tables(cfg.ckpt_path, meta, kind.metadata_from(tables))
    folder = run_folder(cfg.ckpt_path) or Path(cfg.ckpt_path).resolve().parent
    out = Path(cfg.output_dir) if cfg.output_dir else folder / "visualize" / cfg.split
    num_points = meta["num_points"]
    split = datamodule.load_split(cfg.split)
    count = min(cfg.num_shapes, len(split["pos"]))
    arrays = {k: v[:count, :num_points] if v.dim() > 1 else v[:count] for k, v in split.items()}
    figures = instantiate(cfg.task.figures, meta=meta, release=datamodule.folder)
    start = time.time_ns()
    pictures, shown = [], []
    for picture, clouds in figures.draw(arrays, _predict(figures, network, arrays), out):
        pictures.append(picture)
        shown += clouds
    from PIL import Image

    sheet = contact_sheet([np.asarray(Image.open(p).convert("RGB")) for p in pictures], columns=4)
    save_png(sheet, out / "contact_sheet.png")
    _replace_record(out, start)
    print(f"wrote {len(pictures)} pictures, PLY files and contact_sheet.png to {out}")
    if cfg.show:
        show_clouds(shown, title=f"pointea: {Path(cfg.ckpt_path).name}")
    return out


def _check_builtin_options(ckpt_path: str, datamodule) -> None:
    """A built-in release (``data=synthetic_*``) is generated from ``data.builtin_options``:
    visualize draws the release the checkpoint was trained on (the options its run folder's
    ``config.yaml`` records) and never replaces a generated release in ``data.root`` (its
    ``generator.json`` records its options), which other runs may be trained on."""
    given = asdict(datamodule.builtin_config)
    folder = run_folder(ckpt_path)
    if folder is not None:
        record = folder / "config.yaml"
        try:
            data = OmegaConf.to_container(OmegaConf.load(record), resolve=True).get("data") or {}
        except Exception as err:  # unreadable, not YAML, not a mapping: said in one line
            raise ConfigError(f"{record}: cannot read the run's config ({err})") from None
        if data.get("builtin") == datamodule.builtin:
            trained = asdict(SyntheticConfig(**dict(data.get("builtin_options") or {})))
            if trained != given:
                raise ConfigError(
                    f"{ckpt_path} was trained on data.builtin={datamodule.builtin} generated with "
                    f"data.builtin_options {_differing(trained, given)} (recorded in {record}), "
                    f"but this visualize gives {_differing(given, trained)}: give the options it "
                    f"was trained with"
                )
    for stamp in Path(datamodule.root).expanduser().glob("*/generator.json"):
        try:
            made = json.loads(stamp.read_text())
        except (OSError, ValueError):
            continue  # not a release of this generator's: generation refuses to replace it
        if not isinstance(made, dict) or made.get("generator") != datamodule.builtin:
            continue
        made = {key: made.get(key) for key in given}
        if made != given:
            raise ConfigError(
                f"{stamp.parent} holds data.builtin={datamodule.builtin} generated with "
                f"data.builtin_options {_differing(made, given)}, but this visualize gives "
                f"{_differing(given, made)}: visualize never regenerates a release; give the "
                f"options {ckpt_path} was trained with, or another data.root"
            )


def _differing(options: dict, other: dict) -> str:
    """``{cls_train_per_class: 8, num_points: 256}``: the options that differ from ``other``."""
    return "{" + ", ".join(f"{k}: {v}" for k, v in options.items() if other.get(k) != v) + "}"


# What a visualize run wrote into its output folder, by name.
RECORD = ".visualize.json"


def _replace_record(out: Path, start: int) -> None:
    """Record the files this run wrote (``shape_*`` and the contact sheet, written since
    ``start``) and remove those an earlier visualize recorded that this one did not write
    again, so the folder shows only this contact sheet's shapes. A file no visualize
    recorded (a user's own ``shape_050_photo.jpg``) is never touched."""
    written = sorted(
        p.name
        for p in [*out.glob("shape_*"), out / "contact_sheet.png"]
        if p.is_file() and p.stat().st_mtime_ns >= start
    )
    record = out / RECORD
    earlier = []
    if record.is_file():
        try:
            earlier = list(json.loads(record.read_text())["files"])
        except (ValueError, KeyError, TypeError):
            earlier = []  # not ours to trust: remove nothing
    for name in set(earlier) - set(written):
        path = out / Path(name).name  # only names inside out
        if path.is_file():
            path.unlink()
    write_json(record, {"files": written})


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="visualize")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        exit_on_user_error(lambda: visualize(cfg))
    except NoDisplayError as err:
        print(f"note: {err}", file=sys.stderr)


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
