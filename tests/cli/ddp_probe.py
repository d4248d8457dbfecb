"""A callback the DDP test injects through +callbacks: what each rank saw and computed."""

import json
from pathlib import Path

import pytorch_lightning as pl


class SeenSamples(pl.Callback):
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.seen: list[int] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.seen += batch["index"].tolist()

    def on_test_end(self, trainer, pl_module):
        metrics = {
            k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")
        }
        record = {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "seen": self.seen,
            "metrics": metrics,
        }
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))
