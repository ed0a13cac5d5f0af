"""Errors raised when a dataset cannot become correct training data."""

from __future__ import annotations


class DatasetNotFoundError(FileNotFoundError):
    """A dataset id or path that resolves to no Minari dataset."""


class DatasetFormatError(ValueError):
    """A Minari dataset whose contents cannot be used as they are (spaces, values, shapes, file)."""
