"""The `ganglion` command line."""
