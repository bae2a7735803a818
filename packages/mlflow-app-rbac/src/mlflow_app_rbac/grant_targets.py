"""What a grant names: experiment names resolved to ids, and refusal of resources that do not exist.

A grant matches a request only when its `resource_id` is exactly what the gate reads from the
request: an experiment's id as MLflow spells it (`42`, never `042` or the experiment's name), a
registered model's (or prompt's) name, a skill's `name` / `@organization/name`. So a grant is
checked against the running server's stores when it is made:

- experiment: an existing id is stored as the store spells it; otherwise the value is looked up as
  an experiment name and stored as that experiment's id. An id that does not exist is refused
  unless `allow_missing` (pre-provisioning); a value that is neither an id the store accepts nor
  an existing experiment's name is always refused (it could never match).
- registered_model (prompts included), skill: must exist unless `allow_missing`.
- skill_organization: an organization is a namespace that exists through its skills; granting on
  one without skills is how someone is allowed to create its first skill, so it is not looked up.

Revocations and list filters resolve an experiment name too, but never refuse: a grant on
something that is gone must stay removable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, ErrorCode

from mlflow_app_rbac import mlflow_compat, resources, skills
from mlflow_app_rbac.permissions import EXPERIMENT, REGISTERED_MODEL, SKILL
from mlflow_plugins_shared.errors import invalid_parameter, not_found

ALLOW_MISSING_HINT = "pass allow_missing=true (mlflow-rbac: --allow-missing) to grant on one that does not exist yet"
_CREATED_HERE = ("a resource created through this server starts with only its creator's MANAGE "
                 "(earlier grants on its id or name are cleared), so this grant holds for one that appears "
                 "another way (a migration, a store shared with another server)")


@dataclass(frozen=True)
class Target:
    resource_id: str  # what the grant is stored under
    exists: bool
    notes: list[str] = field(default_factory=list)


def _code(e: MlflowException) -> str:
    return str(e.error_code)


def _experiment(value: str) -> tuple[Any | None, bool]:
    """(the experiment whose id is `value`, whether the store accepts `value` as an id at all)."""
    store = mlflow_compat.get_tracking_store()
    try:
        return store.get_experiment(value), True
    except MlflowException as e:
        if _code(e) in (ErrorCode.Name(INVALID_PARAMETER_VALUE), "INVALID_PARAMETER_VALUE"):
            return None, False  # e.g. the SQL store: "Experiment ID must be a valid integer"
        if resources.is_missing(e):
            return None, True
        raise


def _experiment_by_name(value: str) -> Any | None:
    return mlflow_compat.get_tracking_store().get_experiment_by_name(value)


def _deleted_note(exp: Any) -> list[str]:
    if getattr(exp, "lifecycle_stage", None) == "deleted":
        return [f"experiment {exp.experiment_id} ({exp.name!r}) is deleted; the grant applies if it is restored"]
    return []


def _grant_experiment(value: str, allow_missing: bool) -> Target:
    exp, well_formed = _experiment(value)
    if exp is not None:
        exp_id = str(exp.experiment_id)
        notes = _deleted_note(exp)
        if exp_id != value:
            notes.append(f"experiment id {value!r} is stored as {exp_id!r}, the way MLflow spells it")
        namesake = _experiment_by_name(value)
        if namesake is not None and str(namesake.experiment_id) != exp_id:
            notes.append(f"{value!r} was taken as an experiment id; the experiment named {value!r} has id "
                         f"{namesake.experiment_id}: grant on that id to mean it")
        return Target(exp_id, True, notes)
    named = _experiment_by_name(value)
    if named is not None:
        exp_id = str(named.experiment_id)
        return Target(exp_id, True, [f"experiment name {value!r} resolved to experiment id {exp_id}",
                                     *_deleted_note(named)])
    if not well_formed:
        raise not_found(
            f"no experiment is named {value!r}, and {value!r} is not an experiment id: an experiment grant takes "
            "the experiment's id (e.g. '42') or the name of an existing experiment (resolved to its id)"
            + (". allow_missing pre-provisions ids only, since a name can only be resolved once it exists"
               if allow_missing else ""))
    if not allow_missing:
        raise not_found(f"experiment {value!r} does not exist (no experiment has this id or this name); "
                        f"{ALLOW_MISSING_HINT}")
    return Target(value, False, [f"experiment {value!r} does not exist yet; {_CREATED_HERE}"])


def _grant_model(name: str, allow_missing: bool) -> Target:
    if resources.registered_model_exists(name):
        return Target(name, True)
    if not allow_missing:
        raise not_found(f"registered model or prompt {name!r} does not exist (names are case-sensitive); "
                        f"{ALLOW_MISSING_HINT}")
    return Target(name, False, [f"registered model or prompt {name!r} does not exist yet; {_CREATED_HERE}"])


def _grant_skill(key: str, allow_missing: bool) -> Target:
    skill = skills.parse_key(key)  # a bad spelling is a 400 naming the allowed one
    if mlflow_compat.has_skills() and resources.skill_exists(skill):
        return Target(skill.key, True)
    where = "" if mlflow_compat.has_skills() else " (this MLflow has no Skills registry)"
    if not allow_missing:
        raise not_found(f"skill {skill.key!r} does not exist{where}; {ALLOW_MISSING_HINT}")
    return Target(skill.key, False, [f"skill {skill.key!r} does not exist yet{where}; {_CREATED_HERE}"])


def for_grant(resource_type: str, resource_id: str, allow_missing: bool) -> Target:
    """What to store a grant under; raises a 404 (or 400) MlflowException saying what is expected."""
    if resource_type == EXPERIMENT:
        return _grant_experiment(resource_id, allow_missing)
    if resource_type == REGISTERED_MODEL:
        return _grant_model(resource_id, allow_missing)
    if resource_type == SKILL:
        return _grant_skill(resource_id, allow_missing)
    return Target(resource_id, True)  # skill_organization (checked by the store), or an unknown type it refuses


def stored_ids(resource_type: str, resource_id: str) -> list[str]:
    """The ids a revocation or filter on `resource_id` means: the value itself and, for an existing
    experiment named or numbered by it, that experiment's id."""
    if resource_type != EXPERIMENT:
        return [resource_id]
    try:
        exp, _ = _experiment(resource_id)
        if exp is None:
            exp = _experiment_by_name(resource_id)
    except MlflowException:
        exp = None  # never block a clean-up on a lookup problem
    ids = [resource_id]
    if exp is not None and str(exp.experiment_id) != resource_id:
        ids.append(str(exp.experiment_id))
    return ids


def check_allow_missing(value: object) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid_parameter("'allow_missing' must be true or false")
    return value
