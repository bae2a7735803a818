"""`mlflow server --app-name rbac`: MLflow's app with the rbac gate in front of every route.

The entry point is `app`, an `RbacApp` object rather than a factory function: MLflow adds `()`
(gunicorn) or `--call` (waitress) for a plain function, and waitress cannot load `module:f()`
while MLflow 3.3+ also passes `--call` (so every factory app failed under `--waitress-opts`).
The object is what each server needs as it is: uvicorn sees a non-coroutine `__call__` and calls
it as ASGI2 (`app(scope)` then `(receive, send)`), gunicorn and waitress call it as WSGI
(`app(environ, start_response)`). The real app is built on the first call, in the worker.
`create_app()` stays for callers of the 0.1 factory.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import Any

from mlflow_app_rbac.admin_api import register
from mlflow_app_rbac.config import load_config
from mlflow_app_rbac.gate import Gate
from mlflow_app_rbac.logs import logger
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


def _prepare(app: Any = None) -> tuple[Any, Gate]:
    from mlflow.server import app as mlflow_flask_app

    from mlflow_app_rbac.mlflow_compat import add_static_prefix, static_prefix_env_var
    from mlflow_app_rbac.store import RbacStore

    flask_app = app if app is not None else mlflow_flask_app
    cfg = load_config()
    gate = Gate(cfg, RbacStore(cfg.database_uri), os.environ.get(static_prefix_env_var(), ""))
    if not getattr(flask_app, "_mlflow_rbac_registered", False):
        register(flask_app, gate, add_static_prefix)
        flask_app._mlflow_rbac_registered = True  # type: ignore[attr-defined,union-attr]
    return flask_app, gate


def build_asgi(app: Any = None) -> Any:
    global _FASTAPI_APP
    from mlflow.server.fastapi_app import create_fastapi_app

    from mlflow_app_rbac.asgi import RbacASGI

    flask_app, gate = _prepare(app)
    _FASTAPI_APP = create_fastapi_app(flask_app)
    logger.info("mlflow-app-rbac: serving ASGI")
    return RbacASGI(_FASTAPI_APP, gate)


def build_wsgi(app: Any = None) -> Any:
    from mlflow_app_rbac.wsgi import RbacWSGI

    flask_app, gate = _prepare(app)
    flask_app.wsgi_app = RbacWSGI(flask_app.wsgi_app, gate)  # type: ignore[method-assign]
    logger.info("mlflow-app-rbac: serving WSGI")
    return flask_app


def create_app(app: Any = None) -> Any:
    """The 0.1 factory: ASGI under uvicorn (MLflow 3.3+), else the WSGI Flask app."""
    return build_asgi(app) if _serves_asgi() else build_wsgi(app)


class RbacApp:
    """ASGI (2 and 3) and WSGI app in one object, built on first call (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: tuple[str, Any] | None = None

    def _get(self, interface: str) -> Any:
        built = self._built
        if built is None:
            with self._lock:
                if self._built is None:
                    self._built = (interface, build_asgi() if interface == "asgi" else build_wsgi())
                built = self._built
        if built[0] != interface:
            raise RuntimeError(f"mlflow-app-rbac was built as {built[0].upper()} in this process and cannot also "
                               f"serve {interface.upper()}")
        return built[1]

    def __call__(self, *args: Any) -> Any:
        if len(args) == 2:  # WSGI: (environ, start_response)
            return self._get("wsgi")(*args)
        if len(args) == 1:  # ASGI2: (scope) -> awaitable (receive, send)
            return functools.partial(self._get("asgi"), args[0])
        if len(args) == 3:  # ASGI3: (scope, receive, send)
            return self._get("asgi")(*args)
        # uvicorn calls the app once without arguments to detect factories: it must get a TypeError
        raise TypeError("the rbac app is an ASGI/WSGI application, not a factory")


app = RbacApp()
