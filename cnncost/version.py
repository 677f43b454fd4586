"""cnncost's version, at the bottom of the layers: the cache keys on it, the CLI prints it."""

__version__ = "0.1.0"
