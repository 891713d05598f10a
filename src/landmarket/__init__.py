"""landmarket: an inter-municipal commercial land marketplace API."""

__version__ = "0.1.0"
