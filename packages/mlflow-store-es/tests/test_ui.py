"""The MLflow UI on `mlflow server --backend-store-uri elasticsearch://...`, driven in headless
Chromium: experiments list, runs table, run page (params, metrics), registered models.
Screenshots go to test-artifacts/mlflow-store-es/ (gitignored)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

pytestmark = pytest.mark.ui

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "mlflow-store-es"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 2200, "height": 1100})
        pg.set_default_timeout(90_000)
        yield pg
        browser.close()


def _shot(page, engine: str, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{engine}-{name}.png"), full_page=True)


def test_ui_shows_store_contents(server_url: str, engine_base: str, page) -> None:
    engine = engine_base.split(":", 1)[0]
    client = MlflowClient(tracking_uri=server_url, registry_uri=server_url)
    tag = uuid.uuid4().hex[:6]
    exp_name, run_name, model = f"ui-exp-{tag}", f"ui-run-{tag}", f"ui-model-{tag}"
    eid = client.create_experiment(exp_name)
    rid = client.create_run(eid, run_name=run_name).info.run_id
    client.log_batch(rid, metrics=[Metric("val_loss", 1.0 / (i + 1), 1000 + i, i) for i in range(50)],
                     params=[Param("learning_rate", "0.01")])
    client.set_terminated(rid)
    client.create_registered_model(model)
    client.create_model_version(model, "s3://bucket/m", run_id=rid)

    page.goto(f"{server_url}/#/experiments")
    page.get_by_text(exp_name).first.wait_for()
    _shot(page, engine, "experiments")

    page.goto(f"{server_url}/#/experiments/{eid}/runs")
    page.get_by_text(run_name).first.wait_for()
    _shot(page, engine, "runs-table")
    # MLflow 3.17's runs table shows no metric columns until the user adds them: the run page checks metrics

    page.goto(f"{server_url}/#/experiments/{eid}/runs/{rid}")
    page.get_by_text("learning_rate").first.wait_for()
    page.get_by_text("val_loss").first.wait_for()
    _shot(page, engine, "run-page")

    page.goto(f"{server_url}/#/models")
    page.get_by_text(model).first.wait_for()
    _shot(page, engine, "models")
    page.goto(f"{server_url}/#/models/{model}")
    page.get_by_text("Version 1").first.wait_for()
    _shot(page, engine, "model-page")
