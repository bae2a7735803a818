import math
import threading
import time

import pytest
from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException


@pytest.fixture
def exp(tracking_store):
    return tracking_store.create_experiment("runs", None, [])


def test_create_get_update_run(tracking_store, exp):
    s = tracking_store
    run = s.create_run(exp, "alice", 100, [RunTag("k", "v")], "my-run")
    got = s.get_run(run.info.run_id)
    assert got.info.run_name == "my-run" and got.info.user_id == "alice" and got.info.start_time == 100
    assert got.data.tags == {"k": "v", "mlflow.runName": "my-run"}
    assert got.info.artifact_uri.endswith(f"/{run.info.run_id}/artifacts")
    info = s.update_run_info(run.info.run_id, RunStatus.FINISHED, 200, "renamed")
    assert info.status == "FINISHED" and info.end_time == 200
    got = s.get_run(run.info.run_id)
    assert got.info.run_name == "renamed" and got.data.tags["mlflow.runName"] == "renamed"


def test_log_batch_is_one_bulk_and_keeps_latest(tracking_store, exp):
    s = tracking_store
    rid = s.create_run(exp, "u", 0, [], None).info.run_id
    metrics = [Metric("loss", float(1000 - i), 10 + i, i) for i in range(1000)]
    before = s.client.requests
    s.log_batch(rid, metrics, [], [])
    # one GET of the run + one _bulk of the 1,000 points + one conditional write of the run doc
    assert s.client.requests - before == 3
    assert s.get_run(rid).data.metrics == {"loss": 1.0}
    hist = s.get_metric_history(rid, "loss")
    assert [m.step for m in hist] == list(range(1000))
    s.log_batch(rid, metrics[:10], [], [])  # replay: deterministic ids, no duplicates
    assert len(s.get_metric_history(rid, "loss")) == 1000


def test_nan_inf_metrics_and_params(tracking_store, exp):
    s = tracking_store
    rid = s.create_run(exp, "u", 0, [], None).info.run_id
    s.log_metric(rid, Metric("nan", math.nan, 1, 0))
    s.log_metric(rid, Metric("inf", math.inf, 1, 0))
    s.log_metric(rid, Metric("ninf", -math.inf, 1, 0))
    m = s.get_run(rid).data.metrics
    assert math.isnan(m["nan"]) and m["inf"] == 1.7976931348623157e308 and m["ninf"] == -1.7976931348623157e308
    s.log_param(rid, Param("p", "1"))
    s.log_param(rid, Param("p", "1"))  # same value again is fine
    with pytest.raises(MlflowException, match="Changing param values is not allowed") as e:
        s.log_param(rid, Param("p", "2"))
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_tags_and_delete_tag(tracking_store, exp):
    s = tracking_store
    rid = s.create_run(exp, "u", 0, [], None).info.run_id
    s.set_tag(rid, RunTag("unicode", "日本語" * 1000))
    assert s.get_run(rid).data.tags["unicode"] == "日本語" * 1000
    s.delete_tag(rid, "unicode")
    assert "unicode" not in s.get_run(rid).data.tags
    with pytest.raises(MlflowException) as e:
        s.delete_tag(rid, "unicode")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_delete_restore_and_view_type(tracking_store, exp):
    s = tracking_store
    a = s.create_run(exp, "u", 1, [], "a").info.run_id
    b = s.create_run(exp, "u", 2, [], "b").info.run_id
    s.delete_run(a)
    assert [r.info.run_id for r in s.search_runs([exp], None, ViewType.ACTIVE_ONLY)] == [b]
    assert [r.info.run_id for r in s.search_runs([exp], None, ViewType.DELETED_ONLY)] == [a]
    assert len(s.search_runs([exp], None, ViewType.ALL)) == 2
    with pytest.raises(MlflowException):
        s.log_metric(a, Metric("m", 1.0, 1, 0))  # deleted runs are read-only
    s.restore_run(a)
    assert len(s.search_runs([exp], None, ViewType.ACTIVE_ONLY)) == 2


def test_search_runs_grammar(tracking_store, exp):
    s = tracking_store
    ids = []
    for i in range(6):
        rid = s.create_run(exp, f"user{i % 2}", 1000 + i, [RunTag("color", ["red", "blue", "Green"][i % 3])], f"run-{i}").info.run_id
        s.log_batch(rid, [Metric("acc", i / 10, 1, 0)], [Param("lr", str(i % 3))], [])
        ids.append(rid)

    def names(flt, order=None):
        return [r.info.run_name for r in s.search_runs([exp], flt, ViewType.ALL, order_by=order)]

    assert names("metrics.acc > 0.25", ["metrics.acc DESC"]) == ["run-5", "run-4", "run-3"]
    assert names("params.lr = '1' and metrics.acc <= 0.4", ["start_time ASC"]) == ["run-1", "run-4"]
    assert names("tags.color ILIKE 'g%'", ["attributes.run_name ASC"]) == ["run-2", "run-5"]
    assert names("tags.color LIKE 'G%'", ["run_name ASC"]) == ["run-2", "run-5"]
    with pytest.raises(MlflowException, match="quoted string"):  # MLflow's grammar: IN is for attributes
        names("params.lr IN ('0', '2')")
    assert names("attributes.user_id != 'user0'", ["run_name ASC"]) == ["run-1", "run-3", "run-5"]
    assert names("params.missing IS NULL and metrics.acc >= 0.5", ["run_name ASC"]) == ["run-5"]
    assert names(f"attributes.run_id NOT IN ('{ids[0]}')", ["run_name ASC"]) == [f"run-{i}" for i in range(1, 6)]


def test_search_runs_paging_with_ties(tracking_store, exp):
    s = tracking_store
    for i in range(25):
        rid = s.create_run(exp, "u", 5, [], f"r{i:02d}").info.run_id
        s.log_metric(rid, Metric("m", float(i % 3), 1, 0))
    seen, token = [], None
    while True:
        page = s.search_runs([exp], None, ViewType.ALL, max_results=7, order_by=["metrics.m DESC"], page_token=token)
        seen += [r.info.run_id for r in page]
        token = page.token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 25
    values = [s.get_run(r).data.metrics["m"] for r in seen]
    assert values == sorted(values, reverse=True)


def test_metric_history_paging_and_bulk_interval(tracking_store, exp):
    s = tracking_store
    rid = s.create_run(exp, "u", 0, [], None).info.run_id
    s.log_batch(rid, [Metric("m", float(i), i, i) for i in range(100)], [], [])
    page = s.get_metric_history(rid, "m", max_results=30)
    assert [m.step for m in page] == list(range(30)) and page.token
    nxt = s.get_metric_history(rid, "m", max_results=30, page_token=page.token)
    assert nxt[0].step == 30
    sampled = s.get_metric_history_bulk_interval([rid], "m", 10, None, None)
    assert 0 < len(sampled) <= 12 and sampled[0].step == 0 and sampled[-1].step == 99


def test_concurrent_writers_lose_nothing(tracking_store, exp):
    s = tracking_store
    rid = s.create_run(exp, "u", 0, [], None).info.run_id

    def writer(w: int) -> None:
        for j in range(10):
            s.log_batch(rid, [Metric(f"w{w}", float(j), j, j)], [Param(f"p{w}_{j}", "x")], [RunTag(f"t{w}", str(j))])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    run = s.get_run(rid)
    assert len(run.data.params) == 40
    assert run.data.metrics == {f"w{w}": 9.0 for w in range(4)}
    assert all(len(s.get_metric_history(rid, f"w{w}")) == 10 for w in range(4))


def test_max_results_limits(tracking_store, exp):
    with pytest.raises(MlflowException, match="at most 50000") as e:
        tracking_store.search_runs([exp], None, ViewType.ALL, max_results=50001)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert tracking_store.search_runs([exp], None, ViewType.ALL, max_results=50000) == []


def test_bad_filter_string(tracking_store, exp):
    with pytest.raises(MlflowException) as e:
        tracking_store.search_runs([exp], "metrics.acc >>> 1", ViewType.ALL)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_is_one_search_and_one_mget(tracking_store, exp):
    s = tracking_store
    for i in range(30):
        rid = s.create_run(exp, "u", i, [], f"r{i}").info.run_id
        s.log_batch(rid, [Metric("acc", i / 30, 1, 0)], [Param("p", str(i % 2))], [])
    before = s.client.requests
    runs = s.search_runs([exp], "metrics.acc > 0.5 and params.p = '1'", ViewType.ALL, max_results=5,
                         order_by=["metrics.acc DESC"])
    assert s.client.requests - before == 2
    assert [r.info.run_name for r in runs] == ["r29", "r27", "r25", "r23", "r21"]
    assert runs[0].data.params == {"p": "1"}  # page runs come back whole


def test_pushdown_keys_with_shared_prefixes(tracking_store, exp):
    s = tracking_store
    a = s.create_run(exp, "u", 0, [], "a").info.run_id
    s.log_batch(a, [Metric("acc", -0.0, 1, 0), Metric("acc2", 5.0, 1, 0), Metric("acc/z", 9.0, 1, 0)], [], [])
    names = lambda f: [r.info.run_name for r in s.search_runs([exp], f, ViewType.ALL)]  # noqa: E731
    assert names("metrics.acc = 0") == ["a"]
    assert names("metrics.acc > 1") == []
    assert names("metrics.acc2 > 1 and metrics.`acc/z` >= 9") == ["a"]


def test_metric_history_reads_its_own_writes_and_refreshes_only_when_needed(tracking_store, exp):
    s = tracking_store
    rid = s.create_run(exp, "u", 0, [], None).info.run_id
    s.log_batch(rid, [Metric("h", float(i), i, i) for i in range(500)], [], [])
    assert len(s.get_metric_history(rid, "h")) == 500  # written just now: refreshed first
    time.sleep(0.6)  # past the clock-skew margin
    assert len(s.get_metric_history(rid, "h")) == 500  # refreshed once more: the first refresh was within the margin
    before = s.client.requests
    assert len(s.get_metric_history(rid, "h")) == 500
    assert s.client.requests - before == 2  # GET of the run + one search: this store refreshed after the write
    s.log_batch(rid, [Metric("h", 1000.0, 1000, 1000)], [], [])
    assert len(s.get_metric_history(rid, "h")) == 501  # a newer write: refreshed again
