"""What the classification and segmentation tasks share: optimiser wiring, test-time voting,
and the run metadata and RNG state that checkpoints carry as plain data."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from pointea.tasks.training_error import TrainingError
from pointea.tasks.weight_average import EMA_KEY, WeightAverage

__all__ = ["PointTask"]

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]
Batch = dict[str, torch.Tensor]


class PointTask(pl.LightningModule):
    """Base of the tasks. The network is passed in; the task never builds data.

    Subclasses define ``predict_logits``, ``loss``, ``update_metric``, the metrics
    ``val_metric``, ``test_metric`` and ``test_vote_metric``, and what to log at epoch end;
    the training, validation, test and voting steps are shared.

    Args:
        model: the network.
        optimizer: ``params -> Optimizer`` (a Hydra ``_partial_``).
        scheduler: ``optimizer -> LRScheduler`` stepped once per epoch, or None.
        votes: test-time voting: average the logits of the plain batch and ``votes - 1``
            copies passed through ``vote_transform``; reported separately. 1 = off.
        compile: compile the network's forward with ``torch.compile``.
        metadata: plain data stored in every checkpoint under ``"pointea"`` (task name,
            model configuration, class table), so a checkpoint describes itself.
        ema_decay: keep an exponential moving average of the weights (e.g. 0.999), used for
            validation and test and saved in checkpoints (export and predict use it);
            None or 0 = off. A checkpoint that holds an average brings it back on load.
    """

    monitor = ""  # the validation metric that selects the best checkpoint (maximised)

    def __init__(
        self,
        model: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        *,
        votes: int = 1,
        vote_transform: Callable[[Batch, torch.Generator | None], Batch] | None = None,
        compile: bool = False,
        metadata: Mapping[str, Any] | None = None,
        ema_decay: float | None = None,
    ) -> None:
        super().__init__()
        if votes < 1:
            raise ValueError(f"task.votes must be >= 1, got {votes}")
        if votes > 1 and vote_transform is None:
            raise ValueError("task.votes > 1 needs a task.vote_transform to make the copies")
        self.model = model
        if compile:
            model.compile()  # in place: parameter names and checkpoints stay unchanged
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.votes, self.vote_transform = votes, vote_transform
        self.metadata = dict(metadata or {})
        self.ema = WeightAverage(ema_decay) if ema_decay else None
        self._ema_swapped = False  # True while evaluation runs on the average

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }

    def optimizer_step(self, *args, **kwargs) -> None:
        super().optimizer_step(*args, **kwargs)
        if self.ema is not None:
            self.ema.update(self.model)

    def on_fit_end(self) -> None:
        # A fit that made no optimiser step (a zero time limit, fewer batches than the limits
        # need) would be tested and reported on untrained weights.
        if self.trainer.global_step == 0:
            raise TrainingError(
                "training made no optimiser step (trainer.global_step is 0 after fit): check "
                "trainer.max_time, trainer.max_steps and trainer.limit_train_batches"
            )

    # --- weight averaging: the average is evaluated; the training weights train -------------

    def on_fit_start(self) -> None:
        if self.ema is not None and not self.ema.weights:  # not restored from a checkpoint
            self.ema.reset(self.model)

    def _swap_average(self, on: bool) -> None:
        if self.ema is not None and self.ema.weights and self._ema_swapped != on:
            self.ema.swap(self.model)
            self._ema_swapped = on

    def on_validation_start(self) -> None:
        self._swap_average(True)

    def on_validation_end(self) -> None:
        self._swap_average(False)

    def on_test_start(self) -> None:
        self._swap_average(True)

    def on_test_end(self) -> None:
        self._swap_average(False)

    # --- what each task defines -------------------------------------------------------------

    def predict_logits(self, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def update_metric(self, metric, logits: torch.Tensor, batch: Batch) -> None:
        """Feed one batch's predictions to ``metric`` (the val, test or voted-test metric)."""
        raise NotImplementedError

    def test_details(self) -> dict[str, Any]:
        """What the run's plots need beyond the CSV log, after testing (plain data)."""
        return {}

    @staticmethod
    def network_input(batch: Batch) -> torch.Tensor:
        """The network's per-point input: ``pos``, then ``normals`` when the data feeds them
        (``data.features=[normals]``).

        Shapes:
            batch["pos"]: (B, N, 3), batch["normals"]: (B, N, 3) -> (B, N, 3) or (B, N, 6)
        """
        if "normals" in batch:
            return torch.cat([batch["pos"], batch["normals"]], dim=-1)
        return batch["pos"]

    # --- the shared loop ---------------------------------------------------------------------

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss = self.loss(self.predict_logits(batch), batch)
        # One device sync per step: a NaN or infinite loss would make every later weight NaN
        # and the run's metrics meaningless, so it stops the run where it starts.
        if not torch.isfinite(loss):
            raise TrainingError(
                f"the training loss is {loss.item()} at epoch {self.current_epoch}, step "
                f"{self.global_step} (batch {batch_idx} of the epoch): training stopped; lower "
                f"optim.optimizer.lr or check the data for non-finite points"
            )
        self.log(
            "train/loss",
            loss,
            on_step=True,
            on_epoch=True,
            prog_bar=True,
            batch_size=len(batch["pos"]),
        )
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        logits = self.predict_logits(batch)
        self.update_metric(self.val_metric, logits, batch)
        self.log(
            "val/loss",
            self.loss(logits, batch),
            on_epoch=True,
            sync_dist=True,
            batch_size=len(batch["pos"]),
        )

    def on_test_epoch_start(self) -> None:
        self._vote_generator = self.vote_generator()

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self.update_metric(self.test_metric, self.predict_logits(batch), batch)
        if self.votes > 1:
            self.update_metric(
                self.test_vote_metric, self.voted_logits(batch, self._vote_generator), batch
            )

    def voted_logits(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        """Mean logits over the plain batch and ``votes - 1`` augmented copies."""
        total = self.predict_logits(batch)
        for _ in range(self.votes - 1):
            total = total + self.predict_logits(self.vote_transform(batch, generator))
        return total / self.votes

    def vote_generator(self) -> torch.Generator:
        """Fixed-seed generator so that voted metrics are reproducible."""
        return torch.Generator(device=self.device).manual_seed(1234 + self.global_rank)

    # --- checkpoints: plain data only, loadable with weights_only=True ---------------------

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["pointea"] = self.metadata
        if self.ema is not None and self.ema.weights:
            checkpoint[EMA_KEY] = self.ema.state_dict()
            if self._ema_swapped:  # saved during validation: the model holds the average
                average = {k: v.clone() for k, v in self.model.state_dict().items()}
                training = {f"model.{k}": v.clone() for k, v in self.ema.weights.items()}
                checkpoint["state_dict"].update(training)
                checkpoint[EMA_KEY]["weights"] = average
        checkpoint["rng_state"] = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            checkpoint["rng_state"]["cuda"] = torch.cuda.get_rng_state_all()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if EMA_KEY in checkpoint:
            self.ema = self.ema or WeightAverage(checkpoint[EMA_KEY]["decay"])
            self.ema.load_state_dict(checkpoint[EMA_KEY], self.device)
        # Restoring the global RNG makes dropout after a resume match an uninterrupted run.
        state = checkpoint.get("rng_state", {})
        if "torch" in state:
            torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
