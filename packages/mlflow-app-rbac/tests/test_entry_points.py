"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

import types

from mlflow_app_rbac.app import RbacApp
from mlflow_app_rbac.mlflow_compat import find_app, is_factory

from mlflow_plugins_shared.testing import entry_points


def test_server_app_rbac_is_an_app_object_not_a_factory():
    app = entry_points.server_app("rbac")
    assert isinstance(app, RbacApp) and not isinstance(app, types.FunctionType)
    # so MLflow adds neither `()` (gunicorn) nor `--call` (waitress) nor `--factory` (uvicorn)
    assert is_factory(find_app("rbac")) is False


def test_uvicorn_loads_it_as_asgi2_and_its_factory_probe_gets_a_type_error():
    """uvicorn calls the app once without arguments (TypeError: not a factory), then picks ASGI2 for a
    non-coroutine __call__; both come from uvicorn's own Config.load()."""
    from uvicorn.config import Config
    from uvicorn.middleware.asgi2 import ASGI2Middleware

    config = Config("mlflow_app_rbac.app:app", proxy_headers=False)
    config.load()
    assert config.interface == "asgi2"
    assert isinstance(config.loaded_app, ASGI2Middleware)
    assert isinstance(config.loaded_app.app, RbacApp)
