"""W3C trace context of the active OpenTelemetry or MLflow span reaches the server's side of the proxy."""

from __future__ import annotations

from collections.abc import Iterator

import mlflow
import pytest
from mlflow import MlflowClient
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState


def test_traceparent_and_tracestate_from_active_span(client: MlflowClient, proxy, unique_name: str) -> None:
    ctx = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("gateway", "blue")]),
    )
    with trace.use_span(NonRecordingSpan(ctx)):
        client.create_experiment(unique_name)
    client.get_experiment_by_name(unique_name)

    inside, outside = proxy.api_requests()
    assert inside.headers["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert inside.headers["tracestate"] == "gateway=blue"
    assert "traceparent" not in outside.headers and "tracestate" not in outside.headers


def test_sdk_span_and_switch_off(monkeypatch: pytest.MonkeyPatch, client: MlflowClient, proxy, unique_name: str) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("train") as span:
        client.create_experiment(unique_name)
        monkeypatch.setenv("MLFLOW_HEADERS_TRACE_CONTEXT", "false")
        client.get_experiment_by_name(unique_name)
    on, off = proxy.api_requests()
    sc = span.get_span_context()
    assert on.headers["traceparent"] == f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{int(sc.trace_flags):02x}"
    assert "tracestate" not in on.headers  # empty trace state is not sent
    assert "traceparent" not in off.headers


# ---- MLflow's own spans (`@mlflow.trace`, `mlflow.start_span`): kept out of OpenTelemetry's global
# context since MLflow 3.17, so they are read through `mlflow.get_current_active_span()`.

@pytest.fixture
def fluent_proxy(proxy) -> Iterator[object]:
    """Fluent MLflow (and the traces it logs) against the real server, through the recording proxy."""
    mlflow.set_tracking_uri(proxy.url)
    yield proxy
    mlflow.set_tracking_uri(None)


def _ids_of(span) -> tuple[str, str]:
    """(trace id, span id) the W3C header must carry for this MLflow span, from MLflow's public span API."""
    assert span.trace_id.startswith("tr-")  # MLflow 3 trace ids are `tr-` + the OpenTelemetry trace id
    return span.trace_id[3:], span.span_id


def _ids(request) -> tuple[str, str]:
    """(trace id, span id) of a request's traceparent; its flags must say sampled (MLflow records the span)."""
    version, trace_id, span_id, flags = request.headers["traceparent"].split("-")
    assert version == "00" and int(flags, 16) & 0x01, request.headers["traceparent"]
    return trace_id, span_id


def _requests_to(proxy, path_end: str) -> list:
    return [r for r in proxy.api_requests() if r.path.split("?")[0].endswith(path_end)]


def test_traceparent_inside_mlflow_trace(fluent_proxy, client: MlflowClient, unique_name: str) -> None:
    seen: dict[str, str] = {}

    @mlflow.trace
    def train() -> None:
        span = mlflow.get_current_active_span()
        seen.update(trace_id=span.trace_id, ids=_ids_of(span))
        client.create_experiment(unique_name)

    train()
    client.get_experiment_by_name(unique_name)  # after the span: no trace context
    (inside,) = _requests_to(fluent_proxy, "/experiments/create")
    (outside,) = _requests_to(fluent_proxy, "/experiments/get-by-name")
    assert _ids(inside) == seen["ids"]
    assert "traceparent" not in outside.headers

    # the trace MLflow logged to the real server holds that very span
    mlflow.flush_trace_async_logging()
    stored = MlflowClient(tracking_uri=fluent_proxy.url).get_trace(seen["trace_id"])
    trace_hex, span_hex = _ids(inside)
    assert stored.info.trace_id == f"tr-{trace_hex}"
    assert [s.span_id for s in stored.data.spans] == [span_hex]


def test_traceparent_of_the_inner_mlflow_start_span(fluent_proxy, client: MlflowClient, unique_name: str) -> None:
    with mlflow.start_span("outer") as outer:
        with mlflow.start_span("inner") as inner:
            client.create_experiment(unique_name)
        client.get_experiment_by_name(unique_name)
    (in_inner,) = _requests_to(fluent_proxy, "/experiments/create")
    (in_outer,) = _requests_to(fluent_proxy, "/experiments/get-by-name")
    assert _ids(in_inner) == _ids_of(inner)
    assert _ids(in_outer) == _ids_of(outer)
    assert inner.trace_id == outer.trace_id


def test_the_innermost_of_mlflow_and_opentelemetry_spans_wins(
    fluent_proxy, client: MlflowClient, unique_name: str
) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("otel-outer") as otel_outer:
        with mlflow.start_span("mlflow-inner") as mlflow_inner:
            client.create_experiment(unique_name)
    with mlflow.start_span("mlflow-outer"):
        with tracer.start_as_current_span("otel-inner") as otel_inner:
            client.get_experiment_by_name(unique_name)
    (first,) = _requests_to(fluent_proxy, "/experiments/create")
    (second,) = _requests_to(fluent_proxy, "/experiments/get-by-name")
    assert _ids(first) == _ids_of(mlflow_inner)
    assert otel_outer.get_span_context().span_id != int(mlflow_inner.span_id, 16)
    sc = otel_inner.get_span_context()
    assert second.headers["traceparent"] == f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{int(sc.trace_flags):02x}"


def test_switch_off_inside_mlflow_trace(monkeypatch: pytest.MonkeyPatch, fluent_proxy, client: MlflowClient,
                                        unique_name: str) -> None:
    monkeypatch.setenv("MLFLOW_HEADERS_TRACE_CONTEXT", "false")
    with mlflow.start_span("train"):
        client.create_experiment(unique_name)
    (r,) = _requests_to(fluent_proxy, "/experiments/create")
    assert "traceparent" not in r.headers and "tracestate" not in r.headers
