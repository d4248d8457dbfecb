"""Run a trained model on your own point clouds and meshes.

    python -m pointea.cli.predict ckpt_path=CKPT input=PATH [output_dir=DIR] [category=NAME]
        [cls_ckpt_path=CLS_CKPT]

Each cloud is normalised as the training data was (centred, unit sphere) and resampled to
the model's point count. A network trained with normals takes each file's own (``.ply``/
``.pcd`` normals, columns 4-6 of a text or ``.npy`` file, a mesh's face normals) or, for a
file without them, normals estimated with Open3D; each result records which. A classifier prints and records the top-5 classes; a part
segmenter writes a coloured PLY with the predicted part of every input point (mapped
back from the resampled points by nearest neighbour) and a PNG. ``predictions.json`` in
``output_dir`` records every result and every file that failed, with the reason.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from pointea.checkpoint import load_model
from pointea.cli.config_checks import check_predict_values
from pointea.cli.file_predictions import file_predictions
from pointea.cli.outputs import write_json
from pointea.cli.run_config import ConfigError, config_dirs
from pointea.configs import CONFIG_DIR
from pointea.data import DatasetError
from pointea.data.user_clouds import normalise_cloud
from pointea.error_boundary import EXIT_USER_ERROR, exit_on_user_error
from pointea.prediction_error import PredictionError
from pointea.vis.normals import NORMAL_NEIGHBOURS
from pointea.vis.point_files import read_cloud
from pointea.vis.render import RenderError

__all__ = ["main", "predict"]


def _inputs(path: Path) -> list[tuple[Path, str | None]]:
    """The files to predict, each with the reason it cannot be (``None`` when it can).

    ``path`` is one file or a folder; a folder's entries are taken in name order, not
    descending into sub-folders. Sub-folders, broken links, symbolic-link loops and other
    non-files are returned with their reason so they are reported, never silently dropped;
    hidden names (``.name``) are skipped.
    """
    if path.is_symlink() and _link_problem(path):
        raise DatasetError(f"{path}: {_link_problem(path)}")
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if not path.is_dir():
        return [(path, None if path.is_file() else "not a regular file")]
    try:
        entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    except OSError as err:
        raise DatasetError(f"{path}: the folder cannot be listed ({err.strerror})") from err
    if not entries:
        raise DatasetError(f"{path}: the folder holds no files")
    found = []
    for entry in entries:
        problem = _link_problem(entry) if entry.is_symlink() else None
        if problem is None and entry.is_dir():
            problem = "a sub-folder; predict reads only the files directly in input= (give the sub-folder as input= to predict it)"
        elif problem is None and not entry.is_file():
            problem = "not a regular file"
        found.append((entry, problem))
    return found


def _link_problem(link: Path) -> str | None:
    """Why a symbolic link cannot be followed, or ``None``."""
    try:
        link.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop this way
        return "a symbolic link loop"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a symbolic link loop"
        return f"a broken symbolic link (its target {os.readlink(link)} is missing)"
    return None


# What fails one file only: recorded with its reason, and the other files predicted.
SKIPPED = (DatasetError, OSError, PredictionError, RenderError)

# Files in output_dir that earlier predict runs wrote.
RECORD = "predictions.json"
OUTPUT_SUFFIXES = (".parts.ply", ".parts.png")
OUTPUT_KEYS = ("ply", "png")


def _earlier_results(out: Path) -> list[str]:
    if not out.is_dir():
        return []
    return sorted(
        p.name for p in out.iterdir() if p.name == RECORD or p.name.endswith(OUTPUT_SUFFIXES)
    )


def _merged(out: Path, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier results of ``output_dir`` with this run's replacing those of the same input
    file or the same output files; outputs of a replaced result that this run did not
    write again are removed, so no output is left that the record does not describe."""
    record = out / RECORD
    earlier = []
    if record.is_file():
        try:
            earlier = json.loads(record.read_text())["results"]
        except (ValueError, KeyError, TypeError) as err:
            raise DatasetError(
                f"{record} cannot be merged into: it is not a predictions record ({err})"
            ) from err

    def same(paths):  # the same file however output_dir= was spelt
        return {str(Path(p).resolve()) for p in paths if p}

    files = same(r["file"] for r in results)
    written = same(r.get(k) for r in results for k in OUTPUT_KEYS)
    kept = []
    for old in earlier:
        outputs = same(old.get(k) for k in OUTPUT_KEYS)
        if not same([old.get("file")]) & files and not outputs & written:
            kept.append(old)
            continue
        for stale in outputs - written:  # replaced, and not written again: remove
            if Path(stale).parent == out.resolve():
                Path(stale).unlink(missing_ok=True)
    return kept + results


def predict(cfg: DictConfig) -> list[dict[str, Any]]:
    """Predict every input file; failures are recorded and reported, never fatal for the rest.

    ``output_dir`` holding earlier results (``predictions.json`` or ``*.parts.*`` files) is
    refused unless ``merge=true``, which keeps the earlier results and replaces those of
    files predicted again. Returns this run's results.
    """
    check_predict_values(cfg)
    out = Path(cfg.output_dir)
    earlier = _earlier_results(out)
    merge = bool(cfg.get("merge", False))
    if earlier and not merge:
        shown = ", ".join(earlier[:3]) + (
            f" and {len(earlier) - 3} more" if len(earlier) > 3 else ""
        )
        raise ConfigError(
            f"output_dir={out} holds earlier predictions ({shown}); choose another output_dir, "
            f"remove them, or pass merge=true to add this run's results to them"
        )
    inputs = _inputs(Path(cfg.input))
    model = load_model(cfg.ckpt_path, config_dirs=config_dirs())
    predict_file = file_predictions(model, cfg)
    if model.takes_normals:
        print(
            f"{cfg.ckpt_path} takes normals: each file's own, or for a file without them "
            f"normals estimated with Open3D ({NORMAL_NEIGHBOURS} nearest neighbours, oriented "
            f"away from the centroid); each result records which"
        )
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for path, problem in inputs:
        try:
            if problem is not None:
                raise DatasetError(f"{path}: {problem}")
            raw, normals = read_cloud(path, mesh_points=cfg.mesh_points, seed=cfg.seed)
            result = predict_file(path, raw, normalise_cloud(raw, path), out, normals=normals)
        except SKIPPED as err:  # recorded; the rest go on
            print(f"skipped: {err}", file=sys.stderr)
            result = {"file": str(path), "error": str(err)}
        results.append({**result, "checkpoint": str(cfg.ckpt_path)})
    record = out / RECORD
    everything = _merged(out, results) if merge else results
    write_json(record, {"checkpoint": str(cfg.ckpt_path), "results": everything})
    failed = sum("error" in r for r in results)
    merged = f", merged with {len(everything) - len(results)} earlier" if merge else ""
    print(f"{len(results) - failed} predicted, {failed} skipped{merged}; see {record}")
    return results


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def _hydra_main(cfg: DictConfig) -> None:
    results = exit_on_user_error(lambda: predict(cfg))
    # A file that could not be predicted is the user's to fix, like any other user error.
    sys.exit(EXIT_USER_ERROR if any("error" in r for r in results) else 0)


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
