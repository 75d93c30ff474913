"""The package version (a leaf, so that every module can name it without importing the package API)."""

__version__ = "0.1.0"
