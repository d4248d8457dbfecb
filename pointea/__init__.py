"""pointea: point-cloud transformers with external attention."""

__version__ = "0.1.0"
__all__ = ["__version__"]
