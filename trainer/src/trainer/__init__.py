"""Train the census-income LightGBM model and track it in MLflow with few requests."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("trainer")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
