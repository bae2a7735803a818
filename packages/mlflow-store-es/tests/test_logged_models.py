"""Logged models on the real engines (Elasticsearch 8.19, OpenSearch 3.6): what the conformance kit
does not cover (ids, timestamps, gc helpers, long values, concurrency, idempotent retries)."""

from __future__ import annotations

import json
import math
import threading

import pytest
from mlflow.entities import (
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    ViewType,
)
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow_store_es.codec import MAX_FLOAT


def _code(excinfo: pytest.ExceptionInfo[MlflowException]) -> str:
    return excinfo.value.error_code


def test_no_logged_model_method_is_a_stub(tracking_store) -> None:
    stubs = type(tracking_store).strict_stubbed_methods()
    for name in ("create_logged_model", "get_logged_model", "search_logged_models", "finalize_logged_model",
                 "set_logged_model_tags", "delete_logged_model_tag", "delete_logged_model",
                 "log_logged_model_params", "log_outputs", "record_logged_model"):
        assert name not in stubs


def test_create_get_finalize(tracking_store) -> None:
    s = tracking_store
    eid = s.create_experiment("lm", None, [])
    rid = s.create_run(eid, "u", 1, [], "r").info.run_id
    m = s.create_logged_model(eid, "clf", rid, [LoggedModelTag("t", "v")], [LoggedModelParameter("C", "0.5")],
                              "sklearn")
    assert m.model_id.startswith("m-") and len(m.model_id) == 34
    assert m.artifact_location == f"{s.get_experiment(eid).artifact_location}/models/{m.model_id}/artifacts"
    got = s.get_logged_model(m.model_id)
    assert (got.name, got.experiment_id, got.source_run_id, got.model_type) == ("clf", eid, rid, "sklearn")
    assert (got.status, got.tags, got.params, got.metrics) == (LoggedModelStatus.PENDING, {"t": "v"},
                                                                {"C": "0.5"}, None)
    assert got.creation_timestamp == got.last_updated_timestamp
    done = s.finalize_logged_model(m.model_id, LoggedModelStatus.READY)
    assert done.status == LoggedModelStatus.READY and done.last_updated_timestamp >= done.creation_timestamp
    assert s.finalize_logged_model(m.model_id, "FAILED").status == LoggedModelStatus.FAILED
    with pytest.raises(MlflowException) as e:
        s.finalize_logged_model(m.model_id, "DONE")
    assert _code(e) == "INVALID_PARAMETER_VALUE" and "READY" in str(e.value)
    with pytest.raises(MlflowException) as e:
        s.get_logged_model("m-missing")
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert s.create_logged_model(eid).name  # a generated name


def test_tags_params_delete_and_gc_helpers(tracking_store) -> None:
    s = tracking_store
    eid = s.create_experiment("lm", None, [])
    rid = s.create_run(eid, "u", 1, [], "r").info.run_id
    mid = s.create_logged_model(eid, "m").model_id
    s.set_logged_model_tags(mid, [LoggedModelTag("a", "1"), LoggedModelTag("a", "2"), LoggedModelTag("b", "x")])
    s.delete_logged_model_tag(mid, "b")
    s.log_logged_model_params(mid, [LoggedModelParameter("p", "1")])
    with pytest.raises(MlflowException) as e:
        s.log_logged_model_params(mid, [LoggedModelParameter("p", "1")])
    assert _code(e) == "BAD_REQUEST"
    assert (s.get_logged_model(mid).tags, s.get_logged_model(mid).params) == ({"a": "2"}, {"p": "1"})
    s.log_batch(rid, [Metric("acc", 0.9, 1, 0, model_id=mid)], [], [])

    s.delete_logged_model(mid)
    with pytest.raises(MlflowException) as e:
        s.get_logged_model(mid)
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert s.get_logged_model(mid, allow_deleted=True).tags == {"a": "2"}
    assert s.search_logged_models([eid]).to_list() == []
    assert s._get_deleted_logged_models() == [mid]
    assert s._get_deleted_logged_models(older_than=10**9) == []
    s._hard_delete_logged_model(mid)
    with pytest.raises(MlflowException) as e:
        s.get_logged_model(mid, allow_deleted=True)
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert s._model_metrics([mid]) == {}
    with pytest.raises(MlflowException) as e:
        s._hard_delete_logged_model(mid)
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_model_metrics_from_log_batch(tracking_store) -> None:
    s = tracking_store
    eid = s.create_experiment("lm", None, [])
    rid = s.create_run(eid, "u", 1, [], "r").info.run_id
    mid = s.create_logged_model(eid, "m").model_id
    batch = [Metric("loss", math.nan, 10, 0, model_id=mid), Metric("loss", math.inf, 11, 1, model_id=mid),
             Metric("acc", 0.75, 12, 2, model_id=mid, dataset_name="eval", dataset_digest="abc"),
             Metric("run_only", 1.0, 12, 0)]
    s.log_batch(rid, batch, [], [])
    s.log_batch(rid, batch, [], [])  # a retried request: the same points, no duplicates
    got = sorted((m.key, m.value, m.step, m.run_id, m.dataset_name, m.dataset_digest, m.model_id)
                 for m in s.get_logged_model(mid).metrics)
    assert got == [("acc", 0.75, 2, rid, "eval", "abc", mid), ("loss", 0.0, 0, rid, None, None, mid),
                   ("loss", MAX_FLOAT, 1, rid, None, None, mid)]
    assert set(s.get_run(rid).data.metrics) == {"loss", "acc", "run_only"}

    with pytest.raises(MlflowException) as e:  # same primary key, another value
        s.log_batch(rid, [Metric("acc", 0.5, 12, 2, model_id=mid, dataset_name="eval", dataset_digest="abc")], [], [])
    assert _code(e) == "BAD_REQUEST"
    with pytest.raises(MlflowException) as e:
        s.log_batch(rid, [Metric("x", 1.0, 1, 0, model_id="m-unknown")], [], [])
    assert _code(e) == "BAD_REQUEST" and "m-unknown" in str(e.value)
    assert s.get_run(rid).data.metrics["x"] == 1.0  # like SqlAlchemyStore: the run's metric is already logged
    assert len(s.get_logged_model(mid).metrics) == 3


def test_search_long_values_and_many_pages(tracking_store) -> None:
    s = tracking_store
    eid = s.create_experiment("lm", None, [])
    long_type, long_tag = "t" * 9000, "ü" * 9000  # beyond what a keyword term indexes
    special = s.create_logged_model(eid, "special", None, [LoggedModelTag("big", long_tag)],
                                    [LoggedModelParameter("p", "v" * 9000)], long_type)
    for i in range(130):
        s.create_logged_model(eid, f"m{i:03d}", None, [LoggedModelTag("big", "small")], None, "x")
    for flt in (f"model_type = '{long_type}'", f"tags.big = '{long_tag}'", f"params.p = '{'v' * 9000}'",
                "tags.big LIKE 'üü%'"):
        assert [m.model_id for m in s.search_logged_models([eid], flt)] == [special.model_id]
    seen, token, pages = [], None, 0
    while True:
        page = s.search_logged_models([eid], "model_type = 'x'", max_results=25, page_token=token,
                                      order_by=[{"field_name": "name", "ascending": False}])
        seen += [m.name for m in page]
        pages += 1
        token = page.token
        if not token:
            break
    assert pages == 6 and seen == [f"m{i:03d}" for i in reversed(range(130))]


def test_search_bad_input_is_invalid_parameter(tracking_store) -> None:
    s = tracking_store
    eid = s.create_experiment("lm", None, [])
    s.create_logged_model(eid, "m")
    bad_calls = {
        "max_results -1": lambda: s.search_logged_models([eid], max_results=-1),
        "max_results str": lambda: s.search_logged_models([eid], max_results="5"),
        "page token garbage": lambda: s.search_logged_models([eid], page_token="not-base64!"),
        "unknown attribute": lambda: s.search_logged_models([eid], "colour = 'red'"),
        "metric vs string": lambda: s.search_logged_models([eid], "metrics.acc > 'high'"),
        "order_by not a dict": lambda: s.search_logged_models([eid], order_by=["name"]),
        "order_by params": lambda: s.search_logged_models([eid], order_by=[{"field_name": "params.x"}]),
        "experiment id": lambda: s.search_logged_models(["exp-one"]),
        "datasets without name": lambda: s.search_logged_models([eid], datasets=[{"dataset_digest": "d"}]),
    }
    for label, call in bad_calls.items():
        with pytest.raises(MlflowException) as e:
            call()
        assert _code(e) == "INVALID_PARAMETER_VALUE", label
    with pytest.raises(MlflowException, match="colour"):
        s.search_logged_models([eid], "colour = 'red'")


def test_run_outputs_and_model_history(tracking_store) -> None:
    s = tracking_store
    eid = s.create_experiment("lm", None, [])
    rid = s.create_run(eid, "u", 1, [], "r").info.run_id
    mid = s.create_logged_model(eid, "m", rid).model_id
    s.log_outputs(rid, [LoggedModelOutput(mid, 7)])
    with pytest.raises(MlflowException) as e:
        s.log_outputs(rid, [LoggedModelOutput(mid, 8)])
    assert _code(e) == "BAD_REQUEST"
    assert [(o.model_id, o.step) for o in s.get_run(rid).outputs.model_outputs] == [(mid, 7)]
    (found,) = s.search_runs([eid], None, ViewType.ALL)
    assert [o.model_id for o in found.outputs.model_outputs] == [mid]

    s.record_logged_model(rid, Model(artifact_path="a", run_id=rid))
    s.record_logged_model(rid, Model(artifact_path="b", run_id=rid))
    history = json.loads(s.get_run(rid).data.tags["mlflow.log-model.history"])
    assert [h["artifact_path"] for h in history] == ["a", "b"]
    with pytest.raises(MlflowException) as e:
        s.record_logged_model(rid, {"artifact_path": "c"})
    assert _code(e) == "INVALID_PARAMETER_VALUE"


def test_concurrent_tag_writers_all_land(tracking_store) -> None:
    s = tracking_store
    eid = s.create_experiment("lm", None, [])
    mid = s.create_logged_model(eid, "m").model_id
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for j in range(5):
                s.set_logged_model_tags(mid, [LoggedModelTag(f"w{i}-{j}", str(j))])
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(s.get_logged_model(mid).tags) == 30
