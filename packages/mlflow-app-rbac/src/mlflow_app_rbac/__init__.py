"""mlflow server --app-name rbac: OIDC/JWT and API-key auth, per-resource permissions, audit log."""

from mlflow_app_rbac.version import __version__

__all__ = ["__version__"]
