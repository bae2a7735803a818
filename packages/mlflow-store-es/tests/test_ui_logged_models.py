"""The MLflow 3 UI's logged models on `mlflow server --backend-store-uri elasticsearch://...`, driven
in headless Chromium: the experiment's Models tab lists the model (the UI's own search_logged_models
request) and the logged model page opens with its params and metrics.
Screenshots go to test-artifacts/mlflow-store-es/ (gitignored)."""

from __future__ import annotations

import uuid

import pytest
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus, Metric

pytestmark = pytest.mark.ui


def test_ui_models_tab_and_model_page(server_url: str, engine_base: str, page, shot) -> None:
    engine = engine_base.split(":", 1)[0]
    client = MlflowClient(tracking_uri=server_url, registry_uri=server_url)
    tag = uuid.uuid4().hex[:6]
    eid = client.create_experiment(f"ui-lm-exp-{tag}")
    rid = client.create_run(eid, run_name=f"ui-lm-run-{tag}").info.run_id
    model = client.create_logged_model(eid, name=f"ui-lm-{tag}", source_run_id=rid, params={"max_depth": "7"},
                                       tags={"stage": "candidate"}, model_type="classifier")
    client.log_batch(rid, metrics=[Metric("val_auc", 0.875, 1000, 0, model_id=model.model_id)])
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    client.set_terminated(rid)

    page.goto(f"{server_url}/#/experiments/{eid}/models")
    page.get_by_text(f"ui-lm-{tag}").first.wait_for()
    shot(engine, "logged-models-tab")

    page.goto(f"{server_url}/#/experiments/{eid}/models/{model.model_id}")
    page.get_by_text(model.model_id).first.wait_for()
    page.get_by_text("max_depth").first.wait_for()
    page.get_by_text("val_auc").first.wait_for()
    shot(engine, "logged-model-page")
