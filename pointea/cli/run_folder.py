"""One run per run folder: a lock while a run works in it, and no second run into it.

A run folder (``outputs/<task>-<data>/<time>/``) belongs to one training run from its
first start to its end, resumes included. While a run works in it, its first process
holds an advisory lock on ``.pointea.lock`` (``flock``: released by the kernel when the
process dies, so a killed run never leaves a stale lock). A second run started into the
folder is refused while the lock is held, and afterwards too if the folder already holds
a run's outputs, unless it resumes that run from one of the folder's checkpoints.
"""

from __future__ import annotations

import copy
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from pointea.checkpoint import run_folder
from pointea.config_error import ConfigError
from pointea.tasks.checkpoint_io import remove_stale_temporaries

__all__ = [
    "RefuseHeldRunFolder",
    "RunFolderError",
    "claim_run_folder",
    "is_primary_process",
    "resumed_run_folder",
    "save_run_config",
]

LOCK_NAME = ".pointea.lock"
# What a run writes into its folder; any of them means the folder already holds a run.
RUN_OUTPUTS = ("config.yaml", "metrics.json", "checkpoints", "csv", "tensorboard")


class RunFolderError(ConfigError):
    """A run folder that this run may not use; the message names it and says why."""


def is_primary_process() -> bool:
    """True in the process that owns the run folder: global rank 0 (DDP launchers and
    torchrun set ``RANK``; Lightning's own launcher sets ``LOCAL_RANK`` and ``NODE_RANK``)."""
    env = os.environ
    if "RANK" in env:
        return int(env["RANK"]) == 0
    if "SLURM_PROCID" in env:
        return int(env["SLURM_PROCID"]) == 0
    return int(env.get("LOCAL_RANK", 0)) == 0 and int(env.get("NODE_RANK", 0)) == 0


def resumed_run_folder(ckpt_path: str | Path) -> Path:
    """The run folder a resume continues in: ``RUN`` for ``RUN/checkpoints/NAME.ckpt``
    (see :func:`pointea.checkpoint.run_folder`).

    Raises:
        RunFolderError: the checkpoint does not lie in a run folder's ``checkpoints/``.
    """
    folder = run_folder(ckpt_path)
    if folder is None:
        raise RunFolderError(
            f"ckpt_path={ckpt_path}: mode=fit resumes a run in its own folder, so the checkpoint "
            f"must be RUN/checkpoints/NAME.ckpt beside RUN/config.yaml (this one is not); "
            f"to only evaluate it use mode=test"
        )
    return folder


def _held_outputs(folder: Path) -> list[str]:
    return [name for name in RUN_OUTPUTS if (folder / name).exists()]


def refuse_held_folder(folder: Path) -> None:
    """A new run is refused a folder that already holds a run's outputs."""
    held = _held_outputs(folder)
    if held:
        raise RunFolderError(
            f"run folder {folder} already holds a run ({', '.join(held)}); a new run needs a "
            f"new folder, and mode=fit ckpt_path={folder / 'checkpoints' / 'last.ckpt'} "
            f"resumes that one"
        )


class RefuseHeldRunFolder(Callback):
    """Hydra callback (``hydra.callbacks`` in ``train.yaml``): a run that will be refused is
    refused before Hydra makes its output folder or writes anything there. A new run into a
    folder that holds a run is refused, so that run's own record of how it was launched
    (``.hydra/config.yaml``, ``overrides.yaml``, ``hydra.yaml``) stays as it was; so is any
    run whose configuration :func:`~pointea.cli.run_config.check_run_config` refuses (a bad
    value, a checkpoint that does not fit), which would otherwise leave a folder holding only
    ``.hydra/``. :func:`claim_run_folder` checks the folder again under its lock."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from hydra.core.hydra_config import HydraConfig

        from pointea.error_boundary import exit_on_user_error

        if not is_primary_process():
            return  # a DDP process the primary one started: it joins the primary's folder
        HydraConfig.instance().set_config(config)  # the output folder names use hydra:...
        exit_on_user_error(lambda: _refuse_before_hydra_writes(config))


def _refuse_before_hydra_writes(config: DictConfig) -> None:
    from pointea.cli.run_config import check_run_config  # it imports this module

    if not (config.get("mode") == "fit" and config.get("ckpt_path")):
        refuse_held_folder(Path(str(config.hydra.run.dir)))  # a resume works in its own folder
    task_config = copy.deepcopy(config)  # as Hydra gives the run: no hydra node, unchanged
    with read_write(task_config), open_dict(task_config):
        del task_config["hydra"]
    check_run_config(task_config)


def _lock(folder: Path) -> int:
    """Take the folder's lock without waiting; the open descriptor holds it."""
    path = folder / LOCK_NAME
    for _ in range(3):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunFolderError(
                f"run folder {folder} is in use by another run (process {holder}); two runs "
                f"never share a folder: wait for it to end or start this one elsewhere"
            ) from None
        try:  # the holder before us may have removed the file between our open and flock
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            return fd
        os.close(fd)
    raise RunFolderError(f"could not lock run folder {folder}: its lock file keeps changing")


def save_run_config(cfg: DictConfig, folder: Path, *, network: dict[str, Any]) -> None:
    """Write ``folder/config.yaml``, resolved, with ``model`` recording ``network``: the
    network this run builds (for ``mode=test``, the checkpoint's, whatever ``model.*`` the
    command line gave). A resume writes the config it runs with; the one it replaces is
    kept as ``config.N.yaml`` (N = 1 for the first start, 2, ...)."""
    cfg = OmegaConf.to_container(cfg, resolve=True)
    cfg["model"] = network
    config = folder / "config.yaml"
    if config.is_file():
        n = 1
        while (folder / f"config.{n}.yaml").exists():
            n += 1
        os.replace(config, folder / f"config.{n}.yaml")
    tmp = folder / ".config.yaml.tmp"
    OmegaConf.save(OmegaConf.create(cfg), tmp)
    os.replace(tmp, config)


@contextmanager
def claim_run_folder(folder: Path, *, resume: bool) -> Iterator[Path]:
    """Hold ``folder`` for this run while the ``with`` block works in it.

    Only the primary process claims the folder; the other DDP processes write nothing
    there and pass straight through. A resume (``resume=True``) may enter a folder that
    holds a run, its own; before it starts, temporary files of checkpoint saves that an
    earlier kill interrupted are removed.

    Raises:
        RunFolderError: another run holds the folder, or (without ``resume``) the folder
            already holds a run's outputs.
    """
    if not is_primary_process():
        yield folder
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = _lock(folder)
    try:
        if not resume:
            refuse_held_folder(folder)
        else:
            remove_stale_temporaries(folder / "checkpoints")
        yield folder
    finally:
        (folder / LOCK_NAME).unlink(missing_ok=True)
        os.close(fd)
