from mlflow.entities import Dataset, DatasetInput, InputTag, ViewType
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT


def _input(name: str, digest: str, context: str) -> DatasetInput:
    return DatasetInput(Dataset(name, digest, "local", '{"uri": "/data"}', '{"cols": []}', '{"rows": 3}'),
                        [InputTag(MLFLOW_DATASET_CONTEXT, context)])


def test_log_inputs_and_search(tracking_store):
    s = tracking_store
    eid = s.create_experiment("ds", None, [])
    a = s.create_run(eid, "u", 1, [], "a").info.run_id
    b = s.create_run(eid, "u", 2, [], "b").info.run_id
    s.log_inputs(a, [_input("train", "d1", "training"), _input("eval", "d2", "eval")])
    s.log_inputs(a, [_input("train", "d1", "training")])  # same dataset again: no duplicate
    s.log_inputs(b, [_input("train", "d1", "training")])
    inputs = s.get_run(a).inputs.dataset_inputs
    assert [(i.dataset.name, i.dataset.digest, i.dataset.profile) for i in inputs] == [
        ("train", "d1", '{"rows": 3}'), ("eval", "d2", '{"rows": 3}')]
    assert inputs[0].tags[0].value == "training"
    names = [r.info.run_name for r in s.search_runs([eid], "dataset.name = 'eval'", ViewType.ALL)]
    assert names == ["a"]
    names = sorted(r.info.run_name for r in s.search_runs([eid], "dataset.context = 'training'", ViewType.ALL))
    assert names == ["a", "b"]
    summaries = sorted((d.name, d.digest, d.context) for d in s._search_datasets([eid]))
    assert summaries == [("eval", "d2", "eval"), ("train", "d1", "training")]
