"""Every bypass attempt from the issue, each its own test, sent byte-exact (http.client)."""

from __future__ import annotations

import json
import uuid

import pytest


@pytest.fixture
def raw(server, kit):
    def send(_server, method, path, token=None, headers=None, body=None):
        return kit.raw(server.url, method, path, token, headers, body)
    return send


@pytest.fixture
def hidden(server):
    """An experiment with a run that the test's user cannot read."""
    exp_id = server.experiment()
    return exp_id, server.run(exp_id)


GET_EXP = "/api/2.0/mlflow/experiments/get?experiment_id={}"


@pytest.mark.parametrize("variant, expected", [
    ("//api/2.0/mlflow/experiments/get?experiment_id={}", 400),
    ("/api//2.0/mlflow/experiments/get?experiment_id={}", 400),
    ("/api/2.0/mlflow/experiments/get/?experiment_id={}", 403),
    ("/api/2.0/mlflow%2Fexperiments/get?experiment_id={}", 400),
    ("/api/2.0/mlflow%2fexperiments%2fget?experiment_id={}", 400),
    ("/API/2.0/mlflow/experiments/get?experiment_id={}", 403),
    ("/api/2.0/MLflow/Experiments/Get?experiment_id={}", 403),
    ("/static-files/../api/2.0/mlflow/experiments/get?experiment_id={}", 400),
    ("/static-files/%2e%2e/api/2.0/mlflow/experiments/get?experiment_id={}", 400),
    ("/api/2.0/mlflow/./experiments/get?experiment_id={}", 400),
    ("/health/..%2Fapi/2.0/mlflow/experiments/get?experiment_id={}", 400),
    ("/api/2.0/mlflow/experiments/get%3Fx=1?experiment_id={}", 403),
    ("/api/2.0/mlflow/experiments\\get?experiment_id={}", 400),
])
def test_path_variants_cannot_bypass(server, raw, idp, user, hidden, variant, expected):
    status, body = raw(server, "GET", variant.format(hidden[0]), idp.token(user))
    assert status == expected, body
    assert hidden[0] not in body.decode(errors="replace").replace(f"'{hidden[0]}'", "")  # no experiment data leaked


def test_path_variants_are_refused_before_authentication(server, raw, hidden):
    status, _ = raw(server, "GET", "//api/2.0/mlflow/experiments/get?experiment_id=" + hidden[0])
    assert status in (400, 401)


@pytest.mark.parametrize("api", ["/api", "/ajax-api"])
def test_ajax_api_and_api_get_the_same_check(server, raw, idp, user, hidden, api):
    token = idp.token(user)
    path = f"{api}/2.0/mlflow/experiments/get?experiment_id={hidden[0]}"
    assert raw(server, "GET", path, token)[0] == 403
    server.grant("experiment", hidden[0], user, "READ")
    status, body = raw(server, "GET", path, token)
    assert status == 200 and json.loads(body)["experiment"]["experiment_id"] == hidden[0]


def test_head_is_checked_like_get(server, raw, idp, user, hidden):
    # MLflow reads a HEAD's ids from the JSON body (not the query string), as does the gate:
    # with ids only in the query string the request is refused as incomplete.
    assert raw(server, "HEAD", GET_EXP.format(hidden[0]), idp.token(user))[0] in (400, 403)
    assert raw(server, "HEAD", "/api/2.0/mlflow/experiments/get", idp.token(user),
               body={"experiment_id": hidden[0]})[0] == 403


@pytest.mark.parametrize("header", ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"])
def test_method_override_headers_are_refused(server, raw, idp, user, hidden, header):
    status, body = raw(server, "POST", "/api/2.0/mlflow/experiments/search", idp.token(user),
                       headers={header: "DELETE"}, body={"max_results": 1})
    assert status == 400 and header.lower() in body.decode()


def test_method_override_query_parameter_is_refused(server, raw, idp, user, hidden):
    status, body = raw(server, "POST", "/api/2.0/mlflow/experiments/delete?_method=GET", idp.token(user),
                       body={"experiment_id": hidden[0]})
    assert status == 400 and "_method" in body.decode()


def test_run_id_and_run_uuid_both_checked(server, raw, idp, user, hidden):
    own = server.experiment(idp.token(user))
    own_run = server.run(own, idp.token(user))
    status, _ = raw(server, "GET", f"/api/2.0/mlflow/runs/get?run_id={own_run}&run_uuid={hidden[1]}", idp.token(user))
    assert status == 403
    status, _ = raw(server, "GET", f"/api/2.0/mlflow/runs/get?run_id={own_run}&run_id={hidden[1]}", idp.token(user))
    assert status == 403


def test_body_ids_cannot_be_hidden_in_camel_case(server, raw, idp, user, hidden):
    status, _ = raw(server, "POST", "/api/2.0/mlflow/runs/log-metric", idp.token(user),
                    body={"runId": hidden[1], "key": "m", "value": 1, "timestamp": 1})
    assert status == 403


def test_get_with_json_body_is_checked(server, raw, idp, user, hidden):
    """MLflow reads a GET's JSON body when there is no query string: so do we."""
    status, _ = raw(server, "GET", "/api/2.0/mlflow/experiments/get", idp.token(user), body={"experiment_id": hidden[0]})
    assert status == 403


GQL_GET_EXP = "query q($id: String) { mlflowGetExperiment(input: {experimentId: $id}) { experiment { name } } }"


@pytest.mark.parametrize("query", [
    'query { mlflowGetExperiment(input: {experimentId: "%s"}) { experiment { name } } }',
    'query { a: mlflowGetExperiment(input: {experimentId: "%s"}) { experiment { name } } }',
    'query { ...F } fragment F on Query { mlflowGetExperiment(input: {experimentId: "%s"}) { experiment { name } } }',
    'query { ... on Query { mlflowGetExperiment(input: {experimentId: "%s"}) { experiment { name } } } }',
    'mutation { mlflowSearchRuns(input: {experimentIds: ["%s"]}) { runs { info { runId } } } }',
    'query { test(inputString: "x") { output } } query Other { mlflowGetExperiment(input: {experimentId: "%s"}) { experiment { name } } }',
])
def test_graphql_cannot_read_hidden_experiments(server, raw, idp, user, hidden, query):
    status, body = raw(server, "POST", "/graphql", idp.token(user), body={"query": query % hidden[0]})
    assert status == 403, body


def test_graphql_get_checks_the_body_mlflow_executes(server, raw, idp, user, hidden):
    """A harmless query in the query string must not vouch for the body MLflow runs."""
    harmless = "query=%7B%20test(inputString%3A%20%22x%22)%20%7B%20output%20%7D%20%7D"
    bad = {"query": 'query { mlflowGetExperiment(input: {experimentId: "%s"}) { experiment { name } } }' % hidden[0]}  # noqa: UP031 (GraphQL braces)
    status, body = raw(server, "GET", f"/graphql?{harmless}", idp.token(user), body=bad)
    assert status == 403, body


def test_graphql_variables_are_checked(server, raw, idp, user, hidden):
    token = idp.token(user)
    status, _ = raw(server, "POST", "/graphql", token, body={"query": GQL_GET_EXP, "variables": {"id": hidden[0]}})
    assert status == 403
    server.grant("experiment", hidden[0], user, "READ")
    status, body = raw(server, "POST", "/graphql", token, body={"query": GQL_GET_EXP, "variables": {"id": hidden[0]}})
    assert status == 200 and json.loads(body)["data"]["mlflowGetExperiment"]["experiment"]["name"]


def test_graphql_get_run_of_hidden_experiment(server, raw, idp, user, hidden):
    q = 'query { mlflowGetRun(input: {runId: "%s"}) { run { info { runId } } } }' % hidden[1]  # noqa: UP031 (GraphQL braces)
    assert raw(server, "POST", "/graphql", idp.token(user), body={"query": q})[0] == 403


def test_graphql_unknown_fields_are_refused(server, raw, idp, user):
    q = 'query { mlflowSomethingNew(input: {x: "1"}) { y } }'
    status, body = raw(server, "POST", "/graphql", idp.token(user), body={"query": q})
    assert status == 403 and b"not allowed" in body


def test_artifact_proxy_paths_of_other_experiments(server, raw, idp, user, hidden):
    token = idp.token(user)
    own = server.experiment(token)
    base = "/api/2.0/mlflow-artifacts/artifacts"
    assert raw(server, "PUT", f"{base}/{own}/x/a.txt", token, body="ok")[0] == 200
    assert raw(server, "PUT", f"{base}/{hidden[0]}/x/a.txt", token, body="no")[0] == 403
    assert raw(server, "GET", f"{base}/{hidden[0]}/x/a.txt", token)[0] == 403
    assert raw(server, "GET", f"{base}?path={hidden[0]}/x", token)[0] == 403
    assert raw(server, "GET", f"{base}?path={own}/x", token)[0] == 200
    assert raw(server, "GET", base, token)[0] == 403  # the root lists every experiment
    assert raw(server, "GET", f"{base}?path={own}/../{hidden[0]}", token)[0] == 403
    assert raw(server, "GET", f"{base}/{own}/../{hidden[0]}/x/a.txt", token)[0] == 400
    assert raw(server, "GET", f"{base}/{own}%2F..%2F{hidden[0]}/x/a.txt", token)[0] == 400
    assert raw(server, "GET", f"/ajax-api/2.0/mlflow-artifacts/artifacts/{hidden[0]}/x/a.txt", token)[0] == 403


def test_get_artifact_and_metric_history_of_hidden_runs(server, raw, idp, user, hidden):
    token = idp.token(user)
    assert raw(server, "GET", f"/get-artifact?run_id={hidden[1]}&path=a.txt", token)[0] == 403
    assert raw(server, "GET", f"/api/2.0/mlflow/metrics/get-history?run_id={hidden[1]}&metric_key=m", token)[0] == 403
    assert raw(server, "GET", f"/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids={hidden[1]}&metric_key=m", token)[0] == 403
    assert raw(server, "POST", f"/ajax-api/2.0/mlflow/upload-artifact?run_uuid={hidden[1]}&path=x.txt", token, body="x")[0] == 403


def test_ui_assets_are_public_but_hold_no_data(server, raw):
    assert raw(server, "GET", "/health")[0] == 200
    status, _ = raw(server, "GET", "/api/2.0/mlflow/experiments/search")
    assert status == 401


def _start_trace(server, exp_id):
    body = {"trace": {"trace_info": {
        "trace_id": f"tr-{uuid.uuid4().hex}", "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}},
        "request_time": "2026-01-01T00:00:00Z", "state": "OK"}}}
    resp = server.call("POST", "/api/3.0/mlflow/traces", server.admin_key, json=body)
    if resp.status_code == 404:
        pytest.skip("this MLflow version has no /api/3.0/mlflow/traces (StartTraceV3)")
    assert resp.status_code == 200, resp.text
    return resp.json()["trace"]["trace_info"]["trace_id"]


def test_assessment_trace_id_in_the_body_is_checked_too(server, raw, idp, user, hidden):
    token = idp.token(user)
    own_trace = _start_trace(server, server.experiment(token))
    hidden_trace = _start_trace(server, hidden[0])
    body = {"assessment": {"trace_id": hidden_trace, "assessment_name": "x", "feedback": {"value": 1},
                           "source": {"source_type": "HUMAN", "source_id": user}}}
    status, _ = raw(server, "POST", f"/api/3.0/mlflow/traces/{own_trace}/assessments", token, body=body)
    assert status == 403
