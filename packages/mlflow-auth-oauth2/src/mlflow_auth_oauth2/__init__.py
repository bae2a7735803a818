"""MLflow request auth: OAuth2 client credentials, rotated bearer-token files and token commands."""

from mlflow_auth_oauth2.version import __version__

__all__ = ["__version__"]
