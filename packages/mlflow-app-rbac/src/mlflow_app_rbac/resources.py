"""Lookups in the running server's stores: which experiment a run, trace or logged model belongs to
(immutable, so cached), and which registered models and skills exist."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

from mlflow_app_rbac.mlflow_compat import get_model_registry_store, get_tracking_store
from mlflow_app_rbac.skills import SkillId, check_organization


def is_missing(e: MlflowException) -> bool:
    """Whether a store's error says the thing asked for does not exist."""
    return e.error_code in (ErrorCode.Name(RESOURCE_DOES_NOT_EXIST), "RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")



class NotFound(Exception):
    pass


def _lookup(kind: str, ident: str) -> str:
    store = get_tracking_store()
    try:
        if kind == "run":
            return str(store.get_run(ident).info.experiment_id)
        if kind == "trace":
            return str(store.get_trace_info(ident).experiment_id)
        if kind == "logged_model":
            return str(store.get_logged_model(ident).experiment_id)
        if kind == "experiment_name":
            found = store.get_experiment_by_name(ident)
            if found is None:
                raise NotFound(ident)
            return str(found.experiment_id)
    except MlflowException as e:
        if is_missing(e):
            raise NotFound(ident) from None
        raise
    raise ValueError(kind)


_cached = lru_cache(maxsize=100_000)(_lookup)  # runs, traces, logged models never move


def experiment_of(kind: str, ident: str) -> str | None:
    """None when the resource does not exist (MLflow then answers 404 itself)."""
    try:
        return _lookup(kind, ident) if kind == "experiment_name" else _cached(kind, ident)
    except NotFound:
        return None


def registered_model_exists(name: str) -> bool:
    """A registered model or prompt (MLflow stores prompts as tagged registered models) of this name."""
    try:
        get_model_registry_store().get_registered_model(name)
    except MlflowException as e:
        if is_missing(e):
            return False
        raise
    return True


# skills (MLflow 3.18+): they come and go, so nothing here is cached ----------------------------
SKILL_PAGE = 1000  # MLflow's largest skill search page


def skill_exists(skill: SkillId) -> bool:
    try:
        get_tracking_store().get_skill(name=skill.name, organization=skill.organization)
    except MlflowException as e:
        if is_missing(e):
            return False
        raise
    return True


def skills_of_organizations(organizations: Iterable[str]) -> set[SkillId]:
    """Every skill of these organizations (one search per organization: MLflow's skill filter has no
    `organization IN`); organization names are validated when granted, so they quote safely."""
    found: set[SkillId] = set()
    store = get_tracking_store()
    for organization in sorted(set(organizations)):
        check_organization(organization)
        token = None
        while True:
            page = store.search_skills(filter_string=f"organization = '{organization}'", max_results=SKILL_PAGE,
                                       page_token=token)
            found.update(SkillId(s.organization, s.name) for s in page)
            token = page.token
            if not token:
                break
    return found
