"""The package version (one home, read by setup.cfg and by the saved files)."""

__version__ = "0.1.0"
