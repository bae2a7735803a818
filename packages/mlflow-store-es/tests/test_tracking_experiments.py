import pytest
from mlflow.entities import ExperimentTag, ViewType
from mlflow.exceptions import MlflowException


def test_default_experiment_exists(tracking_store):
    exp = tracking_store.get_experiment("0")
    assert exp.name == "Default" and exp.lifecycle_stage == "active"


def test_create_get_rename_delete_restore(tracking_store):
    s = tracking_store
    eid = s.create_experiment("exp-a", None, [ExperimentTag("team", "ml")])
    exp = s.get_experiment(eid)
    assert exp.name == "exp-a" and exp.tags == {"team": "ml"}
    assert exp.artifact_location.endswith(f"/{eid}")
    assert s.get_experiment_by_name("exp-a").experiment_id == eid
    s.rename_experiment(eid, "exp-b")
    assert s.get_experiment_by_name("exp-a") is None
    assert s.get_experiment_by_name("exp-b").experiment_id == eid
    run = s.create_run(eid, "u", 1, [], "r")
    s.delete_experiment(eid)
    assert s.get_experiment(eid).lifecycle_stage == "deleted"
    assert s.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    s.restore_experiment(eid)
    assert s.get_experiment(eid).lifecycle_stage == "active"
    assert s.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_duplicate_names_rejected(tracking_store):
    tracking_store.create_experiment("dup", None, [])
    with pytest.raises(MlflowException, match="already exists") as e:
        tracking_store.create_experiment("dup", None, [])
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_experiment_tags(tracking_store):
    eid = tracking_store.create_experiment("tags", None, [])
    tracking_store.set_experiment_tag(eid, ExperimentTag("k", "é" * 5000))
    assert tracking_store.get_experiment(eid).tags["k"] == "é" * 5000
    tracking_store.delete_experiment_tag(eid, "k")
    assert "k" not in tracking_store.get_experiment(eid).tags
    with pytest.raises(MlflowException) as e:
        tracking_store.delete_experiment_tag(eid, "k")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_experiments_filter_order_paging(tracking_store):
    s = tracking_store
    ids = [s.create_experiment(f"x-{i:02d}", None, [ExperimentTag("i", str(i % 2))]) for i in range(7)]
    s.delete_experiment(ids[0])
    active = s.search_experiments(ViewType.ACTIVE_ONLY, 100, "name LIKE 'x-%'", ["name ASC"])
    assert [e.name for e in active] == [f"x-{i:02d}" for i in range(1, 7)]
    deleted = s.search_experiments(ViewType.DELETED_ONLY, 100)
    assert [e.experiment_id for e in deleted] == [ids[0]]
    tagged = s.search_experiments(ViewType.ALL, 100, "tags.i = '1'", ["name DESC"])
    assert [e.name for e in tagged] == ["x-05", "x-03", "x-01"]
    seen, token = [], None
    while True:
        page = s.search_experiments(ViewType.ALL, 3, "name LIKE 'x-%'", ["name ASC"], token)
        seen += [e.name for e in page]
        token = page.token
        if not token:
            break
    assert seen == [f"x-{i:02d}" for i in range(7)]


def test_missing_experiment(tracking_store):
    with pytest.raises(MlflowException) as e:
        tracking_store.get_experiment("123456")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("op", ["delete", "restore"])
def test_interrupted_delete_or_restore_never_half_applies_and_a_retry_finishes(op, engine_base, store_uri,
                                                                                make_gateway, tmp_path):
    """Experiment and runs are separate docs: a call cut off after any number of requests leaves either
    the old experiment state (a retry finishes the job) or the whole change, never a deleted experiment
    with active runs or the reverse."""
    from urllib.parse import urlsplit

    from mlflow_store_es.tracking_store import EsTrackingStore

    direct = EsTrackingStore(store_uri, str(tmp_path))
    if "https" in engine_base.split("://", 1)[0]:
        pytest.skip("the test gateway speaks plain HTTP to the engine behind it")
    gw = make_gateway(f"http://{urlsplit(engine_base).netloc}")
    via_gw = EsTrackingStore(f"{engine_base.split(':', 1)[0]}://127.0.0.1:{gw.port}/?{store_uri.split('?', 1)[1]}",
                             str(tmp_path))
    start, goal = ("active", "deleted") if op == "delete" else ("deleted", "active")
    cut = 0
    while True:
        eid = direct.create_experiment(f"cut-{op}-{cut}", None, [])
        runs = [direct.create_run(eid, "u", 1, [], f"r{i}").info.run_id for i in range(4)]
        if op == "restore":
            direct.delete_experiment(eid)
        gw.cut_after = cut
        try:
            getattr(via_gw, f"{op}_experiment")(eid)
            finished = True
        except MlflowException:
            finished = False
        gw.cut_after = None
        exp_stage = direct.get_experiment(eid).lifecycle_stage
        run_stages = {direct.get_run(r).info.lifecycle_stage for r in runs}
        if exp_stage == goal:
            assert run_stages == {goal}, (cut, run_stages)
        else:
            assert exp_stage == start
            getattr(direct, f"{op}_experiment")(eid)  # the retry
            assert direct.get_experiment(eid).lifecycle_stage == goal
            assert {direct.get_run(r).info.lifecycle_stage for r in runs} == {goal}
        if finished:
            break
        cut += 1
    assert cut >= 5  # the cut really landed between the run updates
