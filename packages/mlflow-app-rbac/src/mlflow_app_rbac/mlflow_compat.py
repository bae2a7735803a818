"""MLflow's private names this package uses, and the feature probes: nowhere else.

Every name MLflow spells with a leading underscore, and every probe of "does this MLflow have X",
lives here, so a release that moves one breaks this module (and its test) only. The server-side
names are imported when called (the server module imports Flask and the stores), which keeps
importing the app entry point cheap.

Checked on MLflow 3.0.1 and 3.18.0: the store getters, `_add_static_prefix`, `_find_app` and
`_is_factory` exist in both. The Skills registry (and so its limits and validators) exists from
3.18; where a name exists only there, this module says what it answers without it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

# MLflow 3.18's limit on one bulk registration (`mlflow.utils.validation._MAX_BULK_REGISTER_SKILLS`),
# used when this MLflow has no Skills registry (its routes are then not served anyway).
MAX_BULK_REGISTER_SKILLS_DEFAULT = 500


# the server's stores and paths ----------------------------------------------------------------
def get_tracking_store() -> Any:
    """The running server's tracking store (`mlflow.server.handlers._get_tracking_store`)."""
    from mlflow.server.handlers import _get_tracking_store

    return _get_tracking_store()


def get_model_registry_store() -> Any:
    """The running server's registry store (`mlflow.server.handlers._get_model_registry_store`)."""
    from mlflow.server.handlers import _get_model_registry_store

    return _get_model_registry_store()


def add_static_prefix(route: str) -> str:
    """`route` under the server's `--static-prefix` (`mlflow.server.handlers._add_static_prefix`)."""
    from mlflow.server.handlers import _add_static_prefix

    return str(_add_static_prefix(route))


def static_prefix_env_var() -> str:
    """The environment variable MLflow passes `--static-prefix` to its workers in."""
    from mlflow.server.handlers import STATIC_PREFIX_ENV_VAR

    return str(STATIC_PREFIX_ENV_VAR)


# `mlflow server --app-name` ------------------------------------------------------------------
def find_app(app_name: str) -> str:
    """The `module:object` string MLflow runs for `--app-name app_name` (`mlflow.server._find_app`)."""
    from mlflow.server import _find_app

    return str(_find_app(app_name))


def is_factory(app: str) -> bool:
    """Whether MLflow calls `app` as a factory (`mlflow.server._is_factory`)."""
    from mlflow.server import _is_factory

    return bool(_is_factory(app))


# the Skills registry (MLflow 3.18+) ------------------------------------------------------------
_SKILLS_MODULE = "mlflow.server.skill_registry_api"


def has_skills() -> bool:
    """Whether this MLflow serves the Skills registry (its API module is part of the install)."""
    return importlib.util.find_spec(_SKILLS_MODULE) is not None


def max_bulk_register_skills() -> int:
    """How many skills one `skills/bulk-register` request may hold."""
    if not has_skills():
        return MAX_BULK_REGISTER_SKILLS_DEFAULT
    from mlflow.utils.validation import _MAX_BULK_REGISTER_SKILLS

    return int(_MAX_BULK_REGISTER_SKILLS)


def skill_registry_router() -> Any:
    """MLflow's FastAPI router of the Skills registry (its route order decides which route a path is)."""
    if not has_skills():
        raise RuntimeError("this MLflow has no Skills registry (has_skills() is False)")
    from mlflow.server.skill_registry_api import skill_registry_router as router

    return router


def skill_name_validators() -> tuple[Callable[[str], None], Callable[[str], None]]:
    """MLflow's (skill name, organization name) validators; each raises MlflowException on a bad name."""
    if not has_skills():
        raise RuntimeError("this MLflow has no Skills registry (has_skills() is False)")
    from mlflow.utils.validation import _validate_organization_name, _validate_skill_name

    return _validate_skill_name, _validate_organization_name
