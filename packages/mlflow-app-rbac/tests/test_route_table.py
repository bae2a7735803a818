"""Default deny: every route the running server exposes is in the rbac route table."""

from __future__ import annotations

from mlflow_app_rbac import mlflow_compat, paths, routes
from mlflow_app_rbac.route_inventory import flask_routes, inventory

from mlflow_plugins_shared.compat import SERVER_IS_ASGI


def test_every_route_of_the_running_server_is_in_the_table(server):
    rows = server.admin("GET", "/api/2.0/rbac/routes").json()["routes"]
    sources = {r["source"] for r in rows}
    # uvicorn (MLflow >= 3.3): both the Flask url_map and the FastAPI routes; gunicorn before
    assert sources == ({"flask", "fastapi"} if SERVER_IS_ASGI else {"flask"})
    assert len(rows) > 150
    missing = [(r["source"], r["method"], r["rule"]) for r in rows if r["check"] is None]
    assert missing == [], f"routes missing from mlflow_app_rbac/routes.py: {missing}"


def test_sensitive_routes_map_to_resource_checks(server):
    rows = server.admin("GET", "/api/2.0/rbac/routes").json()["routes"]
    by = {(r["method"], r["rule"]): r for r in rows}
    assert by[("POST", "/graphql")]["check"] == "graphql"
    assert by[("GET", "/get-artifact")]["check"] == "run"
    put = "/api/2.0/mlflow-artifacts/artifacts/" + ("{artifact_path:path}" if SERVER_IS_ASGI else "<path:artifact_path>")
    assert by[("PUT", put)]["check"] == "artifact_path"
    assert by[("PUT", put)]["permission"] == "EDIT"
    assert by[("POST", "/ajax-api/2.0/mlflow/upload-artifact")]["check"] == "run"
    assert by[("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval")]["check"] == "run"
    assert by[("DELETE", "/api/2.0/mlflow/registered-models/delete")]["permission"] == "MANAGE"
    if mlflow_compat.has_skills():  # MLflow 3.18+: the Skills registry (FastAPI)
        skill = "/api/3.0/mlflow/skills/@{organization}/{name}"
        assert (by[("GET", skill)]["check"], by[("GET", skill)]["permission"]) == ("skill", "READ")
        assert (by[("PATCH", skill)]["check"], by[("PATCH", skill)]["permission"]) == ("skill", "EDIT")
        assert (by[("DELETE", skill)]["check"], by[("DELETE", skill)]["permission"]) == ("skill", "MANAGE")
        assert by[("POST", "/ajax-api/3.0/mlflow/skills/bulk-register")]["check"] == "skill"
        assert len([r for r in rows if r["check"] == "skill"]) == 66
    else:
        assert not any("/skills" in r["rule"] for r in rows)
    public = {r["rule"] for r in rows if r["check"] == "public"}
    assert public <= {"/", "/static-files/<path:path>", "/build/<path:filename>", "/health", "/version"}


def test_in_process_flask_app_is_fully_mapped():
    """Same check without a server, for a quick failure when MLflow adds a route."""
    from mlflow.server import app

    rows = inventory(app, "", fastapi_app=None)
    assert len(rows) == len(flask_routes(app)) > 150
    assert [r for r in rows if r["check"] is None] == []


def test_unknown_and_near_miss_paths_match_nothing():
    for method, path in [("GET", "/api/2.0/mlflow/experiments/get/"), ("GET", "/API/2.0/mlflow/experiments/get"),
                         ("DELETE", "/api/2.0/mlflow/experiments/get"), ("GET", "/api/2.0/mlflow/brand-new-route")]:
        assert routes.match(method, paths.canonical(path, "")) is None


def test_static_prefix_and_ajax_are_canonicalised():
    assert paths.canonical("/mlf/ajax-api/2.0/mlflow/runs/get", "/mlf") == "/api/2.0/mlflow/runs/get"
    assert paths.canonical("/mlf", "/mlf") == "/"
    assert paths.canonical("/mlfx/api/2.0/mlflow/runs/get", "/mlf") == "/mlfx/api/2.0/mlflow/runs/get"
