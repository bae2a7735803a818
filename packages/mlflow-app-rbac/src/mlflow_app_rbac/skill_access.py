"""Who may read, edit, manage and create skills (MLflow 3.18's Skills registry).

A caller's role on a skill is the highest of their grants on the skill (`skill`, `name` or
`@organization/name`), on its organization (`skill_organization`) and the default role. Creating
a skill needs no grant outside an organization (like registered models) and EDIT on the
organization inside one (an organization is a shared namespace). The creator gets MANAGE.

What the gate hands MLflow's skill handlers travels in the ASGI `scope["state"]`, which they read
as `request.state`, the same fields MLflow's basic-auth sets:
- `username`: recorded as the skill's `created_by` / `last_updated_by`;
- `skill_identity_scope`: `(identities the caller may read, [])` for `search_skills`, which MLflow
  passes to the store as `include_skill_identities`, so it filters before paginating (full pages);
- `skill_expected_parent_exists`: what the gate saw when it checked a registration (bool, or a dict
  by name for bulk-register); the store refuses the registration if that changed meanwhile, so a
  registration the gate allowed as "new skill" cannot land on someone else's skill, and vice versa.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mlflow.exceptions import MlflowException

from mlflow_app_rbac import resources, skills
from mlflow_app_rbac.identity import Principal
from mlflow_app_rbac.mlflow_compat import max_bulk_register_skills
from mlflow_app_rbac.permissions import SKILL, SKILL_ORGANIZATION, Permission
from mlflow_app_rbac.skills import SkillId
from mlflow_plugins_shared.errors import invalid_parameter

PermissionOf = Callable[[Principal, str, str], Permission]
ReadableOf = Callable[[Principal, str], "set[str] | None"]


class SkillDenied(Exception):
    """The caller lacks a role (answered 403 with this message)."""

    def __init__(self, message: str, resource: str) -> None:
        super().__init__(message)
        self.resource = resource


class SkillAccess:
    def __init__(self, permission: PermissionOf, readable: ReadableOf) -> None:
        self._permission = permission
        self._readable = readable

    def permission(self, principal: Principal, skill: SkillId) -> Permission:
        have = self._permission(principal, SKILL, skill.key)
        if skill.organization:
            have = max(have, self._permission(principal, SKILL_ORGANIZATION, skill.organization))
        return have

    def require(self, principal: Principal, skill: SkillId, need: Permission) -> None:
        have = self.permission(principal, skill)
        if have < need:
            raise SkillDenied(f"{principal.name} needs {need.name} on skill {skill.key!r} ({have.name} granted)",
                              label(skill))

    def require_create(self, principal: Principal, skill: SkillId) -> None:
        if not skill.organization:
            return
        have = self._permission(principal, SKILL_ORGANIZATION, skill.organization)
        if have < Permission.EDIT:
            raise SkillDenied(f"{principal.name} needs EDIT on skill_organization {skill.organization!r} to create "
                              f"skill {skill.key!r} ({have.name} granted)", f"skill_organization:{skill.organization}")

    def require_register(self, principal: Principal, skill: SkillId) -> bool:
        """A new version of an existing skill needs EDIT on it; a new skill, the right to create it.
        Returns whether the skill exists (MLflow is told to expect exactly that)."""
        exists = resources.skill_exists(skill)
        if exists:
            self.require(principal, skill, Permission.EDIT)
        else:
            self.require_create(principal, skill)
        return exists

    def readable(self, principal: Principal) -> set[SkillId] | None:
        """None means every skill (admins, or a default role of READ or more)."""
        keys = self._readable(principal, SKILL)
        organizations = self._readable(principal, SKILL_ORGANIZATION)
        if keys is None or organizations is None:
            return None
        found = {s for s in map(_parsed_key, keys) if s is not None}
        if organizations:
            found |= resources.skills_of_organizations(organizations)
        return found


def label(skill: SkillId) -> str:
    return f"skill:{skill.key}"


def _parsed_key(key: str) -> SkillId | None:
    try:
        return skills.parse_key(key)
    except MlflowException:  # grants are validated when made; a row written by hand is ignored
        return None


def path_skill(params: dict[str, str]) -> SkillId:
    """The skill a route's URL names (`{name}`, and `{organization}` in the `@{organization}` forms)."""
    return skills.identity(params.get("organization", ""), params.get("name"))


def body_skill(data: Any) -> SkillId:
    """`POST skills`: {"name", "organization"}."""
    if not isinstance(data, dict):
        raise invalid_parameter("expected a JSON object body with 'name' (and 'organization')")
    return skills.identity(data.get("organization", ""), data.get("name"))


def bulk_skills(data: Any) -> list[SkillId]:
    """`POST skills/bulk-register`: {"organization", "skills": [{"name", ...}, ...]}."""
    if not isinstance(data, dict):
        raise invalid_parameter("expected a JSON object body with 'skills' (and 'organization')")
    entries = data.get("skills")
    limit = max_bulk_register_skills()
    if not isinstance(entries, list) or not entries or len(entries) > limit:
        raise invalid_parameter(f"'skills' must be a list of 1 to {limit} objects with a 'name'")
    organization = data.get("organization", "")
    out: list[SkillId] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise invalid_parameter("each entry of 'skills' must be a JSON object with a 'name'")
        out.append(skills.identity(organization, entry.get("name")))
    return list(dict.fromkeys(out))


def deletes_version(data: Any) -> bool:
    """A version PATCH setting status "deleted" is a deletion (MANAGE), as in MLflow's basic-auth."""
    status = data.get("status") if isinstance(data, dict) else None
    return isinstance(status, str) and status.strip().lower() == "deleted"


def search_scope(readable: set[SkillId]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """`request.state.skill_identity_scope` for MLflow's `search_skills`: (include, exclude)."""
    return sorted((s.organization, s.name) for s in readable), []


def filter_search_answer(readable: set[SkillId]) -> Callable[[int, bytes], bytes | None]:
    """Every skill of a search answer is checked again before it leaves (MLflow already filtered)."""
    def after(status: int, body: bytes) -> bytes | None:
        if status != 200:
            return None
        try:
            data = json.loads(body)
            items = data.get("skills") or []
            kept = [i for i in items if isinstance(i, dict)
                    and SkillId(str(i.get("organization") or ""), str(i.get("name"))) in readable]
        except (ValueError, AttributeError, TypeError):
            return json.dumps({"skills": []}).encode()  # an answer we cannot read is withheld
        if len(kept) == len(items):
            return None
        data["skills"] = kept
        return json.dumps(data).encode()
    return after
