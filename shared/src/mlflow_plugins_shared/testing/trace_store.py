"""A conformance kit for the trace methods of tracking stores: same operations, same answers as
MLflow's own `SqlAlchemyStore` on SQLite.

Subclass `TraceStoreConformance` and provide a `candidate_store` fixture returning a fresh, empty
tracking store. The scenario starts traces (unicode and long tag values, run ids, token usage,
ties in time), logs spans (a trace with hundreds of spans, spans before and after start_trace,
spans split over calls, error roots, partial traces), sets/deletes tags, links runs and prompts,
deletes an experiment that holds traces, then searches with MLflow's trace filter grammar and
orderings page by page, reads traces with their spans, and deletes traces by timestamp,
max_traces and ids. Every call's result (or error code) is recorded on both stores and compared.

Trace ids and all timestamps are chosen by the scenario, so both stores see identical values;
experiment and run ids differ by design and are recorded by name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlflow.entities import Span, TraceInfo
from mlflow.entities.trace_location import TraceLocation
from mlflow.entities.trace_state import TraceState

from mlflow_plugins_shared.testing.tracking_store import Recorder as RunsRecorder
from mlflow_plugins_shared.testing.tracking_store import compare, sqlite_reference_store

Observation = tuple[str, Any]
BASE_MS = 1_700_000_000_000
ARTIFACT_LOCATION = "mlflow.artifactLocation"
SOURCE_RUN = "mlflow.sourceRun"


def trace_id(n: int) -> str:
    return f"tr-{n:032x}"


def span_id(t: int, n: int) -> str:
    return f"{t:08x}{n:08x}"


def make_span(tid: str, sid: str, parent: str | None, name: str, start_ms: float, end_ms: float | None, *,
              span_type: str = "CHAIN", inputs: Any = None, outputs: Any = None, status: str = "OK",
              attributes: dict[str, Any] | None = None) -> Span:
    """An MLflow span built the way the server builds them from OTLP (attributes JSON-encoded)."""
    attrs = {"mlflow.traceRequestId": json.dumps(tid), "mlflow.spanType": json.dumps(span_type)}
    if inputs is not None:
        attrs["mlflow.spanInputs"] = json.dumps(inputs)
    if outputs is not None:
        attrs["mlflow.spanOutputs"] = json.dumps(outputs)
    attrs.update({k: json.dumps(v) for k, v in (attributes or {}).items()})
    return Span.from_dict({
        "trace_id": tid, "span_id": sid, "parent_span_id": parent, "name": name,
        "start_time_unix_nano": int(start_ms * 1_000_000),
        "end_time_unix_nano": int(end_ms * 1_000_000) if end_ms is not None else None,
        "attributes": attrs, "status": {"code": status, "message": ""}, "events": [],
    })


def make_trace_info(tid: str, experiment_id: str, request_time: int, *, duration: int | None = 100,
                    state: str = "OK", tags: dict[str, str] | None = None, metadata: dict[str, str] | None = None,
                    client_request_id: str | None = None, request_preview: str | None = None,
                    response_preview: str | None = None) -> TraceInfo:
    return TraceInfo(trace_id=tid, trace_location=TraceLocation.from_experiment_id(experiment_id),
                     request_time=request_time, execution_duration=duration, state=TraceState(state),
                     tags=dict(tags or {}), trace_metadata=dict(metadata or {}), client_request_id=client_request_id,
                     request_preview=request_preview, response_preview=response_preview)


class Recorder(RunsRecorder):
    """Runs the trace scenario on one store, naming experiments and runs by name."""

    def _name_of(self, ids: dict[str, str], value: str) -> str:
        return next((n for n, i in ids.items() if i == value), f"<unknown {value}>")

    def info_shape(self, info: TraceInfo) -> dict[str, Any]:
        tags = dict(info.tags)
        if ARTIFACT_LOCATION in tags:  # experiment ids differ by design: keep the per-trace suffix
            tags[ARTIFACT_LOCATION] = tags[ARTIFACT_LOCATION].endswith(f"/traces/{info.trace_id}/artifacts")
        metadata = dict(info.trace_metadata)
        if SOURCE_RUN in metadata:
            metadata[SOURCE_RUN] = self._name_of(self.run_ids, metadata[SOURCE_RUN])
        return {
            "trace_id": info.trace_id, "experiment": self._name_of(self.exp_ids, info.experiment_id),
            "request_time": info.request_time, "execution_duration": info.execution_duration,
            "state": info.state.value, "tags": tags, "metadata": metadata,
            "client_request_id": info.client_request_id, "request_preview": info.request_preview,
            "response_preview": info.response_preview,
            "assessments": sorted((a.name, json.dumps(a.value)) for a in info.assessments),
        }

    def trace_shape(self, trace: Any) -> dict[str, Any]:
        spans = [(s.name, s.span_id, s.parent_id, s.span_type, str(s.status.status_code), s.start_time_ns,
                  s.end_time_ns, json.dumps(s.inputs), json.dumps(s.outputs)) for s in trace.data.spans]
        return {"info": self.info_shape(trace.info), "spans": spans}


# -- the scenario ------------------------------------------------------------------------------
N_TRACES = 30


def populate(rec: Recorder) -> None:  # noqa: C901 (one scenario, read top to bottom)
    s = rec.store
    for name in ("kit-a", "kit-b", "kit-gone"):
        rec.exp_ids[name] = rec.call(f"create_experiment {name}", lambda n=name: s.create_experiment(n, None, []))
    for name in ("run-x", "run-y"):
        run = rec.call(f"create_run {name}", lambda n=name: s.create_run(rec.exp_ids["kit-a"], "u", BASE_MS, [], n))
        rec.run_ids[name] = run.info.run_id
    for i in range(N_TRACES):
        exp = "kit-a" if i % 3 else "kit-b"
        tags = {"team": ["vision", "nlp", "audio"][i % 3]} if i % 4 else {}
        if i % 5 == 0:
            tags["unicode"] = "ünïcødé ✓ " + "ß" * (i % 7)
        if i % 6 == 0:
            tags["mlflow.traceName"] = f"agent-{i % 4}"
        metadata = {"mlflow.user": ["alice", "bob"][i % 2], "env": ["prod", "dev", "Prod"][i % 3]}
        if i % 4 == 1:
            metadata[SOURCE_RUN] = rec.run_ids["run-x"]
        if i % 7 == 0:
            metadata["mlflow.trace.tokenUsage"] = json.dumps({"input_tokens": i, "output_tokens": 2 * i,
                                                               "total_tokens": 3 * i})
        if i % 9 == 0:
            metadata["mlflow.trace.session"] = f"session-{i % 2}"
        info = make_trace_info(
            trace_id(i), rec.exp_ids[exp], BASE_MS + (i // 2) * 1000, duration=None if i % 8 == 0 else (i * 37) % 500,
            state=["OK", "ERROR", "IN_PROGRESS"][i % 3], tags=tags, metadata=metadata,
            client_request_id=f"req-{i}" if i % 3 == 0 else None,
            request_preview=json.dumps({"q": f"hello {i}"}), response_preview=f"answer {i}" if i % 2 else None)
        rec.call(f"start_trace {i}", lambda t=info: s.start_trace(t), rec.info_shape)
    gone = rec.exp_ids["kit-gone"]
    for i in range(90, 93):
        rec.call(f"start_trace gone {i}", lambda k=i: s.start_trace(make_trace_info(trace_id(k), gone, BASE_MS + k)),
                 rec.info_shape)
    rec.call("delete_experiment kit-gone", lambda: s.delete_experiment(gone))
    rec.call("start_trace in deleted experiment",
             lambda: s.start_trace(make_trace_info(trace_id(99), gone, BASE_MS)), rec.info_shape)
    rec.call("start_trace in missing experiment",
             lambda: s.start_trace(make_trace_info(trace_id(98), "123456789", BASE_MS)), rec.info_shape)
    log_spans(rec)
    tags_and_links(rec)


def _tree(t: int, n: int, start_ms: int, *, root_status: str = "OK", span_type: str = "LLM") -> list[Span]:
    """A root and n-1 children under it, each child 1 ms later than the previous."""
    tid = trace_id(t)
    root = make_span(tid, span_id(t, 0), None, f"root-{t}", start_ms, start_ms + n + 10, inputs={"question": f"hello {t}"},
                     outputs={"answer": "ünïcødé ✓"}, status=root_status)
    kids = [make_span(tid, span_id(t, k), span_id(t, 0 if k < 3 else k - 1), f"child-{k}", start_ms + k, start_ms + k + 1,
                      span_type=span_type if k % 2 else "TOOL", inputs={"k": k}, outputs=[k, k * 2])
            for k in range(1, n)]
    return [root, *kids]


def log_spans(rec: Recorder) -> None:
    s, a = rec.store, rec.exp_ids["kit-a"]
    t0 = BASE_MS + 100_000
    rec.call("log_spans only (no start_trace)", lambda: s.log_spans(a, _tree(100, 3, t0)), len)
    rec.call("start_trace 101", lambda: s.start_trace(make_trace_info(trace_id(101), a, t0 + 5, duration=50,
                                                                       state="IN_PROGRESS")), rec.info_shape)
    rec.call("log_spans after start_trace", lambda: s.log_spans(a, _tree(101, 5, t0)), len)
    rec.call("log_spans before start_trace", lambda: s.log_spans(a, _tree(102, 4, t0 + 1000)), len)
    # SqlAlchemyStore returns a stale tag list from this merge (its later reads are right): compare the read
    rec.call("start_trace after log_spans", lambda: s.start_trace(make_trace_info(
        trace_id(102), a, t0 + 999, duration=20, tags={"late": "yes", "mlflow.traceName": "merged"},
        metadata={"mlflow.trace.sizeStats": json.dumps({"num_spans": 4})})).tags.get("mlflow.trace.spansLocation"))
    rec.call("get_trace_info after the merge", lambda: s.get_trace_info(trace_id(102)), rec.info_shape)
    rec.call("log_spans 300 spans in one call", lambda: s.log_spans(a, _tree(103, 300, t0 + 2000)), len)
    rec.call("log_spans error root", lambda: s.log_spans(a, _tree(104, 3, t0 + 3000, root_status="ERROR")), len)
    tree = _tree(105, 6, t0 + 4000)
    rec.call("log_spans children first", lambda: s.log_spans(a, tree[3:]), len)
    rec.call("log_spans root later", lambda: s.log_spans(a, tree[:3]), len)
    rec.call("log_spans same spans again", lambda: s.log_spans(a, tree[:3]), len)
    usage = {"mlflow.chat.tokenUsage": {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}}
    tid = trace_id(106)
    rec.call("log_spans with token usage", lambda: s.log_spans(a, [
        make_span(tid, span_id(106, 0), None, "root-106", t0 + 5000, t0 + 5100, span_type="LLM", attributes=usage,
                  inputs="hi", outputs="there")]), len)
    rec.call("start_trace partial (claims 5 spans)", lambda: s.start_trace(make_trace_info(
        trace_id(107), a, t0 + 6000, metadata={"mlflow.trace.sizeStats": json.dumps({"num_spans": 5})})),
        rec.info_shape)
    rec.call("log_spans partial", lambda: s.log_spans(a, _tree(107, 2, t0 + 6000)), len)
    rec.call("log_spans two traces in one call", lambda: s.log_spans(a, _tree(108, 2, t0 + 7000) + _tree(109, 2, t0 + 7000)),
             len)
    rec.call("log_spans missing experiment", lambda: s.log_spans("123456789", _tree(110, 2, t0)), len)


def tags_and_links(rec: Recorder) -> None:
    s = rec.store
    rec.call("set_trace_tag", lambda: s.set_trace_tag(trace_id(1), "k", "v"))
    rec.call("set_trace_tag unicode", lambda: s.set_trace_tag(trace_id(2), "ключ", "значение ✓"))
    rec.call("set_trace_tag 9000 chars (truncated)", lambda: s.set_trace_tag(trace_id(3), "long", "x" * 9000))
    rec.call("set_trace_tag overwrite", lambda: s.set_trace_tag(trace_id(1), "k", "v2"))
    rec.call("set_trace_tag name", lambda: s.set_trace_tag(trace_id(4), "mlflow.traceName", "renamed"))
    rec.call("set_trace_tag over-long name", lambda: s.set_trace_tag(trace_id(4), "mlflow.traceName", "n" * 9000))
    rec.call("set_trace_tag missing trace (name)", lambda: s.set_trace_tag(trace_id(999), "mlflow.traceName", "x"))
    rec.call("set_trace_tag bad key", lambda: s.set_trace_tag(trace_id(1), "", "v"))
    rec.call("delete_trace_tag", lambda: s.delete_trace_tag(trace_id(1), "team"))
    rec.call("delete_trace_tag missing", lambda: s.delete_trace_tag(trace_id(1), "nope"))
    rec.call("delete_trace_tag name", lambda: s.delete_trace_tag(trace_id(6), "mlflow.traceName"))
    rec.call("delete_trace_tag name missing", lambda: s.delete_trace_tag(trace_id(7), "mlflow.traceName"))
    rec.call("delete_trace_tag missing trace", lambda: s.delete_trace_tag(trace_id(999), "k"))
    rec.call("get_trace_info missing", lambda: s.get_trace_info(trace_id(999)), rec.info_shape)
    rec.call("link_traces_to_run", lambda: s.link_traces_to_run([trace_id(3), trace_id(4), trace_id(100)],
                                                                rec.run_ids["run-y"]))
    rec.call("link_traces_to_run again", lambda: s.link_traces_to_run([trace_id(3)], rec.run_ids["run-y"]))
    # links that reach the store before the trace does (asynchronous export): kept whichever write lands first
    a = rec.exp_ids["kit-a"]
    rec.call("link_traces_to_run before the traces exist",
             lambda: s.link_traces_to_run([trace_id(111), trace_id(112), trace_id(113)], rec.run_ids["run-y"]))
    rec.call("start_trace after its link", lambda: s.start_trace(make_trace_info(trace_id(111), a, BASE_MS + 111_000)),
             rec.info_shape)
    rec.call("log_spans after its link", lambda: s.log_spans(a, _tree(112, 2, BASE_MS + 112_000)), len)
    rec.call("log_spans then start_trace after their link", lambda: (
        s.log_spans(a, _tree(113, 2, BASE_MS + 113_000)),
        rec.info_shape(s.start_trace(make_trace_info(trace_id(113), a, BASE_MS + 113_000)))), lambda r: r[1])
    rec.call("link_traces_to_run too many", lambda: s.link_traces_to_run([trace_id(k) for k in range(101)],
                                                                         rec.run_ids["run-y"]))
    from mlflow.entities.model_registry import PromptVersion

    rec.call("link_prompts_to_trace", lambda: s.link_prompts_to_trace(
        trace_id(5), [PromptVersion("greet", 1, "t"), PromptVersion("greet", 2, "t")]))
    rec.call("link_prompts_to_trace missing", lambda: s.link_prompts_to_trace(
        trace_id(999), [PromptVersion("greet", 1, "t")]))


FILTERS = [
    None,
    f"timestamp_ms > {BASE_MS + 5000}",
    f"timestamp >= {BASE_MS} AND timestamp_ms < {BASE_MS + 4000}",
    "execution_time_ms > 100",
    "execution_time <= 100",
    f"end_time_ms > {BASE_MS + 7000}",
    "status = 'OK'",
    "status != 'OK'",
    "status IN ('ERROR', 'IN_PROGRESS')",
    "trace.status NOT IN ('OK')",
    f"request_id = '{trace_id(5)}'",
    "client_request_id = 'req-3'",
    "client_request_id LIKE 'req-1%'",
    "name = 'agent-0'",
    "name LIKE 'agent%'",
    "tags.team = 'vision'",
    "tags.team != 'vision'",
    "tags.team IS NULL",
    "tags.team IS NOT NULL",
    "tags.`unicode` LIKE '%ü%'",
    "tags.team ILIKE 'VIS%'",
    "tags.team RLIKE '^(nlp|audio)$'",
    "tags.`mlflow.trace.spansLocation` = 'TRACKING_STORE'",
    "metadata.env = 'prod'",
    "metadata.env ILIKE 'prod'",
    "metadata.`mlflow.user` = 'alice' AND tags.team = 'nlp'",
    "metadata.env IS NULL",
    "metadata.`mlflow.trace.tokenUsage` IS NOT NULL",
    "metadata.`mlflow.trace.session` = 'session-1'",
    "span.name = 'child-1'",
    "span.type = 'LLM'",
    "span.status = 'ERROR'",
    "span.name LIKE 'root-10%' AND span.type = 'TOOL'",
    "trace.text LIKE '%hello 10%'",
    "span.attributes.mlflow.spanInputs LIKE '%question%'",
    "prompt = 'greet/2'",
    "feedback.quality IS NULL",
]
ORDERS: list[list[str] | None] = [
    None,
    ["timestamp_ms ASC"],
    ["execution_time_ms DESC"],
    ["status ASC", "timestamp DESC"],
    ["name ASC"],
    ["tags.team DESC"],
    ["metadata.env ASC"],
    ["request_id DESC"],
    ["execution_time ASC", "status DESC"],  # (experiment ids differ between stores: not an ordering to compare)
    ["metadata.`mlflow.trace.session` DESC"],
]


def _all_pages(search: Callable[[str | None], tuple[list[TraceInfo], str | None]]) -> list[list[TraceInfo]]:
    pages, token = [], None
    while True:
        infos, token = search(token)
        pages.append(infos)
        if not token or len(pages) > 100:
            return pages


def observe(rec: Recorder, page_size: int) -> None:
    s = rec.store
    exps = [rec.exp_ids[n] for n in ("kit-a", "kit-b", "kit-gone")]
    for n in [*range(N_TRACES), 90, 100, 101, 102, 104, 106, 107]:
        rec.call(f"get_trace_info {n}", lambda k=n: s.get_trace_info(trace_id(k)), rec.info_shape)
    for n in (100, 101, 102, 103, 104, 105, 106, 108):
        rec.call(f"get_trace {n}", lambda k=n: s.get_trace(trace_id(k)), rec.trace_shape)
    rec.call("get_trace partial, allow_partial", lambda: s.get_trace(trace_id(107), allow_partial=True), rec.trace_shape)
    rec.call("get_trace without stored spans", lambda: s.get_trace(trace_id(1), allow_partial=True), rec.trace_shape)
    rec.call("get_trace missing", lambda: s.get_trace(trace_id(999), allow_partial=True), rec.trace_shape)
    wanted = [trace_id(k) for k in (108, 100, 107, 999, 103, 100)]
    rec.call("batch_get_traces", lambda: s.batch_get_traces(wanted), lambda ts: [rec.trace_shape(t) for t in ts])
    rec.call("batch_get_traces other experiment", lambda: s.batch_get_traces(wanted, experiment_ids=[exps[1]]),
             lambda ts: [rec.trace_shape(t) for t in ts])
    infos = [trace_id(k) for k in (5, 0, 999, 101, 5)]
    rec.call("batch_get_trace_infos", lambda: s.batch_get_trace_infos(infos), lambda xs: [rec.info_shape(x) for x in xs])
    rec.call("batch_get_trace_infos scoped", lambda: s.batch_get_trace_infos(infos, experiment_ids=[exps[1]]),
             lambda xs: [rec.info_shape(x) for x in xs])
    run_filters = [f"run_id = '{rec.run_ids['run-x']}'", f"run_id = '{rec.run_ids['run-y']}'",
                   f"metadata.`mlflow.sourceRun` != '{rec.run_ids['run-x']}'"]
    labels = ["run_id = run-x", "run_id = run-y", "sourceRun != run-x"]
    combos = [(None, order) for order in ORDERS] + [(flt, ORDERS[i % len(ORDERS)]) for i, flt in enumerate(FILTERS)]
    combos += list(zip(run_filters, [None, ["timestamp_ms ASC"], None], strict=True))
    for i, (flt, order) in enumerate(combos):
        shown = labels[i - len(combos) + 3] if i >= len(combos) - 3 else flt
        rec.call(f"search filter={shown!r} order={order}", lambda f=flt, o=order: _all_pages(
            lambda token: s.search_traces(locations=exps, filter_string=f, max_results=page_size, order_by=o,
                                          page_token=token)),
            lambda pages: {"page_sizes": [len(p) for p in pages], "ids": [t.trace_id for p in pages for t in p]})
    rec.call("search one experiment, full infos", lambda: s.search_traces(locations=[exps[1]], max_results=50),
             lambda r: ([rec.info_shape(t) for t in r[0]], r[1]))
    rec.call("search no locations", lambda: s.search_traces(locations=[], max_results=5), lambda r: len(r[0]))
    bad = ["foo.bar = 1", "status > 'A'", "tags.team < 'x'", "prompt LIKE 'x'", "prompt = 'nover'",
           "metadata.`mlflow.trace.tokenUsage` LIKE '%'", "span.nope = 'x'", "trace.text = 'x'"]
    for b in bad:
        rec.call(f"bad filter {b}", lambda f=b: s.search_traces(locations=exps, filter_string=f), lambda r: len(r[0]))
    for label, kwargs in (("max_results 0", {"max_results": 0}), ("max_results 50001", {"max_results": 50001}),
                          ("bad page token", {"page_token": "garbage"}), ("bad order", {"order_by": ["foo ASC"]}),
                          ("order by token usage", {"order_by": ["metadata.`mlflow.trace.tokenUsage`"]}),
                          ("dotted location", {"locations": ["1.2"]})):
        kw = {"locations": exps, **kwargs}
        rec.call(f"bad search {label}", lambda k=kw: s.search_traces(**k), lambda r: len(r[0]))


def delete(rec: Recorder) -> None:
    s = rec.store
    a, b = rec.exp_ids["kit-a"], rec.exp_ids["kit-b"]
    rec.call("delete_traces nothing given", lambda: s.delete_traces(a), lambda n: n)
    rec.call("delete_traces both given", lambda: s.delete_traces(a, 1, trace_ids=[trace_id(1)]), lambda n: n)
    rec.call("delete_traces max_traces 0", lambda: s.delete_traces(a, BASE_MS, max_traces=0), lambda n: n)
    rec.call("delete_traces bad experiment id", lambda: s.delete_traces("abc", BASE_MS), lambda n: n)
    rec.call("delete_traces by timestamp", lambda: s.delete_traces(b, BASE_MS + 3000), lambda n: n)
    rec.call("delete_traces by timestamp + max_traces", lambda: s.delete_traces(a, BASE_MS + 10_000, max_traces=3),
             lambda n: n)
    rec.call("delete_traces by ids (one elsewhere)", lambda: s.delete_traces(
        a, trace_ids=[trace_id(103), trace_id(9), trace_id(999)]), lambda n: n)
    rec.call("get_trace deleted", lambda: s.get_trace(trace_id(103), allow_partial=True), rec.trace_shape)
    rec.call("remaining", lambda: _all_pages(lambda token: s.search_traces(
        locations=[a, b], max_results=20, page_token=token)), lambda pages: [t.trace_id for p in pages for t in p])


def replay(store: Any, page_size: int = 7) -> list[Observation]:
    rec = Recorder(store)
    populate(rec)
    observe(rec, page_size)
    delete(rec)
    return [(label, value if not label.startswith(("create_experiment", "create_run")) or isinstance(value, tuple)
             else "ok") for label, value in rec.log]


_REFERENCE: dict[int, list[Observation]] = {}


def reference_observations(root: Path, page_size: int) -> list[Observation]:
    if page_size not in _REFERENCE:
        _REFERENCE[page_size] = replay(sqlite_reference_store(root), page_size)
    return _REFERENCE[page_size]


class TraceStoreConformance:
    """Subclass and provide a `candidate_store` fixture returning a fresh, empty tracking store."""

    page_size = 7

    def test_traces_same_answers_as_sqlalchemy_store(self, candidate_store: Any, tmp_path: Path) -> None:
        want = reference_observations(tmp_path / "reference", self.page_size)
        got = replay(candidate_store, self.page_size)
        diffs = compare(want, got)
        assert not diffs, f"{len(diffs)} difference(s) from MLflow's store:\n" + "\n".join(diffs[:15])

    def test_trace_paging_many(self, candidate_store: Any) -> None:
        """Every trace exactly once across pages, in MLflow's order (time DESC, then id ASC on ties)."""
        n = int(os.environ.get("MLFLOW_PLUGINS_KIT_PAGING_TRACES", "300"))
        s = candidate_store
        eid = s.create_experiment("trace-paging", None, [])
        for i in range(n):
            s.start_trace(make_trace_info(trace_id(i), eid, BASE_MS + i // 3))
        pages = _all_pages(lambda t: s.search_traces(locations=[eid], max_results=97, page_token=t))
        ids = [t.trace_id for p in pages for t in p]
        assert [len(p) for p in pages[:-1]] == [97] * (len(pages) - 1)
        assert ids == sorted((trace_id(i) for i in range(n)), key=lambda t: (-(int(t[3:], 16) // 3), t))
