"""`mlflow server --app-name rbac`: MLflow's app with the rbac gate in front of every route."""

from __future__ import annotations

import os
import sys
from typing import Any

from mlflow_app_rbac.admin_api import register
from mlflow_app_rbac.config import load_config
from mlflow_app_rbac.gate import Gate
from mlflow_app_rbac.logs import logger
from mlflow_app_rbac.store import RbacStore
from mlflow_plugins_shared.compat import SERVER_IS_ASGI

_FASTAPI_APP: Any = None


def current_fastapi_app() -> Any:
    return _FASTAPI_APP


def _serves_asgi() -> bool:
    """MLflow sets _MLFLOW_SGI_NAME from 3.3; before that (or run by hand) look at the server."""
    name = os.environ.get("_MLFLOW_SGI_NAME")
    if name:
        return name == "uvicorn"
    if not SERVER_IS_ASGI:
        return False
    return "uvicorn" in sys.modules and "gunicorn" not in sys.modules and "waitress" not in sys.modules


def create_app(app: Any = None) -> Any:
    global _FASTAPI_APP
    from mlflow.server import app as mlflow_flask_app
    from mlflow.server.handlers import STATIC_PREFIX_ENV_VAR, _add_static_prefix

    flask_app = app if app is not None else mlflow_flask_app
    cfg = load_config()
    gate = Gate(cfg, RbacStore(cfg.database_uri), os.environ.get(STATIC_PREFIX_ENV_VAR, ""))
    if not getattr(flask_app, "_mlflow_rbac_registered", False):
        register(flask_app, gate, _add_static_prefix)
        flask_app._mlflow_rbac_registered = True  # type: ignore[attr-defined,union-attr]
    if _serves_asgi():
        from mlflow.server.fastapi_app import create_fastapi_app

        from mlflow_app_rbac.asgi import RbacASGI

        _FASTAPI_APP = create_fastapi_app(flask_app)
        logger.info("mlflow-app-rbac: serving ASGI (uvicorn)")
        return RbacASGI(_FASTAPI_APP, gate)
    from mlflow_app_rbac.wsgi import RbacWSGI

    flask_app.wsgi_app = RbacWSGI(flask_app.wsgi_app, gate)  # type: ignore[method-assign]
    logger.info("mlflow-app-rbac: serving WSGI")
    return flask_app
