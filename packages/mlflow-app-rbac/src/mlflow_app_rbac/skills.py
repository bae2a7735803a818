"""Skill identities (MLflow 3.18's Skills registry): `name` or `@organization/name`.

A skill is named by its organization ("" for none) and its name. Grants name a skill by the key
MLflow's basic-auth uses (`name`, `@organization/name`) or a whole organization by its name.
The spelling rules are MLflow 3.18's (`mlflow.utils.validation`), checked here so a bad name is
refused with a clear error before any lookup; `tests/test_skills.py` compares them with MLflow's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlflow_plugins_shared.errors import invalid_parameter

MAX_NAME_LENGTH = 64
_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")
_ORGANIZATION = re.compile(r"[a-z0-9]+([-.][a-z0-9]+)*\Z")
ARTIFACT_ROOT = "skills"  # uploaded skill content: skills/[@<organization>/]<name>/<token>/...


@dataclass(frozen=True, order=True)
class SkillId:
    organization: str
    name: str

    @property
    def key(self) -> str:
        """The grant resource id: `name`, or `@organization/name`."""
        return f"@{self.organization}/{self.name}" if self.organization else self.name

    def __str__(self) -> str:
        return self.key


def _show(value: object) -> str:
    return repr(str(value)[:80])


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise invalid_parameter(f"Invalid skill name {_show(name)}: expected a non-empty string")
    if len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
        raise invalid_parameter(
            f"Invalid skill name {_show(name)}: 1-{MAX_NAME_LENGTH} lowercase ASCII letters, digits and single "
            "hyphens, starting and ending with a letter or digit")
    return name


def check_organization(organization: object) -> str:
    """"" (no organization) is allowed."""
    if organization == "":
        return ""
    if not isinstance(organization, str) or len(organization) > MAX_NAME_LENGTH or not _ORGANIZATION.match(organization):
        raise invalid_parameter(
            f"Invalid skill organization {_show(organization)}: 1-{MAX_NAME_LENGTH} lowercase ASCII letters, "
            "digits, single hyphens and periods, starting and ending with a letter or digit")
    return organization


def identity(organization: object, name: object) -> SkillId:
    org = "" if organization is None else organization
    return SkillId(check_organization(org), check_name(name))


def parse_key(key: object) -> SkillId:
    """`name` or `@organization/name` (a grant's resource id) to a SkillId."""
    if not isinstance(key, str):
        raise invalid_parameter("a skill resource_id must be a string: 'name' or '@organization/name'")
    if key.startswith("@"):
        organization, sep, name = key[1:].partition("/")
        if not sep or not organization:
            raise invalid_parameter(f"Invalid skill resource_id {_show(key)}: expected 'name' or '@organization/name'")
        return SkillId(check_organization(organization), check_name(name))
    return SkillId("", check_name(key))


def from_artifact_path(path: str) -> SkillId | None:
    """The skill whose uploaded content `path` (relative to the artifact root) is, or None.

    Only exact spellings count (`skills/<name>/...`, `skills/@<organization>/<name>/...`, with
    valid names and no empty, `.` or `..` segment); anything else is not a skill's and falls to
    the experiment rule (admins only outside an experiment), so a path cannot borrow a skill's grant.
    """
    segments = path.split("/")
    if len(segments) < 2 or segments[0] != ARTIFACT_ROOT or any(s in ("", ".", "..") for s in segments):
        return None
    if segments[1].startswith("@"):
        if len(segments) < 3 or segments[1] == "@":
            return None
        organization, name = segments[1][1:], segments[2]
    else:
        organization, name = "", segments[1]
    if not _NAME.match(name) or len(name) > MAX_NAME_LENGTH:
        return None
    if organization and (not _ORGANIZATION.match(organization) or len(organization) > MAX_NAME_LENGTH):
        return None
    return SkillId(organization, name)
