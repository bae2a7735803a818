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
