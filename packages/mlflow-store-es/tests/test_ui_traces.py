"""The MLflow 3 UI's Traces tab on `mlflow server --backend-store-uri elasticsearch://...`, driven in
headless Chromium: the experiment's trace list shows a trace, and opening it shows its spans.
Screenshots go to test-artifacts/mlflow-store-es/ (gitignored)."""

from __future__ import annotations

import uuid

import mlflow
import pytest

pytestmark = pytest.mark.ui


def test_ui_lists_a_trace_and_shows_its_spans(server_url: str, engine_base: str, page, shot) -> None:
    engine = engine_base.split(":", 1)[0]
    tag = uuid.uuid4().hex[:6]
    mlflow.set_tracking_uri(server_url)
    try:
        exp_id = mlflow.set_experiment(f"ui-traces-{tag}").experiment_id

        @mlflow.trace(name=f"fetch_docs_{tag}", span_type="RETRIEVER")
        def fetch_docs(query: str) -> list[str]:
            return [f"doc about {query}"]

        @mlflow.trace(name=f"answer_{tag}")
        def answer(question: str) -> str:
            return f"answer from {fetch_docs(question)[0]}"

        answer(f"question-{tag}")
        trace_id = mlflow.get_last_active_trace_id()
        mlflow.flush_trace_async_logging()
    finally:
        mlflow.set_tracking_uri(None)

    # the Traces tab lists the trace (its request preview is the question); opening it shows both spans
    page.goto(f"{server_url}/#/experiments/{exp_id}/traces")
    page.get_by_text(f"question-{tag}").first.wait_for()
    shot(engine, "traces-tab")
    got_it = page.get_by_role("button", name="Got it")  # a one-time feature tip may cover the list
    if got_it.count():
        got_it.first.click()
    page.get_by_text(f"question-{tag}").first.click()
    page.get_by_text(f"fetch_docs_{tag}").first.wait_for()
    page.get_by_text(f"answer_{tag}").first.wait_for()
    page.get_by_text(trace_id.removeprefix("tr-")[:8]).first.wait_for()  # the drawer names the trace
    shot(engine, "trace-spans")
