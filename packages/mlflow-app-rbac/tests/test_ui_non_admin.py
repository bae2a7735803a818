"""MLflow 3.17's UI as a non-admin with READ on one experiment and one registered model, in headless
Chromium through a real rbac server: every page shows its content, no request for something the
user may read is answered 403/500, and versions of a registered model the user cannot read stay
off the run page. Screenshots: test-artifacts/mlflow-app-rbac/ (gitignored)."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

pytestmark = pytest.mark.ui

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "mlflow-app-rbac"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# admin-only families (README Limits) the UI asks by itself and copes without (the gateway's endpoint
# list, `gateway-proxy`, is open to every user)
ADMIN_ONLY_ASKED = ("/ajax-api/3.0/mlflow/assistant/", "/ajax-api/3.0/mlflow/scorers/",
                    "/ajax-api/3.0/mlflow/issues/")


@pytest.fixture
def seeded(server, monkeypatch) -> dict[str, Any]:
    """An admin's experiment with a run (params, metrics, an artifact), a logged model, a registered
    model the reader may read and one they may not, both with a version from the run."""
    tag = uuid.uuid4().hex[:8]
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_key)
    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    names = {"exp": f"ui-exp-{tag}", "other_exp": f"ui-hidden-exp-{tag}", "run": f"ui-run-{tag}",
             "model": f"ui-model-{tag}", "hidden_model": f"ui-hidden-model-{tag}", "logged": f"ui-logged-{tag}"}
    eid = client.create_experiment(names["exp"])
    client.create_experiment(names["other_exp"])
    rid = client.create_run(eid, run_name=names["run"]).info.run_id
    client.log_batch(rid, metrics=[Metric("val_loss", 1.0 / (i + 1), 1000 + i, i) for i in range(20)],
                     params=[Param("learning_rate", "0.01")])
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / f"notes-{tag}.txt").write_text("hello")
        client.log_artifact(rid, str(Path(d) / f"notes-{tag}.txt"))
    client.set_terminated(rid)
    resp = server.call("POST", "/api/2.0/mlflow/logged-models", server.admin_key,
                       json={"experiment_id": eid, "name": names["logged"], "source_run_id": rid})
    assert resp.status_code == 200, resp.text
    for model in (names["model"], names["hidden_model"]):
        client.create_registered_model(model)
        client.create_model_version(model, f"runs:/{rid}/model", run_id=rid)
    reader = f"reader-{tag}"
    server.grant("experiment", eid, reader, "READ")
    server.grant("registered_model", names["model"], reader, "READ")
    return {"eid": eid, "rid": rid, "reader": reader, "names": names, "tag": tag}


@pytest.fixture
def reader_page(server, seeded):
    from playwright.sync_api import sync_playwright

    token = server.idp.token(seeded["reader"], lifetime=1800)
    bad: list[tuple[int, str, str]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"},
                                      viewport={"width": 1800, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(90_000)

        def on_response(response: Any) -> None:
            if response.status >= 400 and response.url.startswith(server.url):
                bad.append((response.status, response.request.method, response.url[len(server.url):]))
        page.on("response", on_response)
        yield page, bad
        browser.close()


def test_non_admin_walks_the_ui(server, seeded, reader_page):
    page, bad = reader_page
    eid, rid, names = seeded["eid"], seeded["rid"], seeded["names"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def visit(name: str, route: str, *texts: str) -> None:
        page.goto(f"{server.url}/#{route}")
        for text in texts:
            page.get_by_text(text).first.wait_for()
        page.wait_for_timeout(1500)  # let the page's other requests land (they are checked below)
        page.screenshot(path=str(ARTIFACTS / f"non-admin-{name}.png"), full_page=True)

    visit("experiments", "/experiments", names["exp"])
    assert names["other_exp"] not in page.content()
    visit("runs-table", f"/experiments/{eid}/runs", names["run"])
    visit("run-page", f"/experiments/{eid}/runs/{rid}", "learning_rate", "val_loss", names["model"])
    assert "Can't load run details" not in page.content()
    assert names["hidden_model"] not in page.content()
    visit("run-metrics", f"/experiments/{eid}/runs/{rid}/model-metrics", "val_loss")
    visit("run-artifacts", f"/experiments/{eid}/runs/{rid}/artifacts", f"notes-{seeded['tag']}.txt")
    visit("experiment-models", f"/experiments/{eid}/models", names["logged"])
    visit("experiment-traces", f"/experiments/{eid}/traces", "Traces")
    visit("registered-models", "/models", names["model"])
    assert names["hidden_model"] not in page.content()
    visit("model-page", f"/models/{names['model']}", "Version 1")
    # the account menu shows who is logged in (users/current)
    assert seeded["reader"] in page.content()

    for _ in range(2):  # full page loads: each asks the UI's background routes again
        page.reload()
        page.get_by_text("Version 1").first.wait_for()
        page.wait_for_timeout(1500)
    # ... and their denials are in the audit log once per route, not once per page view
    denied = [e["route"] for e in server.admin("GET", "/api/2.0/rbac/audit", params={
        "principal": seeded["reader"], "outcome": "denied", "max_results": 1000}).json()["events"]]
    assert denied and len(denied) == len(set(denied)), denied

    refused = [b for b in bad if not b[2].startswith(ADMIN_ONLY_ASKED)]
    assert refused == [], f"requests refused or failed for a reader: {refused}"
    assert all(status == 403 for status, _, _ in bad), bad
