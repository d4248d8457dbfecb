"""A ModelNet40-sized training epoch through train.py against the port fed by a DataLoader.

    python benchmarks/epoch.py [--quick] [--shapes 1000] [--batches N] [--compile]

pointea: ``train.py`` on the built-in data generated in ModelNet40's layout (by default at
its training size, 9,841 shapes after the validation carve; ``--shapes N`` for about N),
device-resident data module, PCT's augmentations, batch 32. Port: the straightforward PCT
port (external attention) fed by a per-sample numpy Dataset with the same augmentations
in a DataLoader with workers, batch 32, SGD. Every batch is timed from one training-batch
end to the next (data loading included). Without --batches the whole epoch runs: its
wall time (train.py: validation and checkpointing included) is reported beside the sum
of the step times (forward, loss, backward, optimiser), and the rest is broken down.
With --batches N only the first N batches run and the mean after 3 warm-up batches is
scaled to the whole epoch (say so when reporting).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from _port import load_port_module
from data_pipeline import NumpyAugmentedClouds
from torch.utils.data import DataLoader

from pointea.data import ModelNet40H5, SyntheticConfig, ensure_synthetic
from pointea.data.splits import stratified_split

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 3


def pointea_epoch(
    data_root: Path, options: str, batches: int | None, compile_: bool, workdir: Path
) -> dict:
    full = not batches
    timer_file = workdir / "timer.json"
    command = [
        sys.executable, "train.py", "task=cls", "data=synthetic_cls", f"data.root={data_root}",
        f"+data.builtin_options={options}", "trainer=cpu", "trainer.max_epochs=1",
        f"trainer.limit_val_batches={1.0 if full else 0}", "trainer.limit_test_batches=1",
        "trainer.num_sanity_val_steps=0", f"compile={str(compile_).lower()}",
        "+callbacks.timer._target_=batch_timer.BatchTimer", f"+callbacks.timer.path={timer_file}",
        f"hydra.run.dir={workdir / 'run'}",
    ]  # fmt: skip
    if batches:
        command.append(f"trainer.limit_train_batches={batches}")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    timed = json.loads(timer_file.read_text())
    return {**timed, "batches_run": len(timed["intervals"])}


def port_epoch(data_root: Path, batches: int | None, workers: int) -> dict:
    port = load_port_module()
    train = ModelNet40H5(data_root, "train", num_points=1024)
    keep, _ = stratified_split(train.labels, 0.1, seed=0)  # the shapes train.py trains on
    loader = DataLoader(
        NumpyAugmentedClouds(train.points[keep].numpy(), train.labels[keep].numpy(), 1024),
        batch_size=32, shuffle=True, drop_last=True, num_workers=workers, persistent_workers=workers > 0,
    )  # fmt: skip
    torch.manual_seed(0)
    model = port.PCT("ea", ncls=len(train.class_names))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    intervals, steps, epoch_start = [], [], time.perf_counter()
    last = epoch_start
    for i, (xyz, label) in enumerate(loader):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(xyz), label.long(), label_smoothing=0.2).backward()
        optimizer.step()
        now = time.perf_counter()
        intervals.append(now - last)
        steps.append(now - start)
        last = now
        if batches and i + 1 >= batches:
            break
    return {"intervals": intervals, "steps": steps, "epochs": [last - epoch_start],
            "batches_run": len(intervals)}  # fmt: skip


def summarise(run: dict, batches_per_epoch: int) -> dict:
    if run["batches_run"] < batches_per_epoch:  # a part of the epoch: scale its steady mean
        steady = run["intervals"][WARMUP:] or run["intervals"]
        per_batch = statistics.fmean(steady)
        return {"batches_run": run["batches_run"], "seconds_per_batch": round(per_batch, 3),
                "epoch_seconds": round(per_batch * batches_per_epoch, 1), "scaled": True}  # fmt: skip
    # The whole epoch, every batch: wall time against the sum of the step times.
    epoch, steps = run["epochs"][0], sum(run["steps"])
    waits = sum(run["intervals"]) - steps  # data and augmentation between steps
    validation = sum(run.get("validation", []))
    return {
        "batches_run": run["batches_run"], "scaled": False,
        "seconds_per_batch": round(sum(run["intervals"]) / run["batches_run"], 3),
        "epoch_seconds": round(epoch, 2), "step_seconds": round(steps, 2),
        "data_between_steps_seconds": round(waits, 2), "validation_seconds": round(validation, 2),
        "other_seconds": round(epoch - sum(run["intervals"]) - validation, 2),
        "outside_steps_fraction": round((epoch - steps) / epoch, 4),
        "slowest_step_seconds": round(max(run["steps"]), 3),
        "first_step_seconds": round(run["steps"][0], 3),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batches", type=int, default=None, help="run only the first N batches")
    parser.add_argument("--shapes", type=int, default=None, help="about N training shapes")
    parser.add_argument("--compile", action="store_true", help="train.py compile=true")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    per_class = 841  # 13 classes: 10,933 shapes, 9,841 after the 10% validation carve
    if args.shapes:
        per_class = -(-args.shapes * 10 // 9 // 13)  # before the validation carve
    if args.quick:  # one whole (small) epoch of 6 batches
        per_class, args.batches, args.workers = 16, None, 1
    options = f"{{cls_train_per_class: {per_class}, cls_test_per_class: 4}}"
    config = SyntheticConfig(cls_train_per_class=per_class, cls_test_per_class=4)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data_root = args.out / f"synthetic_cls_{per_class}"
        ensure_synthetic(data_root, "synthetic_cls", config)
        ours = pointea_epoch(data_root, options, args.batches, args.compile, workdir)
    train_size = len(
        stratified_split(ModelNet40H5(data_root, "train", 1024).labels, 0.1, seed=0)[0]
    )
    batches_per_epoch = train_size // 32
    result = {
        "training_clouds": train_size, "batches_per_epoch": batches_per_epoch, "compile": args.compile,
        "pointea": summarise(ours, batches_per_epoch),
        "port": summarise(port_epoch(data_root, args.batches, args.workers), batches_per_epoch),
    }  # fmt: skip
    result["speedup"] = round(
        result["port"]["epoch_seconds"] / result["pointea"]["epoch_seconds"], 2
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "epoch.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
