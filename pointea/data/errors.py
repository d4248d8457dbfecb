"""The exception raised for data a user supplied that is not what pointea expects."""

__all__ = ["DatasetError"]


class DatasetError(ValueError):
    """A dataset file, folder or archive is missing or malformed; the message names it."""
