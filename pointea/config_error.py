"""The error for a configuration value that cannot work."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A configuration or checkpoint that cannot work; the message says which key and why."""
