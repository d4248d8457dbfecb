"""The exception raised when training cannot produce a meaningful network."""

__all__ = ["TrainingError"]


class TrainingError(RuntimeError):
    """Training went wrong in a way the user's settings cause (a non-finite loss, no
    optimiser step at all); the message names the epoch and step and what to change."""
