"""The admin REST API (`/api/2.0/rbac/...`), served by the MLflow Flask app behind the gate."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, request
from mlflow.exceptions import MlflowException

from mlflow_app_rbac import apikeys, grant_targets, routes, ui_account
from mlflow_app_rbac.gate import Gate
from mlflow_app_rbac.identity import AuthError, Principal
from mlflow_app_rbac.permissions import Permission
from mlflow_plugins_shared.errors import invalid_parameter, permission_denied


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def _error(e: MlflowException) -> Response:
    return Response(e.serialize_as_json(), status=e.get_http_status_code(), mimetype="application/json")


def _body() -> dict[str, Any]:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise invalid_parameter("expected a JSON object body")
    return data


def _str(data: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid_parameter(f"{key!r} must be a non-empty string")
    return value.strip()


def register(app: Flask, gate: Gate, prefixed: Any) -> None:
    def principal() -> Principal:
        try:
            return gate.authn.authenticate(request.headers.get("Authorization"))
        except AuthError as e:  # the gate let the request in, so this is a race with a revocation
            raise permission_denied(str(e)) from None

    def admin() -> Principal:
        p = principal()
        if not p.is_admin:
            raise permission_denied("admins only")
        return p

    def endpoint(fn: Any) -> Any:
        def wrapped(**kw: Any) -> Response:
            try:
                return fn(**kw)
            except MlflowException as e:
                return _error(e)
        wrapped.__name__ = f"rbac_{fn.__name__}"
        return wrapped

    def whoami() -> Response:
        """Who the credential resolves to, why it is (or is not) an admin, and what it may do."""
        p = principal()
        out: dict[str, Any] = {
            "principal": p.name, "kind": p.kind, "groups": sorted(p.groups), "is_admin": p.is_admin,
            "admin_because": gate.authn.admin_reasons(p),
            "key_id": p.key_id, "expires_at": p.expires_at,
            "default_permission": gate.cfg.default_permission.name,
        }
        if p.is_admin:
            out["grants"], out["note"] = [], "admins may do anything; grants do not apply to them"
        else:
            rows = ui_account.effective_permissions(gate.store, p, gate.cfg.default_permission)
            out["grants"] = [{"resource_type": r["resource_type"], "resource_id": r["resource_pattern"],
                              "permission": r["permission"]} for r in rows]
        return _json(out)

    def grants() -> Response:
        who = admin()
        if request.method == "GET":
            args = request.args
            rtype, rid = args.get("resource_type"), args.get("resource_id")
            ids = grant_targets.stored_ids(rtype, rid) if rtype and rid else [rid]
            rows = [g for i in ids for g in gate.store.list_grants(rtype, i, args.get("principal_type"),
                                                                     args.get("principal"))]
            return _json({"grants": [g.to_json() for g in rows]})
        data = _body()
        rtype, rid, ptype, name = (_str(data, "resource_type"), _str(data, "resource_id"),
                                   data.get("principal_type", "user"), _str(data, "principal"))
        assert rtype is not None and rid is not None and name is not None  # _str(required=True)
        if request.method == "POST":
            perm = Permission.parse(data.get("permission"))
            gate.store.check_grant(rtype, rid, ptype, name)  # a bad type or spelling first, before any lookup
            target = grant_targets.for_grant(rtype, rid, grant_targets.check_allow_missing(data.get("allow_missing")))
            g = gate.store.set_grant(rtype, target.resource_id, ptype, name, perm, who.name)
            gate.forget_permissions()
            out: dict[str, Any] = {"grant": g.to_json(), "resource_exists": target.exists}
            if target.notes:
                out["notes"] = target.notes
            return _json(out)
        gate.store.check_grant(rtype, rid, ptype, name)
        removed = False
        for i in grant_targets.stored_ids(rtype, rid):  # the value as given, and the experiment it names
            removed = gate.store.delete_grant(rtype, i, ptype, name) or removed
        gate.forget_permissions()
        return _json({"removed": removed})

    def api_keys() -> Response:
        who = admin()
        if request.method == "GET":
            include = request.args.get("include_revoked", "false").lower() == "true"
            return _json({"api_keys": [k.to_json() for k in gate.store.list_api_keys(include)]})
        data = _body()
        name = _str(data, "principal")
        groups = data.get("groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
            raise invalid_parameter("'groups' must be a list of non-empty strings")
        is_admin = data.get("is_admin", False)
        if not isinstance(is_admin, bool):
            raise invalid_parameter("'is_admin' must be true or false")
        key_id, key = apikeys.new_key()
        rec = gate.store.add_api_key(key_id, name, apikeys.hash_key(key), is_admin, groups,  # type: ignore[arg-type]
                                     _str(data, "description", required=False), who.name)
        return _json({"api_key": rec.to_json(), "key": key,
                      "note": "store this key now: it is shown only once"})

    def revoke_api_key(key_id: str) -> Response:
        admin()
        rec = gate.store.revoke_api_key(key_id)
        gate.authn.forget_keys()
        return _json({"api_key": rec.to_json()})

    def audit() -> Response:
        admin()
        try:
            max_results = int(request.args.get("max_results", "100"))
            token = request.args.get("page_token")
            before = int(token) if token else None
        except ValueError:
            raise invalid_parameter("max_results and page_token must be integers") from None
        if not 1 <= max_results <= 1000:
            raise invalid_parameter("max_results must be between 1 and 1000")
        rows = gate.store.list_audit_events(max_results=max_results, before_id=before,
                                            principal=request.args.get("principal"),
                                            outcome=request.args.get("outcome"))
        out: dict[str, Any] = {"events": rows}
        if len(rows) == max_results:
            out["next_page_token"] = str(rows[-1]["id"])
        return _json(out)

    def route_table() -> Response:
        admin()
        from mlflow_app_rbac.route_inventory import inventory

        return _json({"routes": inventory(app, gate.static_prefix)})

    for api in ("/api", "/ajax-api"):
        base = f"{api}/2.0/rbac"
        for rule, fn, methods in (
            ("whoami", whoami, ["GET"]), ("grants", grants, ["GET", "POST", "DELETE"]),
            ("api-keys", api_keys, ["GET", "POST"]), ("api-keys/<key_id>", revoke_api_key, ["DELETE"]),
            ("audit", audit, ["GET"]), ("routes", route_table, ["GET"]),
        ):
            # where MLflow serves its own API depends on the version (3.0 kept /api at the root
            # under --static-prefix), so the admin API answers at both
            for i, path in enumerate(dict.fromkeys([prefixed(f"{base}/{rule}"), f"{base}/{rule}"])):
                app.add_url_rule(path, f"rbac{api.replace('/', '_').replace('-', '_')}_{fn.__name__}_{i}",
                                 endpoint(fn), methods=methods)
    ui_account.register(app, gate.store, lambda: gate.cfg.default_permission, principal, endpoint, prefixed)
    _ = routes  # the rows for these routes live in routes.TABLE
