"""The account routes MLflow's UI asks (written for `--app-name basic-auth`), answered from rbac.

MLflow 3.17's UI calls `users/current` to learn who is logged in. When it answers, the UI gates
some controls on `users/current/permissions` (advisory: the server decides) and reads the
caller's `users/roles/list`; so all three answer, in basic-auth's shapes:

- `users/current`: the caller, `is_basic_auth: false` (no password change or basic-auth logout);
- `users/current/permissions`: the caller's effective grants (user and group grants, the highest
  per resource, and `*` rows for `MLFLOW_RBAC_DEFAULT_PERMISSION`);
- `users/roles/list`: rbac has no roles, so an empty list (for oneself; other users: admins only).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from mlflow_app_rbac.identity import Principal
from mlflow_app_rbac.permissions import EXPERIMENT, REGISTERED_MODEL, SKILL, Permission
from mlflow_app_rbac.store import RbacStore
from mlflow_plugins_shared.errors import permission_denied

WORKSPACE = "default"  # what the UI compares against when workspaces are off


def _json(data: Any) -> Response:
    return Response(json.dumps(data), status=200, mimetype="application/json")


def effective_permissions(store: RbacStore, principal: Principal, default: Permission) -> list[dict[str, Any]]:
    best: dict[tuple[str, str], Permission] = {}
    holders = [("user", principal.name), *(("group", g) for g in sorted(principal.groups))]
    for principal_type, name in holders:
        for g in store.list_grants(principal_type=principal_type, principal=name, limit=100_000):
            key = (g.resource_type, g.resource_id)
            best[key] = max(best.get(key, Permission.NONE), g.permission)
    rows = [(rtype, rid, perm) for (rtype, rid), perm in sorted(best.items()) if perm > default]
    if default > Permission.NONE:
        rows += [(EXPERIMENT, "*", default), (REGISTERED_MODEL, "*", default), (SKILL, "*", default)]
    return [{"role_id": 0, "role_name": f"rbac:{principal.name}", "workspace": WORKSPACE, "resource_type": rtype,
             "resource_pattern": rid, "permission": perm.name} for rtype, rid, perm in rows]


def register(app: Flask, store: RbacStore, default: Callable[[], Permission],
             principal: Callable[[], Principal], endpoint: Callable[[Any], Any], prefixed: Any) -> None:
    def current_user() -> Response:
        p = principal()
        return _json({"user": {"id": p.name, "username": p.name, "is_admin": p.is_admin}, "is_basic_auth": False})

    def current_user_permissions() -> Response:
        p = principal()
        rows = [] if p.is_admin else effective_permissions(store, p, default())
        return _json({"is_admin": p.is_admin, "permissions": rows})

    def user_roles() -> Response:
        p = principal()
        if request.args.get("username", p.name) != p.name and not p.is_admin:
            raise permission_denied("only admins may list another user's roles")
        return _json({"roles": []})

    for api in ("/api", "/ajax-api"):
        for rule, fn in (("2.0/mlflow/users/current", current_user),
                         ("3.0/mlflow/users/current/permissions", current_user_permissions),
                         ("3.0/mlflow/users/roles/list", user_roles)):
            for i, path in enumerate(dict.fromkeys([prefixed(f"{api}/{rule}"), f"{api}/{rule}"])):
                app.add_url_rule(path, f"rbac{api.replace('/', '_').replace('-', '_')}_{fn.__name__}_{i}",
                                 endpoint(fn), methods=["GET"])
