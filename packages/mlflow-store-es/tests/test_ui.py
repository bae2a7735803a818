"""The MLflow UI on `mlflow server --backend-store-uri elasticsearch://...`, driven in headless
Chromium: experiments list, runs table, run page (params, metrics), registered models.
Screenshots go to test-artifacts/mlflow-store-es/ (gitignored)."""

from __future__ import annotations

import uuid

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

pytestmark = pytest.mark.ui


def test_ui_shows_store_contents(server_url: str, engine_base: str, page, shot) -> None:
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
    shot(engine, "experiments")

    page.goto(f"{server_url}/#/experiments/{eid}/runs")
    page.get_by_text(run_name).first.wait_for()
    shot(engine, "runs-table")
    # MLflow 3.17's runs table shows no metric columns until the user adds them: the run page checks metrics

    page.goto(f"{server_url}/#/experiments/{eid}/runs/{rid}")
    page.get_by_text("learning_rate").first.wait_for()
    page.get_by_text("val_loss").first.wait_for()
    shot(engine, "run-page")

    page.goto(f"{server_url}/#/models")
    page.get_by_text(model).first.wait_for()
    shot(engine, "models")
    page.goto(f"{server_url}/#/models/{model}")
    page.get_by_text("Version 1").first.wait_for()
    shot(engine, "model-page")


def test_ui_metric_chart_and_compare_runs(server_url: str, engine_base: str, page, shot) -> None:
    """The run page's metric chart loads the history from the store; compare-runs shows both runs."""
    engine = engine_base.split(":", 1)[0]
    client = MlflowClient(tracking_uri=server_url)
    tag = uuid.uuid4().hex[:6]
    eid = client.create_experiment(f"ui-charts-{tag}")
    rids = []
    for n in range(2):
        rid = client.create_run(eid, run_name=f"cmp-{n}-{tag}").info.run_id
        client.log_batch(rid, metrics=[Metric("train_loss", (n + 1) / (i + 1), 1000 + i, i) for i in range(30)],
                         params=[Param("depth", str(3 + n))])
        client.set_terminated(rid)
        rids.append(rid)

    history_calls: list[int] = []
    page.on("response", lambda r: history_calls.append(r.status) if "metrics/get-history" in r.url else None)
    page.goto(f"{server_url}/#/experiments/{eid}/runs/{rids[0]}/model-metrics")
    page.locator(".js-plotly-plot, canvas, svg.main-svg").first.wait_for()
    page.get_by_text("train_loss").first.wait_for()
    page.wait_for_timeout(1500)  # let the chart draw before the screenshot
    shot(engine, "metric-chart")
    assert history_calls and all(s == 200 for s in history_calls), history_calls

    runs = "[" + ",".join(f'"{r}"' for r in rids) + "]"
    page.goto(f"{server_url}/#/compare-runs?runs={runs}&experiments=[\"{eid}\"]")
    page.get_by_text(f"cmp-1-{tag}").first.wait_for()
    page.get_by_text("depth").first.wait_for()
    page.get_by_text("train_loss").first.wait_for()
    shot(engine, "compare-runs")
