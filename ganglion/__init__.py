"""Ganglion's client package: the SDK (`ganglion.tracking`, `ganglion.client`) and the CLI."""

from ganglion.client import ApiClient, GanglionError

__all__ = ["ApiClient", "GanglionError"]
