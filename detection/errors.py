"""The package's own errors: each carries a message meant for the person using Vigil."""


class VigilError(Exception):
    """Base of every error Vigil raises on purpose; `str(error)` is fit to show a user."""


class DataError(VigilError):
    """The input data cannot be read or used as a time series."""


class ParameterError(VigilError):
    """A detector was given parameters that do not fit it or the data."""


class NotFittedError(VigilError):
    """A detector was asked to score before it learned from a series."""
