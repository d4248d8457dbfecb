"""Hydra entry points. Thin: they compose configs and hand over to the library."""

__all__: list[str] = []
