"""Traces and spans on the real engines: the store directly, and a real `mlflow server` on it
that the MLflow client traces through (spans go over OTLP into the spans index)."""

from __future__ import annotations

import json
import urllib.request
import uuid
from urllib.parse import urlsplit

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow_store_es.tracking_store import EsTrackingStore

from mlflow_plugins_shared.testing.trace_store import make_span, make_trace_info, span_id, trace_id

T0 = 1_700_000_000_000


def _engine_json(engine_base: str, path: str, body: dict | None = None) -> dict:
    url = f"http://{urlsplit(engine_base).netloc}{path}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",  # noqa: S310
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (the test engine)
        return json.loads(resp.read())


def _span_count(engine_base: str, index: str, tid: str) -> int:
    r = _engine_json(engine_base, f"/{index}/_search",
                     {"query": {"term": {"trace_id": tid}}, "size": 0, "track_total_hits": True})
    return int(r["hits"]["total"]["value"])


def _tree(tid: str, t: int, n: int, start_ms: int) -> list:
    root = make_span(tid, span_id(t, 0), None, "root", start_ms, start_ms + n + 5, inputs={"q": "hi"}, outputs="ok")
    return [root] + [make_span(tid, span_id(t, k), span_id(t, 0), f"c{k}", start_ms + k, start_ms + k + 1,
                               inputs={"k": k}, outputs=k) for k in range(1, n)]


def test_many_spans_are_one_bulk_and_retries_never_duplicate(tracking_store: EsTrackingStore, engine_base: str) -> None:
    s = tracking_store
    eid = s.create_experiment(f"many-{uuid.uuid4().hex[:6]}", None, [])
    tid = trace_id(1)
    spans = _tree(tid, 1, 2000, T0)
    before = s.client.requests
    s.log_spans(eid, spans)
    assert s.client.requests - before == 3  # mget of the trace doc, the experiment, one _bulk
    s.log_spans(eid, spans)  # a retried export: same doc ids
    assert _span_count(engine_base, s.ix.spans, tid) == 2000
    trace = s.get_trace(tid)
    assert len(trace.data.spans) == 2000 and trace.data.spans[0].name == "root"
    assert trace.info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"
    assert trace.info.request_time == T0 and trace.info.execution_duration == 2005
    assert trace.data.spans[1].inputs == {"k": 1}


def test_user_keys_never_become_mapped_fields(tracking_store: EsTrackingStore, engine_base: str) -> None:
    s = tracking_store
    eid = s.create_experiment("keys", None, [])
    weird = {"a.b.c": "1", "ключ": "2", "x" * 250: "3", "_source": "4", "tag kv": "5"}
    s.start_trace(make_trace_info(trace_id(2), eid, T0, tags=weird, metadata=weird))
    s.log_spans(eid, [make_span(trace_id(2), span_id(2, 0), None, "root", T0, T0 + 1,
                                attributes={"deep.attr.key": {"nested": {"k": 1}}, "ü": 2})])
    for t in ("a.b.c", "ключ"):
        s.set_trace_tag(trace_id(2), t + "-set", "v")
    for index in (s.ix.traces, s.ix.spans):
        mapping = json.dumps(_engine_json(engine_base, f"/{index}/_mapping"))
        for key in [*weird, "deep", "nested", "ü", "ключ-set"]:
            assert json.dumps(key)[1:-1] not in mapping, (index, key)
    infos, _ = s.search_traces(locations=[eid], filter_string="tags.`ключ` = '2' AND metadata.`a.b.c` = '1'")
    assert [i.trace_id for i in infos] == [trace_id(2)]


def test_long_and_unicode_values_are_kept_and_found(tracking_store: EsTrackingStore) -> None:
    s = tracking_store
    eid = s.create_experiment("long", None, [])
    big = "𝔘" * 9000  # 36,000 bytes: beyond one keyword term, kept in _source and still matched
    s.start_trace(make_trace_info(trace_id(3), eid, T0, tags={"big": big, "u": "ünï ✓"}))
    s.start_trace(make_trace_info(trace_id(4), eid, T0, tags={"big": "small"}))
    assert s.get_trace_info(trace_id(3)).tags["big"] == big
    for flt, want in ((f"tags.big = '{big}'", [3]), ("tags.big = 'small'", [4]), ("tags.u LIKE 'ün%'", [3]),
                      ("tags.big LIKE '𝔘𝔘%'", [3])):
        infos, _ = s.search_traces(locations=[eid], filter_string=flt)
        assert [i.trace_id for i in infos] == [trace_id(n) for n in want], flt
    s.set_trace_tag(trace_id(4), "long", "é" * 9000)
    assert s.get_trace_info(trace_id(4)).tags["long"] == "é" * 8000  # MLflow truncates trace tag values


def test_links_to_runs_show_in_search_and_unlink(tracking_store: EsTrackingStore) -> None:
    s = tracking_store
    eid = s.create_experiment("links", None, [])
    run = s.create_run(eid, "u", T0, [], "r")
    for n in range(5):
        s.start_trace(make_trace_info(trace_id(n), eid, T0 + n))
    s.link_traces_to_run([trace_id(1), trace_id(3), trace_id(77)], run.info.run_id)  # 77 does not exist
    flt = f"run_id = '{run.info.run_id}'"
    assert [i.trace_id for i in s.search_traces(locations=[eid], filter_string=flt)[0]] == [trace_id(3), trace_id(1)]
    s.unlink_traces_from_run([trace_id(3)], run.info.run_id)
    assert [i.trace_id for i in s.search_traces(locations=[eid], filter_string=flt)[0]] == [trace_id(1)]
    with pytest.raises(MlflowException, match="more than 100") as e:
        s.link_traces_to_run([trace_id(n) for n in range(101)], run.info.run_id)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_links_made_before_the_trace_is_written_are_kept(tracking_store: EsTrackingStore) -> None:
    """A link can reach the store before the trace's own writes (MLflow's asynchronous trace export): it is kept
    whichever write lands first (start_trace, log_spans, or both after it), as SqlAlchemyStore keeps its rows."""
    s = tracking_store
    eid = s.create_experiment("early-links", None, [])
    rid = s.create_run(eid, "u", T0, [], "r").info.run_id
    other = s.create_run(eid, "u", T0, [], "other").info.run_id
    s.link_traces_to_run([trace_id(n) for n in (1, 2, 3)], rid)  # none of them exists yet
    s.link_traces_to_run([trace_id(2)], other)
    s.start_trace(make_trace_info(trace_id(1), eid, T0 + 1))  # the trace info lands after the link
    s.log_spans(eid, _tree(trace_id(2), 2, 2, T0 + 2))  # the spans land after the link (they create the trace)
    s.log_spans(eid, _tree(trace_id(3), 3, 2, T0 + 3))  # both after the link, spans first
    s.start_trace(make_trace_info(trace_id(3), eid, T0 + 3))
    s.start_trace(make_trace_info(trace_id(4), eid, T0 + 4))
    s.start_trace(make_trace_info(trace_id(5), eid, T0 + 5))
    s.link_traces_to_run([trace_id(4)], rid)  # the usual order: the trace exists

    def linked(run_id: str, more: str = "") -> list[str]:
        infos, _ = s.search_traces(locations=[eid], filter_string=f"attribute.run_id = '{run_id}'{more}",
                                   order_by=["timestamp_ms ASC"])
        return [i.trace_id for i in infos]

    assert linked(rid) == [trace_id(n) for n in (1, 2, 3, 4)]
    assert linked(other) == [trace_id(2)]
    assert linked(rid, f" AND timestamp_ms > {T0 + 1}") == [trace_id(n) for n in (2, 3, 4)]
    s.unlink_traces_from_run([trace_id(1), trace_id(2)], rid)
    assert linked(rid) == [trace_id(3), trace_id(4)] and linked(other) == [trace_id(2)]
    # deleting a trace deletes its links: a trace written later under the same id is not linked
    assert s.delete_traces(eid, trace_ids=[trace_id(3)]) == 1
    s.start_trace(make_trace_info(trace_id(3), eid, T0 + 3))
    assert linked(rid) == [trace_id(4)]
    with pytest.raises(MlflowException, match="Invalid run ID") as e:
        s.link_traces_to_run([trace_id(5)], "")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_bad_input_is_a_clear_error(tracking_store: EsTrackingStore) -> None:
    s = tracking_store
    eid = s.create_experiment("bad", None, [])
    cases = [
        (lambda: s.search_traces(locations=[eid], filter_string="foo.bar = 1"), "INVALID_PARAMETER_VALUE"),
        (lambda: s.search_traces(locations=["abc"]), "INVALID_PARAMETER_VALUE"),
        (lambda: s.search_traces(locations=[eid], order_by=["name", "name DESC"]), "INVALID_PARAMETER_VALUE"),
        (lambda: s.get_trace_info("tr-nope"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: s.get_trace("tr-nope"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: s.delete_traces("x", 1), "INVALID_PARAMETER_VALUE"),
        (lambda: s.log_spans("424242", _tree(trace_id(9), 9, 2, T0)), "RESOURCE_DOES_NOT_EXIST"),
    ]
    for call, code in cases:
        with pytest.raises(MlflowException) as e:
            call()
        assert e.value.error_code == code
        assert "Traceback" not in e.value.message


def test_unsupported_trace_features_answer_501(tracking_store: EsTrackingStore) -> None:
    with pytest.raises(MlflowException) as e:
        tracking_store.get_assessment(trace_id(1), "a-1")
    assert e.value.error_code == "NOT_IMPLEMENTED" and e.value.get_http_status_code() == 501


# -- through a real mlflow server -------------------------------------------------------------
@mlflow.trace(span_type="TOOL")
def _lookup(city: str) -> dict:
    return {"city": city, "temp": 21}


@mlflow.trace(name="agent")
def _agent(question: str) -> str:
    found = _lookup(question.split()[-1])
    return f"{found['city']}: {found['temp']}C"


def test_client_traces_through_the_server_into_the_spans_index(server_url: str, engine_base: str) -> None:
    mlflow.set_tracking_uri(server_url)
    client = MlflowClient(server_url)
    exp_id = mlflow.set_experiment(f"traces-{uuid.uuid4().hex[:8]}").experiment_id
    try:
        _agent("weather in Paris")
        outside = mlflow.get_last_active_trace_id()
        with mlflow.start_run() as run:
            _agent("weather in Oslo")
            inside = mlflow.get_last_active_trace_id()
        mlflow.flush_trace_async_logging()

        found = mlflow.search_traces(locations=[exp_id], return_type="list")
        assert {t.info.trace_id for t in found} == {outside, inside}
        assert all(len(t.data.spans) == 2 for t in found)
        by_run = mlflow.search_traces(locations=[exp_id], run_id=run.info.run_id, return_type="list")
        assert [t.info.trace_id for t in by_run] == [inside]
        infos = client.search_traces(locations=[exp_id], filter_string="name = 'agent' AND status = 'OK'")
        assert {t.info.trace_id for t in infos} == {outside, inside}

        trace = mlflow.get_trace(outside)
        spans = {s.name: s for s in trace.data.spans}
        assert set(spans) == {"agent", "_lookup"}
        assert spans["agent"].inputs == {"question": "weather in Paris"} and spans["agent"].outputs == "Paris: 21C"
        assert spans["_lookup"].inputs == {"city": "Paris"} and spans["_lookup"].outputs == {"city": "Paris", "temp": 21}
        assert spans["_lookup"].parent_id == spans["agent"].span_id
        # the spans live in the engine's spans index, not only in an artifact
        assert trace.info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"
        assert _span_count(engine_base, "server-spans", outside) == 2

        assert client.delete_traces(exp_id, trace_ids=[outside]) == 1
        assert _span_count(engine_base, "server-spans", outside) == 0
        assert mlflow.get_trace(outside, silent=True) is None
        assert [t.info.trace_id for t in mlflow.search_traces(locations=[exp_id], return_type="list")] == [inside]
    finally:
        mlflow.set_tracking_uri(None)


@pytest.fixture
def async_trace_export(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, server_url: str):
    """MLflow's fluent tracing pointed at the server, with asynchronous trace export on or off."""
    from mlflow_plugins_shared.testing.mlflow_compat import fluent_uris

    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", request.param)
    mlflow.tracing.reset()  # the exporter reads the setting when it is created
    with fluent_uris(server_url):
        yield request.param == "true"
        mlflow.flush_trace_async_logging()
    mlflow.tracing.reset()


@pytest.mark.parametrize("async_trace_export", ["true", "false"], indirect=True)
def test_links_made_while_the_export_is_in_flight_are_found_by_run(async_trace_export: bool, server_url: str) -> None:
    """A client links its traces to a run right after making them: with asynchronous export the link may reach
    the server before the trace; `attribute.run_id` then still finds both traces."""
    client = MlflowClient(server_url)
    exp_id = mlflow.set_experiment(f"links-{uuid.uuid4().hex[:8]}").experiment_id
    rid = client.create_run(exp_id).info.run_id
    ids = []
    for city in ("Paris", "Oslo"):
        _agent(f"weather in {city}")
        ids.append(mlflow.get_last_active_trace_id())
    client.link_traces_to_run(ids, rid)  # with async export on, the traces may still be queued in this process
    mlflow.flush_trace_async_logging()
    found = client.search_traces(locations=[exp_id], filter_string=f"attribute.run_id = '{rid}'")
    assert sorted(t.info.trace_id for t in found) == sorted(ids)
    assert all(len(t.data.spans) == 2 for t in found)


def test_start_trace_and_log_spans_racing_keep_both(tracking_store: EsTrackingStore) -> None:
    """The client sends spans (OTLP) and the trace info (start_trace) from different threads."""
    from concurrent.futures import ThreadPoolExecutor

    s = tracking_store
    eid = s.create_experiment("race", None, [])
    jobs = []
    for n in range(20):
        tid = trace_id(n)
        jobs += [lambda t=tid, k=n: s.start_trace(make_trace_info(t, eid, T0 + k, duration=9, tags={"who": "info"})),
                 lambda t=tid, k=n: s.log_spans(eid, _tree(t, k, 3, T0 + k))]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda job: job(), jobs))
    for n in range(20):
        trace = s.get_trace(trace_id(n))
        assert trace.info.tags["who"] == "info" and trace.info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"
        assert trace.info.trace_metadata["mlflow.trace.infoFinalized"] == "true"
        assert len(trace.data.spans) == 3
