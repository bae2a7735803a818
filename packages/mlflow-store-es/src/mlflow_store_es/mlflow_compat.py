"""Every private MLflow name this store uses, in one place (``make lint`` refuses them anywhere else).

MLflow renames and removes underscore names between minor releases (3.18 dropped
``_validate_model_alias_name``). Each name is taken from MLflow where the installed release has it,
under every name it has had; where none is there, this module carries our own equivalent, which
``tests/test_mlflow_compat.py`` holds to MLflow's behaviour. Names needed only by features that older
releases lack are imported on first use, so importing the store never fails on the floor (3.0).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
from typing import Any

from mlflow.entities.dataset_summary import _DatasetSummary
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.artifact.utils.models import _parse_model_uri
from mlflow.utils.mlflow_tags import _get_run_name_from_tags
from mlflow.utils.name_utils import _generate_random_name, _generate_unique_integer_id
from mlflow.utils.validation import (
    _validate_batch_log_data,
    _validate_batch_log_limits,
    _validate_dataset_inputs,
    _validate_experiment_artifact_location_length,
    _validate_experiment_id,
    _validate_experiment_name,
    _validate_experiment_tag,
    _validate_logged_model_name,
    _validate_metric_name,
    _validate_model_name,
    _validate_model_renaming,
    _validate_model_version_tag,
    _validate_param,
    _validate_param_keys_unique,
    _validate_registered_model_tag,
    _validate_run_id,
    _validate_tag,
    _validate_tag_name,
    _validate_trace_tag,
)


def _first(module: str, *names: str) -> Any:
    """The first of ``names`` that ``module`` defines on the installed MLflow, else None."""
    mod = importlib.import_module(module)
    for name in names:
        if hasattr(mod, name):
            return getattr(mod, name)
    return None


def _lazy(module: str, name: str) -> Any:
    """``module.name``, imported on call: for names of features that MLflow 3.0 lacks."""
    return getattr(importlib.import_module(module), name)


_REGISTERED_MODEL_ALIAS_LATEST: str = _first("mlflow.utils.validation", "_REGISTERED_MODEL_ALIAS_LATEST") or "latest"

# Alias names as MLflow 3.0-3.18 accept them (`_REGISTERED_MODEL_ALIAS_REGEX`, length 255).
_ALIAS_CHARS = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_MAX_ALIAS_LENGTH = 255


def _own_validate_alias_name(alias: str | None) -> None:
    if alias is None or alias == "":
        raise MlflowException("Registered model alias name cannot be empty.", INVALID_PARAMETER_VALUE)
    if not _ALIAS_CHARS.fullmatch(alias):
        raise MlflowException(f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores "
                              "(_), and dashes (-).", INVALID_PARAMETER_VALUE)
    if len(alias) > _MAX_ALIAS_LENGTH:
        raise MlflowException(f"Registered model alias name '{alias[:250]}' had length {len(alias)}, which exceeded "
                              f"length limit of {_MAX_ALIAS_LENGTH}", INVALID_PARAMETER_VALUE)


def _own_validate_alias_name_reserved(alias: str) -> None:
    if alias.lower() == "latest":
        raise MlflowException("'latest' alias name (case insensitive) is reserved.", INVALID_PARAMETER_VALUE)
    if _VERSION_ALIAS.fullmatch(alias):
        raise MlflowException(f"Version alias name '{alias}' is reserved.", INVALID_PARAMETER_VALUE)


# 3.18 renamed `_validate_model_alias_name` to `_validate_alias_name(alias, resource_type=...)`; in 3.0
# the reserved-name check was part of it and `_validate_model_alias_name_reserved` did not exist.
_mlflow_alias_name = _first("mlflow.utils.validation", "_validate_alias_name", "_validate_model_alias_name")
_mlflow_alias_name_reserved = _first("mlflow.utils.validation", "_validate_alias_name_reserved",
                                     "_validate_model_alias_name_reserved")


def _validate_model_alias_name(alias: str) -> None:
    """Characters and length of a registered model's alias (not the reserved names)."""
    if _mlflow_alias_name is not None:
        _mlflow_alias_name(alias)
    else:
        _own_validate_alias_name(alias)


def _validate_model_alias_name_reserved(alias: str) -> None:
    """Refuse ``latest`` and version-shaped aliases such as ``v3``."""
    (_mlflow_alias_name_reserved or _own_validate_alias_name_reserved)(alias)


_mlflow_parse_experiment_id = _first("mlflow.utils.validation", "_parse_experiment_id")


def _parse_experiment_id(experiment_id: str | int | None) -> int:
    """MLflow's ``_parse_experiment_id`` (3.2+), or the same int parse with the same error."""
    mlflow_parse = _mlflow_parse_experiment_id
    if mlflow_parse is not None:
        return int(mlflow_parse(experiment_id))
    try:
        return int(experiment_id)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise MlflowException(f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer.",
                              INVALID_PARAMETER_VALUE) from None


def _validate_model_version(model_version: object) -> int:
    """The version as an int (MLflow 3.17's validator returns it; 3.0's returns None)."""
    from mlflow.utils.validation import _validate_model_version as validate

    validate(model_version)
    return int(model_version)  # type: ignore[call-overload]


# -- names of trace features newer than 3.0, imported on first use --------------------------------
def _span_aggregation_node(*args: Any) -> Any:
    return _lazy("mlflow.store.tracking.sqlalchemy_store", "_span_aggregation_node")(*args)


def _try_parse_json_string(value: Any) -> Any:
    return _lazy("mlflow.store.tracking.sqlalchemy_store", "_try_parse_json_string")(value)


def _get_truncated_preview(*args: Any, **kwargs: Any) -> Any:
    return _lazy("mlflow.tracing.utils.truncation", "_get_truncated_preview")(*args, **kwargs)


def _resolve_experiment_ids_and_locations(experiment_ids: Any, locations: Any) -> Any:
    return _lazy("mlflow.utils.validation", "_resolve_experiment_ids_and_locations")(experiment_ids, locations)


# -- metric history sampling, decided by what the installed MLflow has --------------------------------
@functools.lru_cache(maxsize=1)
def sql_store_samples_metric_rows() -> bool:
    """Whether MLflow's SqlAlchemyStore samples `get_metric_history_bulk_interval` by row (evenly spaced
    points, first and last kept; MLflow 3.18, mlflow/mlflow#24305) rather than by distinct step (earlier
    releases, whose answer AbstractStore still gives)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    return hasattr(SqlAlchemyStore, "_sample_metric_history_single_run")


# -- the skills registry (MLflow 3.18), decided by what the installed MLflow has ---------------------
HAS_SKILL_REGISTRY: bool = importlib.util.find_spec("mlflow.store.tracking.skill_registry") is not None


def _validate_skill_name(name: Any) -> None:
    _lazy("mlflow.utils.validation", "_validate_skill_name")(name)


def _validate_organization_name(organization: Any) -> None:
    _lazy("mlflow.utils.validation", "_validate_organization_name")(organization)


def _validate_icon_payloads(icons: Any, field_name: str = "icons") -> None:
    _lazy("mlflow.utils.validation", "_validate_icon_payloads")(icons, field_name)


def _validate_skill_tag(key: Any, value: Any) -> Any:
    """The validated tag (a ``RunTag`` whose key/value MLflow may have normalized)."""
    return _lazy("mlflow.utils.validation", "_validate_skill_tag")(key, value)


def _validate_skill_version(version: Any) -> None:
    _lazy("mlflow.utils.validation", "_validate_skill_version")(version)


def _validate_skill_alias_name(alias: Any) -> None:
    """Characters and length of a skill alias (3.18's ``_validate_alias_name(..., resource_type="Skill")``)."""
    _lazy("mlflow.utils.validation", "_validate_alias_name")(alias, resource_type="Skill")


def _skill_sql_mixin() -> Any:
    return _lazy("mlflow.store.tracking.skill_registry.sqlalchemy_mixin", "SqlAlchemySkillRegistryMixin")


def _validate_skill_version_source(source_type: Any, source: Any, ref: Any, subpath: Any, digest: Any) -> None:
    """SqlAlchemyStore's own check of a version's source fields (same messages)."""
    _skill_sql_mixin()._validate_skill_version_source(source_type, source, ref, subpath, digest)


def _validate_skill_version_status(status: Any) -> str:
    """The status of a new version as SqlAlchemyStore accepts it (``active`` or ``draft``)."""
    return str(_skill_sql_mixin()._validate_skill_version_status(status))


def _validate_skill_status_transition(current: Any, new: Any) -> None:
    _skill_sql_mixin()._validate_skill_status_transition(current, new)


# -- registry webhooks (MLflow 3.3+), decided by what the installed MLflow has ------------------------
# The entities, MLflow's validators and the delivery module must all be there: a store on an MLflow
# without them keeps its webhook methods, which answer 501 naming the missing feature (webhooks.py).
_validation = importlib.import_module("mlflow.utils.validation")
HAS_WEBHOOKS: bool = (
    importlib.util.find_spec("mlflow.entities.webhook") is not None
    and importlib.util.find_spec("mlflow.webhooks.delivery") is not None
    and all(hasattr(_validation, n) for n in ("_validate_webhook_name", "_validate_webhook_url",
                                               "_validate_webhook_events"))
)


def webhook_entities() -> Any:
    """The module of MLflow's webhook entities (``Webhook``, ``WebhookEvent``, ``WebhookStatus``, ...)."""
    return importlib.import_module("mlflow.entities.webhook")


def _validate_webhook_name(name: Any) -> None:
    _lazy("mlflow.utils.validation", "_validate_webhook_name")(name)


def _validate_webhook_url(url: Any) -> None:
    """MLflow's check of a webhook URL: allowed schemes (``MLFLOW_WEBHOOK_ALLOWED_SCHEMES``) and, unless
    ``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS`` is true, a host that resolves to public addresses only."""
    _lazy("mlflow.utils.validation", "_validate_webhook_url")(url)


def _validate_webhook_events(events: Any) -> None:
    _lazy("mlflow.utils.validation", "_validate_webhook_events")(events)


def send_test_webhook(webhook: Any, event: Any = None) -> Any:
    """MLflow's own ``test_webhook`` delivery (example payload, signature, SSRF guard): a ``WebhookTestResult``."""
    return _lazy("mlflow.webhooks.delivery", "test_webhook")(webhook, event)


def webhook_secret_key() -> str | None:
    """``MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY``, the Fernet key SqlAlchemyStore encrypts webhook secrets with."""
    value = _lazy("mlflow.environment_variables", "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY").get()
    return str(value) if value else None


__all__ = [
    "HAS_WEBHOOKS", "send_test_webhook", "webhook_entities", "webhook_secret_key", "_validate_webhook_events",
    "_validate_webhook_name", "_validate_webhook_url",
    "HAS_SKILL_REGISTRY", "sql_store_samples_metric_rows", "_validate_icon_payloads", "_validate_organization_name", "_validate_skill_alias_name",
    "_validate_skill_name", "_validate_skill_status_transition", "_validate_skill_tag", "_validate_skill_version",
    "_validate_skill_version_source", "_validate_skill_version_status",
    "_DatasetSummary", "_REGISTERED_MODEL_ALIAS_LATEST", "_generate_random_name", "_generate_unique_integer_id",
    "_get_run_name_from_tags", "_get_truncated_preview", "_parse_experiment_id", "_parse_model_uri",
    "_resolve_experiment_ids_and_locations", "_span_aggregation_node", "_try_parse_json_string",
    "_validate_batch_log_data", "_validate_batch_log_limits", "_validate_dataset_inputs",
    "_validate_experiment_artifact_location_length", "_validate_experiment_id", "_validate_experiment_name",
    "_validate_experiment_tag", "_validate_logged_model_name", "_validate_metric_name", "_validate_model_alias_name",
    "_validate_model_alias_name_reserved", "_validate_model_name", "_validate_model_renaming",
    "_validate_model_version", "_validate_model_version_tag", "_validate_param", "_validate_param_keys_unique",
    "_validate_registered_model_tag", "_validate_run_id", "_validate_tag", "_validate_tag_name",
    "_validate_trace_tag",
]
