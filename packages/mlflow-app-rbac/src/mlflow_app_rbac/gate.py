"""The decision for one request, shared by the ASGI and WSGI adapters.

`begin()` needs only the request line and headers (route, authentication); `authorize()` also
sees the body when the rule reads ids from it, and may rewrite the body or query string
(search filtering) or attach an `after` hook that filters/records from the response.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from mlflow.exceptions import MlflowException

from mlflow_app_rbac import graphql_guard, paths, resources, routes, search_paging, skill_access, skills
from mlflow_app_rbac.audit import AuditLog
from mlflow_app_rbac.config import RbacConfig
from mlflow_app_rbac.identity import Authenticator, AuthError, Principal, TtlCache
from mlflow_app_rbac.logs import logger
from mlflow_app_rbac.permissions import EXPERIMENT, REGISTERED_MODEL, SKILL, Permission
from mlflow_app_rbac.routes import Rule
from mlflow_app_rbac.store import RbacStore

METHOD_OVERRIDE_HEADERS = ("x-http-method-override", "x-http-method", "x-method-override")
UI_PROBE_AUDIT_SECONDS = 3600.0  # a UI probe's denial is recorded once per principal and route in this time
UI_PROBE_NOTE = ("; recorded once per principal and route per hour: MLflow's UI asks this route by itself "
                 "on page views")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


@dataclass
class Request:
    method: str
    path: str  # percent-decoded
    raw_path: str
    query_string: str
    headers: Mapping[str, str]  # lower-case names


@dataclass
class Denial:
    status: int
    code: str
    message: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    def body(self) -> bytes:
        return json.dumps({"error_code": self.code, "message": self.message}).encode()


@dataclass
class Pending:
    request: Request
    rule: Rule
    params: dict[str, str]
    principal: Principal | None
    request_id: str
    started: float


@dataclass
class Allow:
    new_body: bytes | None = None
    new_query: str | None = None
    respond: tuple[int, bytes] | None = None  # answer without calling MLflow
    after: Callable[[int, bytes], bytes | None] | None = None
    resource: str | None = None
    pages: search_paging.Paginator | None = None  # the adapter calls MLflow until it has a full page
    asgi_state: dict[str, Any] | None = None  # merged into the ASGI scope["state"] (MLflow's request.state)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _get(obj: Any, name: str) -> Any:
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    return obj.get(_camel(name))


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None and not isinstance(v, (dict, list))]
    if isinstance(value, (dict,)):
        return ["<object>"]
    return [str(value)]


class Gate:
    def __init__(self, cfg: RbacConfig, store: RbacStore, static_prefix: str) -> None:
        self.cfg = cfg
        self.store = store
        self.static_prefix = static_prefix.rstrip("/")
        self.authn = Authenticator(cfg, store)
        self.audit = AuditLog(store if cfg.audit_db else None)
        self._perm_cache = TtlCache(cfg.cache_seconds)
        self.skills = skill_access.SkillAccess(self.permission, self.readable)
        self._probe_denials = TtlCache(UI_PROBE_AUDIT_SECONDS)
        self._probe_lock = threading.Lock()

    def forget_permissions(self) -> None:
        self._perm_cache.clear()

    # ---------------------------------------------------------------------------------------
    def needs_body(self, req: Request) -> bool:
        """Cheap pre-check (no I/O) so an adapter can read the body before one call to decide()."""
        try:
            found = routes.match(req.method, paths.canonical(req.path, self.static_prefix))
        except paths.BadPath:
            return False
        return bool(found and found[0].needs_body)

    def decide(self, req: Request, body: bytes | None) -> tuple[Pending, Allow] | Denial:
        pending = self.begin(req)
        if isinstance(pending, Denial):
            return pending
        decision = self.authorize(pending, body)
        if isinstance(decision, Denial):
            return decision
        return pending, decision

    def begin(self, req: Request) -> Pending | Denial:
        rid = req.headers.get("x-request-id", "")
        request_id = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex
        now = time.time()
        for h in METHOD_OVERRIDE_HEADERS:
            if h in req.headers:
                return self._deny(req, None, None, request_id, 400, "BAD_REQUEST",
                                  f"the {h} header is refused (HTTP method overrides are not supported)")
        if "_method" in parse_qs(req.query_string):
            return self._deny(req, None, None, request_id, 400, "BAD_REQUEST",
                              "the _method query parameter is refused (HTTP method overrides are not supported)")
        try:
            paths.check_raw(req.raw_path)
            canonical = paths.canonical(req.path, self.static_prefix)
        except paths.BadPath as e:
            return self._deny(req, None, None, request_id, 400, "BAD_REQUEST", f"refused path: {e}")
        found = routes.match(req.method, canonical)
        rule = found[0] if found else None
        if rule is not None and rule.check == "public" and self.cfg.public_ui:
            return Pending(req, rule, found[1], None, request_id, now)  # type: ignore[index]
        try:
            principal = self.authn.authenticate(req.headers.get("authorization"))
        except AuthError as e:
            return self._deny(req, rule, None, request_id, 401, "UNAUTHENTICATED", f"authentication required: {e}",
                              [("WWW-Authenticate", _www_authenticate(str(e)))])
        if rule is None:
            return self._deny(req, None, principal, request_id, 403, "PERMISSION_DENIED",
                              f"route {req.method} {req.path[:200]} is not in the rbac route table (default deny)")
        return Pending(req, rule, found[1], principal, request_id, now)  # type: ignore[index]

    def _deny(self, req: Request, rule: Rule | None, principal: Principal | None, request_id: str, status: int,
              code: str, message: str, headers: list[tuple[str, str]] | None = None,
              resource: str | None = None) -> Denial:
        detail = message
        if rule is not None and rule.ui_probe and principal is not None:
            if not self._first_probe_denial(principal.name, rule.name):
                logger.debug("denied %s %s to %s again within the hour (not recorded again; request %s)",
                             req.method, rule.name, principal.name, request_id)
                return Denial(status, code, message, headers or [])
            detail += UI_PROBE_NOTE
        self.audit.record(principal=principal.name if principal else None, method=req.method,
                          route=rule.name if rule else "(unmatched)", path=req.path, resource=resource,
                          outcome="denied", status=status, request_id=request_id, detail=detail)
        return Denial(status, code, message, headers or [])

    def _first_probe_denial(self, principal: str, route: str) -> bool:
        """Whether this is the first denial of `route` to `principal` within the hour: this worker's
        memory first, then the audit table (other workers, restarts)."""
        key = (principal, route)
        with self._probe_lock:
            if self._probe_denials.get(key):
                return False
            self._probe_denials.put(key, True)
        store = self.audit.store
        if store is None:
            return True
        try:
            return not store.has_denial_since(principal, route, time.time() - UI_PROBE_AUDIT_SECONDS)
        except Exception as e:  # the audit table cannot say: record it rather than lose it
            logger.warning("could not look up earlier audit events: %s", type(e).__name__)
            return True

    def deny(self, p: Pending, status: int, code: str, message: str, resource: str | None = None) -> Denial:
        return self._deny(p.request, p.rule, p.principal, p.request_id, status, code, message, resource=resource)

    def finish(self, p: Pending, status: int, resource: str | None) -> None:
        """Audit after MLflow answered: mutating requests only (denials were recorded already)."""
        if p.rule.mutates or p.request.method not in ("GET", "HEAD", "OPTIONS") and p.rule.check == "admin":
            self.audit.record(principal=p.principal.name if p.principal else None, method=p.request.method,
                              route=p.rule.name, path=p.request.path, resource=resource,
                              outcome="allowed" if status < 400 else "failed", status=status,
                              request_id=p.request_id, detail=None)

    # ---------------------------------------------------------------------------------------
    def permission(self, principal: Principal, resource_type: str, resource_id: str) -> Permission:
        if principal.is_admin:
            return Permission.MANAGE
        key = (principal.name, principal.groups, resource_type, resource_id)
        cached = self._perm_cache.get(key)
        if cached is None:
            cached = max(self.store.permission_for(resource_type, resource_id, principal.name, principal.groups),
                         self.cfg.default_permission)
            self._perm_cache.put(key, cached)
        return cached

    def readable(self, principal: Principal, resource_type: str) -> set[str] | None:
        """None means 'everything' (admins, or a default role of READ or more)."""
        if principal.is_admin or self.cfg.default_permission >= Permission.READ:
            return None
        key = ("readable", principal.name, principal.groups, resource_type)
        cached = self._perm_cache.get(key)
        if cached is None:
            cached = self.store.readable_ids(resource_type, principal.name, principal.groups)
            self._perm_cache.put(key, cached)
        return cached

    def grant_creator(self, principal: Principal, resource_type: str, resource_id: str) -> None:
        for g in self.store.list_grants(resource_type, resource_id):
            self.store.delete_grant(g.resource_type, g.resource_id, g.principal_type, g.principal)
        self.store.set_grant(resource_type, resource_id, "user", principal.name, Permission.MANAGE, principal.name)
        self.forget_permissions()

    # ---------------------------------------------------------------------------------------
    def authorize(self, p: Pending, body: bytes | None) -> Allow | Denial:
        rule, principal = p.rule, p.principal
        if rule.check == "public" or principal is None:
            return Allow()
        if rule.check == "admin":
            return Allow() if principal.is_admin else self.deny(p, 403, "PERMISSION_DENIED", f"{rule.name} is for admins only")
        query = parse_qs(p.request.query_string, keep_blank_values=True)
        try:
            data = self._params(p, query, body)
        except ValueError as e:
            return self.deny(p, 400, "INVALID_PARAMETER_VALUE", str(e))
        if rule.check == "graphql":
            return self._graphql(p, data)
        if rule.special:
            special = getattr(self, f"_special_{rule.special}")
            return special(p, data, query, body)
        if rule.check == "authenticated":
            return Allow()
        if rule.check == "skill":
            return self._skill_call(p, lambda: self._check_skill(p, rule.permission))
        return self._check_resources(p, data, query)

    def _params(self, p: Pending, query: dict[str, list[str]], body: bytes | None) -> Any:
        if not p.rule.needs_body:
            return {}
        # MLflow's GraphQL handler always reads the JSON body, even for GET with a query string
        if p.request.method == "GET" and p.request.query_string and p.rule.check != "graphql":
            return {k: v if len(v) > 1 else v[0] for k, v in query.items()}
        if not body:
            return {}
        try:
            data = json.loads(body)
            if isinstance(data, str):  # MLflow accepts double-encoded JSON from old clients
                data = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("request body is not valid JSON") from None
        return data

    def _ids_for(self, p: Pending, spec: str, data: Any, query: dict[str, list[str]]) -> list[str]:
        source, _, name = spec.rpartition(":")
        if source == "path":
            return [p.params[name]]
        if source == "args":
            return query.get(name, [])
        if source == "header":
            v = p.request.headers.get(name)
            return [v] if v else []
        value: Any = data
        for part in name.split("."):
            value = _get(value, part)
        return _values(value)

    def _experiments_of(self, kind: str, ids: list[str]) -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        for ident in ids:
            if kind in ("experiment", "model"):
                out.append((ident, ident))
            elif kind == "artifact_path":
                out.append((ident, _artifact_experiment(ident)))
            else:
                out.append((ident, resources.experiment_of(kind, ident)))
        return out

    def _check_resources(self, p: Pending, data: Any, query: dict[str, list[str]]) -> Allow | Denial:
        rule, principal = p.rule, p.principal
        assert principal is not None
        kind = rule.check
        checked: list[str] = []
        for spec in rule.fields:
            sub_kind, need = kind, rule.permission
            if spec.startswith("run:"):
                sub_kind, need, spec = "run", Permission.READ, spec[4:]
            ids = self._ids_for(p, spec, data, query)
            if sub_kind == "artifact_path" and not ids:
                ids = [""]
            for ident, target in self._experiments_of(sub_kind, ids):
                if target is None:
                    if sub_kind == "artifact_path":
                        if principal.is_admin:
                            continue
                        skill = skills.from_artifact_path(ident)
                        if skill is not None:  # uploaded skill content: the skill's role
                            try:
                                self.skills.require(principal, skill, need)
                            except skill_access.SkillDenied as e:
                                return self.deny(p, 403, "PERMISSION_DENIED", str(e), e.resource)
                            checked.append(skill_access.label(skill))
                            continue
                        return self.deny(p, 403, "PERMISSION_DENIED",
                                         "artifact paths outside an experiment are for admins only", ident)
                    continue  # does not exist: MLflow answers 404
                rtype = REGISTERED_MODEL if sub_kind == "model" else EXPERIMENT
                have = self.permission(principal, rtype, target)
                label = f"{rtype}:{target}"
                if have < need:
                    return self.deny(p, 403, "PERMISSION_DENIED",
                                     f"{principal.name} needs {need.name} on {rtype} {target!r} ({have.name} granted)", label)
                checked.append(label)
        primary = [s for s in rule.fields if not s.startswith("run:")]
        if kind != "artifact_path" and not principal.is_admin and not any(
                self._ids_for(p, s, data, query) for s in primary):
            return self.deny(p, 400, "INVALID_PARAMETER_VALUE",
                             f"missing {' or '.join(f.rpartition(':')[2] for f in primary)}")
        return Allow(resource=",".join(checked) or None)

    def _graphql(self, p: Pending, data: Any) -> Allow | Denial:
        principal = p.principal
        assert principal is not None
        experiments = self.readable(principal, EXPERIMENT)
        models = self.readable(principal, REGISTERED_MODEL)
        keep = None if experiments is None else (lambda ids: [i for i in ids if i in experiments])
        try:
            plan = graphql_guard.plan(data, principal.is_admin, keep,
                                      None if models is None else graphql_guard.new_marker())
        except graphql_guard.GraphQLDenied as e:
            return self.deny(p, 403, "PERMISSION_DENIED", f"GraphQL: {e}")
        for kind, ident in plan.needs:
            target = ident if kind == "experiment" else resources.experiment_of(kind, ident)
            if target is None:
                continue
            if self.permission(principal, EXPERIMENT, target) < Permission.READ:
                return self.deny(p, 403, "PERMISSION_DENIED", f"GraphQL: no READ on experiment {target!r}",
                                 f"experiment:{target}")
        allow = Allow(new_body=plan.body)
        marker = plan.marker
        if marker is not None and models is not None:
            def after(status: int, body: bytes) -> bytes:
                return graphql_guard.filter_response(status, body, marker, models.__contains__)
            allow.after = after
        return allow

    # specials ---------------------------------------------------------------------------------
    def _filtered_ids(self, p: Pending, ids: list[str]) -> list[str]:
        assert p.principal is not None
        readable = self.readable(p.principal, EXPERIMENT)
        return ids if readable is None else [i for i in ids if i in readable]

    def _rewrite(self, p: Pending, data: Any, query: dict[str, list[str]], name: str, ids: list[str]) -> Allow:
        if p.request.method == "GET" and p.request.query_string:
            q = {k: v for k, v in query.items() if k not in (name, _camel(name))}
            q[name] = ids
            return Allow(new_query=urlencode(q, doseq=True))
        data = dict(data) if isinstance(data, dict) else {}
        data.pop(_camel(name), None)
        data[name] = ids
        return Allow(new_body=json.dumps(data).encode())

    def _special_search_runs(self, p: Pending, data: Any, query: dict[str, list[str]], body: bytes | None) -> Allow:
        ids = _values(_get(data, "experiment_ids"))
        allowed = self._filtered_ids(p, ids)
        if not allowed:
            return Allow(respond=(200, b"{}"))
        return self._rewrite(p, data, query, "experiment_ids", allowed) if allowed != ids else Allow()

    _special_search_ids = _special_search_runs

    def _special_search_traces_v3(self, p: Pending, data: Any, query: dict[str, list[str]], body: bytes | None) -> Allow:
        data = dict(data) if isinstance(data, dict) else {}
        ids = _values(_get(data, "experiment_ids"))
        allowed_ids = self._filtered_ids(p, ids)
        locations = _get(data, "locations") or []
        kept = []
        for loc in locations if isinstance(locations, list) else []:
            exp_id = _values(_get(_get(loc, "mlflow_experiment"), "experiment_id"))
            if len(exp_id) == 1 and self._filtered_ids(p, exp_id):
                kept.append(loc)
        if not allowed_ids and not kept:
            return Allow(respond=(200, b"{}"))
        for key in ("experiment_ids", "locations"):
            data.pop(_camel(key), None)
        data["experiment_ids"], data["locations"] = allowed_ids, kept
        return Allow(new_body=json.dumps(data).encode())

    def _special_filter_search(self, p: Pending, data: Any, query: dict[str, list[str]],
                               body: bytes | None) -> Allow | Denial:
        """experiments/registered-models/model-versions search: readable items only, full pages."""
        assert p.principal is not None and p.rule.special is not None
        kind = search_paging.KINDS[p.rule.special]
        readable = self.readable(p.principal, kind.resource_type)
        if readable is None:
            return Allow()
        in_query = p.request.method == "GET" and bool(p.request.query_string or not body)
        if not in_query and not isinstance(data, dict):
            return self.deny(p, 400, "INVALID_PARAMETER_VALUE", "expected a JSON object body")
        req = search_paging.SearchRequest(in_query, dict(query) if in_query else dict(data))
        try:
            pages = search_paging.plan(kind, req, readable, self.cfg.search_in_limit)
        except search_paging.SearchError as e:
            return self.deny(p, 400, "INVALID_PARAMETER_VALUE", str(e))
        if pages is None:
            return Allow(respond=(200, b"{}"))
        return Allow(pages=pages)

    _special_filter_experiments = _special_filter_models = _special_filter_model_versions = _special_filter_search

    def _special_gateway_endpoint_list(self, p: Pending, data: Any, query: dict[str, list[str]],
                                       body: bytes | None) -> Allow | Denial:
        """`GET gateway-proxy` lists the AI gateway's endpoints, and nothing else, for any caller."""
        assert p.principal is not None
        if p.principal.is_admin or [v.strip("/") for v in query.get("gateway_path", [])] == ["api/2.0/endpoints"]:
            return Allow()
        return self.deny(p, 403, "PERMISSION_DENIED",
                         "GET gateway-proxy is open to non-admins for gateway_path=api/2.0/endpoints only")

    def _special_create_experiment(self, p: Pending, *_: Any) -> Allow:
        principal = p.principal
        assert principal is not None

        def after(status: int, body: bytes) -> None:
            if status == 200:
                exp_id = _get(json.loads(body), "experiment_id")
                if exp_id is not None:
                    self.grant_creator(principal, EXPERIMENT, str(exp_id))
        return Allow(after=after)

    def _special_create_model(self, p: Pending, data: Any, *_: Any) -> Allow:
        principal = p.principal
        assert principal is not None

        def after(status: int, body: bytes) -> None:
            if status == 200:
                name = _get(_get(json.loads(body), "registered_model"), "name")
                if name:
                    self.grant_creator(principal, REGISTERED_MODEL, str(name))
        return Allow(after=after)

    def _special_rename_model(self, p: Pending, data: Any, query: dict[str, list[str]], body: bytes | None) -> Allow | Denial:
        checked = self._check_resources(p, data, query)
        if isinstance(checked, Denial):
            return checked
        old, new = _get(data, "name"), _get(data, "new_name")

        def after(status: int, _body: bytes) -> None:
            if status == 200 and isinstance(old, str) and isinstance(new, str):
                self.store.rename_resource(REGISTERED_MODEL, old, new)
                self.forget_permissions()
        checked.after = after
        return checked

    # skills (MLflow 3.18) -------------------------------------------------------------------------
    def _skill_call(self, p: Pending, decide: Callable[[], Allow]) -> Allow | Denial:
        """Run a skill decision; bad names are 400s, missing roles 403s, and MLflow learns who asks."""
        assert p.principal is not None
        try:
            allow = decide()
        except skill_access.SkillDenied as e:
            return self.deny(p, 403, "PERMISSION_DENIED", str(e), e.resource)
        except MlflowException as e:  # a bad name (400), or the store's own error
            return self.deny(p, e.get_http_status_code(), str(e.error_code), e.message)
        allow.asgi_state = {"username": p.principal.name, **(allow.asgi_state or {})}
        return allow

    def _check_skill(self, p: Pending, need: Permission) -> Allow:
        assert p.principal is not None
        skill = skill_access.path_skill(p.params)
        self.skills.require(p.principal, skill, need)
        return Allow(resource=skill_access.label(skill))

    def _grant_created(self, principal: Principal, created: list[skills.SkillId]) -> Callable[[int, bytes], None]:
        def after(status: int, _body: bytes) -> None:
            if status == 200:
                for skill in created:
                    self.grant_creator(principal, SKILL, skill.key)
        return after

    def _special_skill_search(self, p: Pending, *_: Any) -> Allow | Denial:
        principal = p.principal
        assert principal is not None

        def decide() -> Allow:
            readable = self.skills.readable(principal)
            if readable is None:
                return Allow()
            return Allow(asgi_state={"skill_identity_scope": skill_access.search_scope(readable)},
                         after=skill_access.filter_search_answer(readable))
        return self._skill_call(p, decide)

    def _special_skill_create(self, p: Pending, data: Any, *_: Any) -> Allow | Denial:
        principal = p.principal
        assert principal is not None

        def decide() -> Allow:
            skill = skill_access.body_skill(data)
            self.skills.require_create(principal, skill)
            return Allow(resource=skill_access.label(skill), after=self._grant_created(principal, [skill]))
        return self._skill_call(p, decide)

    def _special_skill_register(self, p: Pending, *_: Any) -> Allow | Denial:
        principal = p.principal
        assert principal is not None

        def decide() -> Allow:
            skill = skill_access.path_skill(p.params)
            exists = self.skills.require_register(principal, skill)
            return Allow(resource=skill_access.label(skill), asgi_state={"skill_expected_parent_exists": exists},
                         after=None if exists else self._grant_created(principal, [skill]))
        return self._skill_call(p, decide)

    def _special_skill_bulk_register(self, p: Pending, data: Any, *_: Any) -> Allow | Denial:
        principal = p.principal
        assert principal is not None

        def decide() -> Allow:
            targets = skill_access.bulk_skills(data)
            expected = {s.name: self.skills.require_register(principal, s) for s in targets}
            created = [s for s in targets if not expected[s.name]]
            return Allow(resource=",".join(skill_access.label(s) for s in targets)[:1024],
                         asgi_state={"skill_expected_parent_exists": expected},
                         after=self._grant_created(principal, created) if created else None)
        return self._skill_call(p, decide)

    def _special_skill_update_version(self, p: Pending, data: Any, *_: Any) -> Allow | Denial:
        need = Permission.MANAGE if skill_access.deletes_version(data) else Permission.EDIT
        return self._skill_call(p, lambda: self._check_skill(p, need))


def _www_authenticate(problem: str) -> str:
    safe = "".join(c for c in problem if c.isprintable() and c not in '"\\')[:200]
    return f'Bearer realm="mlflow", error="invalid_token", error_description="{safe}"'


def _artifact_experiment(path: str) -> str | None:
    segments = [s for s in path.split("/")]
    if not segments or not segments[0].isdigit() or any(s in ("..", ".") for s in segments):
        return None
    return segments[0]
