"""GraphQL through a real rbac server: model versions of unreadable registered models never
appear (nested in runs or searched), searches are narrowed to readable experiments."""

from __future__ import annotations

import json
import uuid

import pytest
from mlflow_app_rbac import graphql_guard

# the run page's query in MLflow 3.17.2's UI (trimmed to the fields that matter here)
GET_RUN = """query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") {
  mlflowGetRun(input: $data) {
    apiError { code message }
    run {
      info { runUuid experimentId }
      experiment { experimentId name }
      modelVersions { status version name source }
      data { params { key value } }
    }
  }
}"""


@pytest.fixture
def world(server, idp, user):
    """The user's own experiment and run; a model version of it in a model the user created and one
    in a model only the admin can read."""
    token = idp.token(user)
    exp_id = server.experiment(token)
    run_id = server.run(exp_id, token)
    mine, hidden = f"mine-{uuid.uuid4().hex[:8]}", f"hidden-{uuid.uuid4().hex[:8]}"
    for name, key in ((mine, token), (hidden, server.admin_key)):
        for path, body in (("/api/2.0/mlflow/registered-models/create", {"name": name}),
                           ("/api/2.0/mlflow/model-versions/create",
                            {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id})):
            resp = server.call("POST", path, key, json=body)
            assert resp.status_code == 200, resp.text
    return {"token": token, "exp": exp_id, "run": run_id, "mine": mine, "hidden": hidden}


def gql(server, token, query, variables=None):
    resp = server.call("POST", "/graphql", token, json={"query": query, "variables": variables or {}})
    return resp.status_code, resp.text


def test_run_page_query_shows_only_readable_model_versions(server, world):
    status, text = gql(server, world["token"], GET_RUN, {"data": {"runId": world["run"]}})
    assert status == 200, text
    run = json.loads(text)["data"]["mlflowGetRun"]["run"]
    assert [v["name"] for v in run["modelVersions"]] == [world["mine"]]
    assert run["info"]["runUuid"] == world["run"]
    assert world["hidden"] not in text and graphql_guard.MARKER_PREFIX not in text


def test_admin_sees_every_model_version(server, world):
    status, text = gql(server, server.admin_key, GET_RUN, {"data": {"runId": world["run"]}})
    assert status == 200
    names = {v["name"] for v in json.loads(text)["data"]["mlflowGetRun"]["run"]["modelVersions"]}
    assert names == {world["mine"], world["hidden"]}


@pytest.mark.parametrize("selection", [
    "modelVersions { version }",  # no name selected: the server adds it and takes it out again
    "mv: modelVersions { name: version source }",  # aliases cannot pass a version off as another model's
    "...F",
    "... on MlflowRunExtension { modelVersions { status } }",
])
def test_unreadable_versions_hidden_whatever_the_selection(server, world, selection):
    q = 'query { mlflowGetRun(input: {runId: "%s"}) { run { %s } } }' % (world["run"], selection)  # noqa: UP031
    if selection == "...F":
        q += " fragment F on MlflowRunExtension { modelVersions { creationTimestamp } }"
    status, text = gql(server, world["token"], q)
    assert status == 200, text
    run = json.loads(text)["data"]["mlflowGetRun"]["run"]
    versions = run.get("mv", run.get("modelVersions"))
    assert len(versions) == 1, text
    assert world["hidden"] not in text and graphql_guard.MARKER_PREFIX not in text


def test_a_grant_on_the_model_makes_its_version_visible(server, world, user):
    server.grant("registered_model", world["hidden"], user, "READ")
    status, text = gql(server, world["token"], GET_RUN, {"data": {"runId": world["run"]}})
    assert status == 200
    names = {v["name"] for v in json.loads(text)["data"]["mlflowGetRun"]["run"]["modelVersions"]}
    assert names == {world["mine"], world["hidden"]}


def test_search_model_versions_holds_only_readable_models(server, world):
    q = 'query($f: String) { mlflowSearchModelVersions(input: {filter: $f}) { modelVersions { name version } } }'
    status, text = gql(server, world["token"], q, {"f": f"run_id='{world['run']}'"})
    assert status == 200, text
    found = json.loads(text)["data"]["mlflowSearchModelVersions"]["modelVersions"]
    assert [v["name"] for v in found] == [world["mine"]]
    assert world["hidden"] not in text


def test_search_runs_is_narrowed_to_readable_experiments(server, world):
    hidden_exp = server.experiment()
    hidden_run = server.run(hidden_exp)
    q = "query($ids: [String]) { mlflowSearchRuns(input: {experimentIds: $ids}) { runs { info { runUuid } } } }"
    status, text = gql(server, world["token"], q, {"ids": [world["exp"], hidden_exp]})
    assert status == 200, text
    runs = json.loads(text)["data"]["mlflowSearchRuns"]["runs"]
    assert [r["info"]["runUuid"] for r in runs] == [world["run"]]
    assert hidden_run not in text
    literal = ('query { mlflowSearchRuns(input: {experimentIds: ["%s", "%s"]}) { runs { info { runUuid } } } }'  # noqa: UP031
               % (hidden_exp, world["exp"]))
    status, text = gql(server, world["token"], literal)
    assert status == 200 and hidden_run not in text and world["run"] in text
    # only unreadable experiments: refused, saying so
    status, text = gql(server, world["token"], q, {"ids": [hidden_exp]})
    assert status == 403 and "readable" in text


def test_search_runs_nested_model_versions_are_filtered(server, world):
    q = ('query($d: MlflowSearchRunsInput) { mlflowSearchRuns(input: $d) '
         '{ runs { info { runUuid } modelVersions { name } } } }')
    status, text = gql(server, world["token"], q, {"d": {"experimentIds": [world["exp"]]}})
    assert status == 200, text
    runs = json.loads(text)["data"]["mlflowSearchRuns"]["runs"]
    assert [v["name"] for v in runs[0]["modelVersions"]] == [world["mine"]]


def test_search_datasets_is_narrowed(server, world):
    hidden_exp = server.experiment()
    hidden_run = server.run(hidden_exp)
    names = {}
    for run_id, key, who in ((world["run"], world["token"], "own"), (hidden_run, server.admin_key, "hidden")):
        names[who] = f"ds-{who}-{uuid.uuid4().hex[:8]}"
        dataset = {"name": names[who], "digest": "d1", "source_type": "local", "source": "{}"}
        resp = server.call("POST", "/api/2.0/mlflow/runs/log-inputs", key,
                           json={"run_id": run_id, "datasets": [{"dataset": dataset}]})
        assert resp.status_code == 200, resp.text
    q = "mutation($d: MlflowSearchDatasetsInput) { mlflowSearchDatasets(input: $d) { datasetSummaries { name } } }"
    status, text = gql(server, world["token"], q, {"d": {"experimentIds": [world["exp"], hidden_exp]}})
    assert status == 200, text
    found = json.loads(text)["data"]["mlflowSearchDatasets"]["datasetSummaries"]
    assert [d["name"] for d in found] == [names["own"]]
    assert names["hidden"] not in text


def test_filter_response_fails_closed_on_an_unreadable_answer():
    marker = graphql_guard.new_marker()
    out = json.loads(graphql_guard.filter_response(200, b"<html>not json", marker, lambda _: True))
    assert out["data"] is None and out["errors"]


def test_filter_response_drops_unreadable_versions_anywhere():
    marker = graphql_guard.new_marker()
    answer = {"data": {"a": {"run": {"x": [{marker: "ok", "v": "1"}, {marker: "secret", "v": "2"}],
                                     "single": {marker: "secret"}, "odd": [{marker: 3}]}}}}
    out = json.loads(graphql_guard.filter_response(200, json.dumps(answer).encode(), marker, {"ok"}.__contains__))
    assert out == {"data": {"a": {"run": {"x": [{"v": "1"}], "single": None, "odd": []}}}}
