"""The one table mapping every route the MLflow server exposes to what a caller needs.

Paths are matched after `paths.canonical()` (static prefix removed, `/ajax-api/` treated as
`/api/`). A request whose (method, path) is in no row is denied: new MLflow routes stay closed
until a row is added here.

Checks:
  public         no authentication (UI assets, health)
  authenticated  any authenticated caller
  admin          admins only
  experiment/run/trace/logged_model/model/artifact_path
                 the caller needs `permission` on the experiment (or registered model) the ids
                 in `fields` lead to; ids come from the query string for GET with a query string,
                 else from the JSON body (exactly as MLflow reads them), or from the URL (`path:`),
                 or a header (`header:`)
  skill          the caller needs `permission` on the skill named by the URL (`{name}`, and
                 `{organization}` in the `@{organization}` forms); a grant on the organization
                 covers its skills
  graphql        every top-level field checked (graphql_guard)
`special` names extra behaviour in gate.py (search filtering, creator grants, renames).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mlflow_app_rbac.permissions import Permission

R, E, M, N = Permission.READ, Permission.EDIT, Permission.MANAGE, Permission.NONE


@dataclass(frozen=True)
class Rule:
    name: str
    check: str
    permission: Permission = N
    fields: tuple[str, ...] = ()
    special: str | None = None
    mutates: bool = False
    # a read MLflow's UI sends by itself on page views: its denials are recorded once per principal
    # and route per hour (gate.Gate._deny), not once per page view
    ui_probe: bool = False

    @property
    def needs_body(self) -> bool:
        return any(not f.startswith(("path:", "header:", "args:")) for f in self.fields) or self.check == "graphql" \
            or self.special in {"search_runs", "search_ids", "search_traces_v3", "filter_experiments",
                                "filter_models", "filter_model_versions", "skill_create", "skill_bulk_register",
                                "skill_update_version"}


def _rule(check: str, permission: Permission = N, *fields: str, special: str | None = None,
          mutates: bool | None = None) -> Rule:
    return Rule("", check, permission, fields, special,
                permission >= E if mutates is None else mutates)


PUBLIC = _rule("public")
AUTH = _rule("authenticated")
AUTH_MUT = _rule("authenticated", mutates=True)
ADMIN = _rule("admin", mutates=True)
# Reads the UI sends on page views in admin-only families (not resource-scoped yet): admins only,
# like the family; not audited when allowed (a read), and a non-admin's denial is recorded once per
# principal and route per hour instead of on every page view.
ADMIN_UI_PROBE = Rule("", "admin", N, ui_probe=True)


def exp(p: Permission, *f: str, **kw: object) -> Rule:
    return _rule("experiment", p, *(f or ("experiment_id",)), **kw)  # type: ignore[arg-type]


def run(p: Permission, *f: str, **kw: object) -> Rule:
    return _rule("run", p, *(f or ("run_id", "run_uuid")), **kw)  # type: ignore[arg-type]


def trace(p: Permission, *f: str, **kw: object) -> Rule:
    return _rule("trace", p, *f, **kw)  # type: ignore[arg-type]


def lmodel(p: Permission, *f: str, **kw: object) -> Rule:
    return _rule("logged_model", p, *(f or ("path:model_id",)), **kw)  # type: ignore[arg-type]


def model(p: Permission, *f: str, **kw: object) -> Rule:
    return _rule("model", p, *(f or ("name",)), **kw)  # type: ignore[arg-type]


def apath(p: Permission, *f: str, **kw: object) -> Rule:
    return _rule("artifact_path", p, *(f or ("path:artifact_path",)), **kw)  # type: ignore[arg-type]


V2, V3 = "2.0/mlflow", "3.0/mlflow"


def skill(p: Permission, **kw: object) -> Rule:
    return _rule("skill", p, "path:name", **kw)  # type: ignore[arg-type]


# The Skills registry (MLflow 3.18, FastAPI only), in the order MLflow's router declares its routes:
# Starlette serves a path with the first route that matches it, and so does `match()` below, so both
# read the same `{organization}` and `{name}` from it. Roles as in MLflow's basic-auth.
SK, SKO = f"{V3}/skills", f"{V3}/skills/@{{organization}}/{{name}}"
SKILL_ROUTES: list[tuple[str, str, Rule]] = [
    ("POST", SK, _rule("skill", special="skill_create", mutates=True)),
    ("GET", SK, _rule("skill", special="skill_search")),
    ("GET", SKO, skill(R)),
    ("GET", f"{SKO}/versions", skill(R)),
    ("GET", f"{SK}/{{name}}/versions", skill(R)),
    ("POST", f"{SKO}/tags", skill(E)),
    ("DELETE", f"{SKO}/tags/{{key:path}}", skill(E)),
    ("POST", f"{SKO}/versions/{{version}}/tags", skill(E)),
    ("DELETE", f"{SKO}/versions/{{version}}/tags/{{key:path}}", skill(M)),
    ("POST", f"{SK}/{{name}}/tags", skill(E)),
    ("DELETE", f"{SK}/{{name}}/tags/{{key:path}}", skill(E)),
    ("POST", f"{SK}/{{name}}/versions/{{version}}/tags", skill(E)),
    ("DELETE", f"{SK}/{{name}}/versions/{{version}}/tags/{{key:path}}", skill(M)),
    ("PATCH", f"{SK}/{{name}}", skill(E)),
    ("PATCH", SKO, skill(E)),
    ("GET", f"{SK}/{{name}}", skill(R)),
    ("POST", f"{SK}/{{name}}/versions", skill(E, special="skill_register")),
    ("POST", f"{SKO}/versions", skill(E, special="skill_register")),
    ("POST", f"{SK}/bulk-register", _rule("skill", E, special="skill_bulk_register")),
    ("GET", f"{SK}/{{name}}/versions/{{version}}", skill(R)),
    ("GET", f"{SKO}/versions/{{version}}", skill(R)),
    ("GET", f"{SK}/{{name}}/aliases/{{alias}}", skill(R)),
    ("GET", f"{SKO}/aliases/{{alias}}", skill(R)),
    ("POST", f"{SK}/{{name}}/aliases", skill(E)),
    ("POST", f"{SKO}/aliases", skill(E)),
    ("DELETE", f"{SK}/{{name}}/aliases/{{alias}}", skill(M)),
    ("DELETE", f"{SKO}/aliases/{{alias}}", skill(M)),
    ("DELETE", f"{SK}/{{name}}/versions/{{version}}", skill(M)),
    ("DELETE", f"{SKO}/versions/{{version}}", skill(M)),
    ("DELETE", f"{SK}/{{name}}", skill(M)),
    ("DELETE", SKO, skill(M)),
    # EDIT, or MANAGE when the body sets status "deleted"
    ("PATCH", f"{SK}/{{name}}/versions/{{version}}", skill(E, special="skill_update_version")),
    ("PATCH", f"{SKO}/versions/{{version}}", skill(E, special="skill_update_version")),
]

# (methods, path pattern under /api/, rule). `{x}` = one segment, `{x:path}` = the rest.
TABLE: list[tuple[str, str, Rule]] = [
    # UI assets and service endpoints
    ("GET", "/", PUBLIC), ("GET", "/static-files/{path:path}", PUBLIC), ("GET", "/build/{path:path}", PUBLIC),
    ("GET", "/health", PUBLIC), ("GET", "/version", PUBLIC),
    ("GET", "/api/3.0/mlflow/server-info", AUTH), ("GET,POST", "/api/3.0/mlflow/ui-telemetry", AUTH),
    ("GET,POST", "/graphql", _rule("graphql")),
    # experiments
    ("POST", f"{V2}/experiments/create", _rule("authenticated", special="create_experiment", mutates=True)),
    ("GET,POST", f"{V2}/experiments/search", _rule("authenticated", special="filter_experiments")),
    ("GET", f"{V2}/experiments/get", exp(R)),
    ("GET", f"{V2}/experiments/get-by-name", _rule("experiment_name", R, "experiment_name")),
    ("POST", f"{V2}/experiments/delete", exp(M)), ("POST", f"{V2}/experiments/restore", exp(M)),
    ("POST", f"{V2}/experiments/update", exp(E)),
    ("POST", f"{V2}/experiments/set-experiment-tag", exp(E)),
    ("POST", f"{V2}/experiments/delete-experiment-tag", exp(E)),
    ("POST", f"{V2}/experiments/search-datasets", exp(R, "experiment_ids", special="search_ids")),
    ("POST", "2.0mlflow/experiments/search-datasets", exp(R, "experiment_ids", special="search_ids")),
    # evaluation datasets: the search (the experiment's Traces/Datasets pages) narrowed to readable
    # experiments; the rest of the datasets family stays admin-only
    ("POST", f"{V3}/datasets/search", exp(R, "experiment_ids", special="search_ids")),
    # runs
    ("POST", f"{V2}/runs/create", exp(E)),
    ("POST", f"{V2}/runs/create-promptlab-run", exp(E)),
    ("GET", f"{V2}/runs/get", run(R)),
    ("POST", f"{V2}/runs/search", exp(R, "experiment_ids", special="search_runs")),
    ("POST", f"{V2}/runs/delete", run(M)), ("POST", f"{V2}/runs/restore", run(M)),
    *[("POST", f"{V2}/runs/{a}", run(E)) for a in (
        "update", "log-metric", "log-parameter", "set-tag", "delete-tag", "log-batch", "log-model",
        "log-inputs", "outputs")],
    ("GET", f"{V2}/metrics/get-history", run(R)),
    ("GET", f"{V2}/metrics/get-history-bulk", run(R, "args:run_id")),
    ("GET", f"{V2}/metrics/get-history-bulk-interval", run(R, "run_ids")),
    # run artifacts
    ("GET", f"{V2}/artifacts/list", run(R)),
    ("POST", f"{V2}/artifacts/presigned-download-url", run(R)),
    ("POST", f"{V2}/artifacts/presigned-upload-url", run(E)),
    ("GET", "/get-artifact", run(R, "args:run_id", "args:run_uuid")),
    ("POST", f"{V2}/upload-artifact", run(E, "args:run_uuid", "args:run_id")),
    ("GET", f"{V2}/get-trace-artifact", trace(R, "args:request_id")),
    ("GET", f"{V3}/get-trace-artifact", trace(R, "args:request_id")),
    # artifact proxy: <experiment id>/<...>
    ("GET", "2.0/mlflow-artifacts/artifacts", apath(R, "args:path")),
    ("GET", "2.0/mlflow-artifacts/artifacts/{artifact_path:path}", apath(R)),
    ("PUT", "2.0/mlflow-artifacts/artifacts/{artifact_path:path}", apath(E)),
    ("DELETE", "2.0/mlflow-artifacts/artifacts/{artifact_path:path}", apath(M)),
    ("POST", "2.0/mlflow-artifacts/mpu/create/{artifact_path:path}", apath(E)),
    ("POST", "2.0/mlflow-artifacts/mpu/complete/{artifact_path:path}", apath(E)),
    ("POST", "2.0/mlflow-artifacts/mpu/abort/{artifact_path:path}", apath(E)),
    ("GET", "2.0/mlflow-artifacts/presigned/{artifact_path:path}", apath(R)),
    # logged models
    ("POST", f"{V2}/logged-models", exp(E)),
    ("POST", f"{V2}/logged-models/search", exp(R, "experiment_ids", special="search_ids")),
    ("GET", f"{V2}/logged-models/{{model_id}}", lmodel(R)),
    ("PATCH", f"{V2}/logged-models/{{model_id}}", lmodel(E)),
    ("DELETE", f"{V2}/logged-models/{{model_id}}", lmodel(M)),
    ("PATCH", f"{V2}/logged-models/{{model_id}}/tags", lmodel(E)),
    ("DELETE", f"{V2}/logged-models/{{model_id}}/tags/{{tag_key}}", lmodel(E)),
    ("POST", f"{V2}/logged-models/{{model_id}}/params", lmodel(E)),
    ("GET", f"{V2}/logged-models/{{model_id}}/artifacts/directories", lmodel(R)),
    ("GET", f"{V2}/logged-models/{{model_id}}/artifacts/files", lmodel(R)),
    # traces
    ("POST", f"{V2}/traces", exp(E)),
    ("GET", f"{V2}/traces", exp(R, "experiment_ids", special="search_ids")),
    ("PATCH", f"{V2}/traces/{{request_id}}", trace(E, "path:request_id")),
    ("GET", f"{V2}/traces/{{request_id}}/info", trace(R, "path:request_id")),
    ("PATCH,DELETE", f"{V2}/traces/{{request_id}}/tags", trace(E, "path:request_id")),
    ("POST", f"{V2}/traces/delete-traces", exp(M)), ("POST", f"{V3}/traces/delete-traces", exp(M)),
    ("POST", f"{V2}/traces/link-to-run", trace(E, "trace_ids", "run:run_id")),
    ("POST", f"{V2}/traces/link-prompts", trace(E, "trace_id")),
    ("POST", f"{V3}/traces", _rule("experiment", E, "trace.trace_info.trace_location.mlflow_experiment.experiment_id")),
    ("GET", f"{V3}/traces/{{trace_id}}", trace(R, "path:trace_id")),
    ("GET", f"{V3}/traces/get", trace(R, "trace_id")),
    ("GET", f"{V3}/traces/batchGet", trace(R, "trace_ids")),
    ("POST", f"{V3}/traces/batchGetInfos", trace(R, "trace_ids")),
    ("POST", f"{V3}/traces/search", _rule("experiment", R, "experiment_ids", special="search_traces_v3")),
    ("POST", f"{V3}/traces/metrics", exp(R, "experiment_ids")),
    ("POST", f"{V3}/traces/calculate-filter-correlation", exp(R, "experiment_ids")),
    ("PATCH,DELETE", f"{V3}/traces/{{trace_id}}/tags", trace(E, "path:trace_id")),
    # assessment handlers may take the trace id from the body too: both are checked
    ("POST", f"{V3}/traces/{{trace_id}}/assessments", trace(E, "path:trace_id", "assessment.trace_id")),
    ("GET", f"{V3}/traces/{{trace_id}}/assessments/{{assessment_id}}", trace(R, "path:trace_id")),
    ("PATCH,DELETE", f"{V3}/traces/{{trace_id}}/assessments/{{assessment_id}}",
     trace(E, "path:trace_id", "assessment.trace_id")),
    # MLflow 3.0-3.1 served the V3 trace API under /2.0 (one rule literally `{assessment.trace_id}`)
    ("GET", f"{V2}/traces/{{trace_id}}", trace(R, "path:trace_id")),
    ("POST", f"{V2}/traces/search", _rule("experiment", R, "experiment_ids", special="search_traces_v3")),
    ("POST", f"{V2}/traces/{{trace_id}}/assessments", trace(E, "path:trace_id", "assessment.trace_id")),
    ("PATCH,DELETE", f"{V2}/traces/{{trace_id}}/assessments/{{assessment_id}}",
     trace(E, "path:trace_id", "assessment.trace_id")),
    ("POST", "/v1/traces", exp(E, "header:x-mlflow-experiment-id")),
    # registered models and prompts (prompts are registered models)
    ("POST", f"{V2}/registered-models/create", _rule("authenticated", special="create_model", mutates=True)),
    ("GET", f"{V2}/registered-models/search", _rule("authenticated", special="filter_models")),
    ("GET", f"{V2}/registered-models/get", model(R)),
    ("GET,POST", f"{V2}/registered-models/get-latest-versions", model(R)),
    ("POST", f"{V2}/registered-models/rename", model(M, special="rename_model")),
    ("PATCH", f"{V2}/registered-models/update", model(E)),
    ("DELETE", f"{V2}/registered-models/delete", model(M)),
    ("POST", f"{V2}/registered-models/set-tag", model(E)),
    ("DELETE", f"{V2}/registered-models/delete-tag", model(E)),
    ("POST,DELETE", f"{V2}/registered-models/alias", model(E)),
    ("GET", f"{V2}/registered-models/alias", model(R)),
    ("POST", f"{V2}/model-versions/create", model(E, "name", "run:run_id")),
    ("GET", f"{V2}/model-versions/search", _rule("authenticated", special="filter_model_versions")),
    ("GET", f"{V2}/model-versions/get", model(R)),
    ("GET", f"{V2}/model-versions/get-download-uri", model(R)),
    ("GET", "/model-versions/get-artifact", model(R, "args:name")),
    ("PATCH", f"{V2}/model-versions/update", model(E)),
    ("POST", f"{V2}/model-versions/transition-stage", model(E)),
    ("POST", f"{V2}/model-versions/set-tag", model(E)),
    ("DELETE", f"{V2}/model-versions/delete-tag", model(E)),
    ("DELETE", f"{V2}/model-versions/delete", model(M)),
    # this plugin's own API
    ("GET", "2.0/rbac/whoami", AUTH),
    # the account routes MLflow's UI asks (basic-auth's, answered by ui_account from rbac's grants)
    ("GET", f"{V2}/users/current", AUTH), ("GET", f"{V3}/users/current/permissions", AUTH),
    ("GET", f"{V3}/users/roles/list", AUTH),
    ("GET", "2.0/rbac/grants", ADMIN), ("POST,DELETE", "2.0/rbac/grants", ADMIN),
    ("GET", "2.0/rbac/api-keys", ADMIN), ("POST", "2.0/rbac/api-keys", ADMIN),
    ("DELETE", "2.0/rbac/api-keys/{key_id}", ADMIN),
    ("GET", "2.0/rbac/audit", ADMIN), ("GET", "2.0/rbac/routes", ADMIN),
    # what MLflow 3.18's UI asks on its own: the assistant's settings on every page, an experiment's
    # scorers and issues on its pages (admin-only families, quiet denials)
    ("GET", f"{V3}/assistant/config", ADMIN_UI_PROBE), ("GET", f"{V3}/assistant/providers", ADMIN_UI_PROBE),
    ("GET", f"{V3}/scorers/list", ADMIN_UI_PROBE), ("POST", f"{V3}/issues/search", ADMIN_UI_PROBE),
    # the runs page lists the AI gateway's endpoints: MLflow's handler takes only
    # `gateway_path=api/2.0/endpoints` on GET (endpoint names and models, no keys; an empty list without
    # MLFLOW_DEPLOYMENTS_TARGET), which basic-auth gives every user too. POST (invocations) is admin-only.
    # The gate checks the one gateway_path itself as well.
    ("GET", f"{V2}/gateway-proxy", _rule("authenticated", special="gateway_endpoint_list")),
]

# Whole families that are admin-only in this version (not resource-scoped yet).
ADMIN_FAMILIES: list[tuple[str, str]] = [
    ("GET,POST,PUT,PATCH,DELETE", f"{V3}/{fam}/{{rest:path}}") for fam in (
        "gateway", "datasets", "scorers", "scorer", "issues", "label-schemas", "review-queues",
        "prompt-optimization", "demo", "jobs", "workspaces", "genai", "assistant", "mcp-servers",
    )
] + [
    ("GET,POST,PUT,PATCH,DELETE", f"{V3}/{fam}") for fam in (
        "issues", "workspaces", "mcp-servers", "prompt-optimization/jobs")
] + [
    ("GET,POST,PATCH,DELETE", f"{V2}/webhooks"), ("GET,POST,PATCH,DELETE", f"{V2}/webhooks/{{rest:path}}"),
    ("POST", f"{V2}/gateway-proxy"), ("GET", f"{V2}/unified-traces"),
    ("GET", f"{V2}/get-online-trace-details"),
    ("GET,POST,PATCH", "3.0/jobs"), ("POST", "3.0/jobs/"), ("GET,POST,PATCH", "3.0/jobs/{rest:path}"),
    ("GET,POST", "/gateway/{rest:path}"),
]


def _compile(pattern: str) -> re.Pattern[str]:
    if not pattern.startswith("/"):
        pattern = "/api/" + pattern
    out, pos = "", 0
    for m in re.finditer(r"\{(\w+)(:path)?\}", pattern):
        out += re.escape(pattern[pos:m.start()])
        out += f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    return re.compile(out + re.escape(pattern[pos:]) + r"\Z")


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: str
    regex: re.Pattern[str]
    rule: Rule


@lru_cache(maxsize=1)
def compiled() -> tuple[Route, ...]:
    routes: list[Route] = []
    for methods, pattern, rule in TABLE + SKILL_ROUTES + [(m, p, ADMIN) for m, p in ADMIN_FAMILIES]:
        name = rule.name or pattern
        routes.append(Route(frozenset(methods.split(",")), pattern, _compile(pattern),
                            Rule(name, rule.check, rule.permission, rule.fields, rule.special, rule.mutates,
                                 rule.ui_probe)))
    return tuple(routes)


@lru_cache(maxsize=1)
def _exact() -> dict[tuple[str, str], Rule]:
    out: dict[tuple[str, str], Rule] = {}
    for route in compiled():
        if not route.regex.groupindex:
            literal = route.pattern if route.pattern.startswith("/") else "/api/" + route.pattern
            for m in route.methods:
                out.setdefault((m, literal), route.rule)
    return out


def match(method: str, canonical_path: str) -> tuple[Rule, dict[str, str]] | None:
    if method == "HEAD":
        method = "GET"
    rule = _exact().get((method, canonical_path))
    if rule is not None:
        return rule, {}
    for route in compiled():
        if method in route.methods or (method == "OPTIONS" and route.rule.check == "public"):
            m = route.regex.match(canonical_path)
            if m:
                return route.rule, m.groupdict()
    return None
