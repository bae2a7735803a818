"""Roles, ordered: NONE < READ < EDIT < MANAGE, and the resource and principal kinds.

Imports nothing from MLflow at module level: the `mlflow-rbac` CLI reads these names and must
start without importing MLflow (about 5 s).
"""

from __future__ import annotations

from enum import IntEnum


class Permission(IntEnum):
    NONE = 0
    READ = 1
    EDIT = 2
    MANAGE = 3

    def __str__(self) -> str:
        return self.name

    def __format__(self, spec: str) -> str:
        return self.name

    @classmethod
    def parse(cls, value: object, what: str = "permission") -> Permission:
        if isinstance(value, str) and value.strip().upper() in cls.__members__:
            return cls[value.strip().upper()]
        from mlflow_plugins_shared.errors import invalid_parameter  # imports MLflow: only on the server

        raise invalid_parameter(
            f"Invalid {what} {str(value)[:40]!r}; expected one of {', '.join(cls.__members__)}"
        )


EXPERIMENT = "experiment"
REGISTERED_MODEL = "registered_model"
SKILL = "skill"  # resource id: 'name' or '@organization/name' (mlflow_app_rbac.skills)
SKILL_ORGANIZATION = "skill_organization"  # resource id: an organization; covers all its skills
RESOURCE_TYPES = (EXPERIMENT, REGISTERED_MODEL, SKILL, SKILL_ORGANIZATION)
USER = "user"
GROUP = "group"
PRINCIPAL_TYPES = (USER, GROUP)
