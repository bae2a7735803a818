import json
from typing import Any

import pytest
from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag
from mlflow.exceptions import MlflowException


def test_models_versions_stages_aliases(registry_store):
    s = registry_store
    s.create_registered_model("model-a", [RegisteredModelTag("owner", "me")], "first")
    with pytest.raises(MlflowException) as e:
        s.create_registered_model("model-a")
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    v1 = s.create_model_version("model-a", "s3://b/1", run_id="r1")
    v2 = s.create_model_version("model-a", "s3://b/2", tags=[ModelVersionTag("k", "v")])
    assert (v1.version, v2.version) == (1, 2)  # ints, as SqlAlchemyStore's
    s.transition_model_version_stage("model-a", "1", "Production", False)
    s.transition_model_version_stage("model-a", "2", "production", True)
    assert s.get_model_version("model-a", "1").current_stage == "Archived"
    latest = s.get_latest_versions("model-a", ["Production"])
    assert [m.version for m in latest] == [2]
    s.set_registered_model_alias("model-a", "champion", "2")
    assert s.get_model_version_by_alias("model-a", "champion").version == 2
    assert s.get_model_version("model-a", "2").aliases == ["champion"]
    assert s.get_model_version_download_uri("model-a", "1") == "s3://b/1"
    s.delete_model_version("model-a", "2")
    with pytest.raises(MlflowException) as e:
        s.get_model_version("model-a", "2")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert s.get_registered_model("model-a").aliases == {}
    assert s.create_model_version("model-a", "s3://b/3").version == 3  # numbers are never reused


def test_rename_and_delete(registry_store):
    s = registry_store
    s.create_registered_model("old")
    s.create_model_version("old", "s3://x")
    s.set_model_version_tag("old", "1", ModelVersionTag("a", "b"))
    s.rename_registered_model("old", "new")
    assert s.get_model_version("new", "1").tags == {"a": "b"}
    with pytest.raises(MlflowException):
        s.get_registered_model("old")
    s.delete_registered_model("new")
    assert len(s.search_model_versions("name = 'new'", 10)) == 0


def test_search_grammar_and_paging(registry_store):
    s = registry_store
    for i in range(9):
        s.create_registered_model(f"m{i}", [RegisteredModelTag("even", str(i % 2 == 0))])
        s.create_model_version(f"m{i}", f"s3://m/{i}", run_id=f"run{i % 3}")
    names, token = [], None
    while True:
        page = s.search_registered_models("name LIKE 'm%'", 4, ["name DESC"], token)
        names += [m.name for m in page]
        token = page.token
        if not token:
            break
    assert names == [f"m{i}" for i in reversed(range(9))]
    assert [m.name for m in s.search_registered_models("tags.even = 'True'", 100, ["name ASC"])] == ["m0", "m2", "m4", "m6", "m8"]
    mvs = s.search_model_versions("run_id = 'run1'", 100, ["name ASC"])
    assert [m.name for m in mvs] == ["m1", "m4", "m7"]
    with pytest.raises(MlflowException) as e:
        s.search_registered_models("name === 'x'", 10)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_prompts_build_on_registry(registry_store):
    s = registry_store
    s.create_prompt("greeting", description="hi")
    pv = s.create_prompt_version("greeting", "Hello {{name}}")
    assert pv.version == 1
    assert s.get_prompt_version("greeting", 1).template == "Hello {{name}}"
    assert [m.name for m in s.search_registered_models(max_results=10)] == []  # prompts are not models


def test_interrupted_rename_is_finished_by_calling_it_again(engine_base, store_uri, make_gateway):
    """A rename touches several docs (new name, every version, old name). Cut off after any number of
    requests, either nothing changed or calling the same rename again finishes it: all versions,
    tags and aliases under the new name, the old name gone, and the new name not held by a mark."""
    from urllib.parse import urlsplit

    from mlflow_store_es.registry_store import EsRegistryStore

    if "https" in engine_base.split("://", 1)[0]:
        pytest.skip("the test gateway speaks plain HTTP to the engine behind it")
    direct = EsRegistryStore(store_uri)
    gw = make_gateway(f"http://{urlsplit(engine_base).netloc}")
    via_gw = EsRegistryStore(f"{engine_base.split(':', 1)[0]}://127.0.0.1:{gw.port}/?{store_uri.split('?', 1)[1]}")
    cut = 0
    while True:
        old, new = f"old-{cut}", f"new-{cut}"
        direct.create_registered_model(old, [RegisteredModelTag("team", "a")], "desc")
        for i in range(3):
            direct.create_model_version(old, f"s3://b/{i}", tags=[ModelVersionTag("i", str(i))])
        direct.set_registered_model_alias(old, "champion", "2")
        gw.cut_after = cut
        try:
            via_gw.rename_registered_model(old, new)
            finished = True
        except MlflowException:
            finished = False
        gw.cut_after = None
        if not finished:
            direct.rename_registered_model(old, new)  # the retry
        with pytest.raises(MlflowException) as e:
            direct.get_registered_model(old)
        assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST", cut
        model = direct.get_registered_model(new)
        assert (model.description, model.tags, model.aliases) == ("desc", {"team": "a"}, {"champion": "2"}), cut
        versions = direct.search_model_versions(f"name = '{new}'", max_results=100)
        assert sorted((v.version, v.tags["i"]) for v in versions) == [(1, "0"), (2, "1"), (3, "2")], cut
        assert list(direct.search_model_versions(f"name = '{old}'", max_results=100)) == [], cut
        assert "renaming_from" not in direct.client.get(direct.ix.registered_models, _doc_id(new))["_source"]
        direct.rename_registered_model(new, f"again-{cut}")  # the new name is a normal model
        if finished:
            break
        cut += 1
    assert cut >= 4  # the rename made several requests, each one cut in turn


def test_rename_onto_a_model_that_exists_is_refused(registry_store):
    registry_store.create_registered_model("taken")
    registry_store.create_registered_model("mover")
    registry_store.create_model_version("mover", "s3://b/1")
    with pytest.raises(MlflowException) as e:
        registry_store.rename_registered_model("mover", "taken")
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert [v.version for v in registry_store.search_model_versions("name = 'mover'", max_results=100)] == [1]


def _doc_id(name: str) -> str:
    from mlflow_store_es.codec import doc_id

    return doc_id(name)


def _registrations(tracking: Any, registry: Any) -> dict[str, Any]:
    """What the server does on `create_model_version(..., model_id=...)`: the registry makes the version, the
    tracking store records it on the logged model (`set_model_versions_tags`). Returns what both show."""
    eid = tracking.create_experiment("mv-tags", None, [])
    run = tracking.create_run(eid, "u", 0, [], "r")
    model = tracking.create_logged_model(eid, name="lm", source_run_id=run.info.run_id)
    other = tracking.create_logged_model(eid, name="lm2", source_run_id=run.info.run_id)
    for name, mid in (("reg-a", model.model_id), ("reg-a", model.model_id), ("reg-b", model.model_id),
                      ("reg-a", other.model_id)):
        if name not in [m.name for m in registry.search_registered_models(max_results=100)]:
            registry.create_registered_model(name)
        mv = registry.create_model_version(name, "s3://b/m", run_id=run.info.run_id, model_id=mid)
        tracking.set_model_versions_tags(name, mv.version, mid)
    registry.set_registered_model_alias("reg-a", "champion", 2)
    versions = {
        "created": registry.create_model_version("reg-b", "s3://b/n").version,
        "get": registry.get_model_version("reg-a", "2").version,
        "alias": registry.get_model_version_by_alias("reg-a", "champion").version,
        "latest": [v.version for v in registry.get_latest_versions("reg-a", ["None"])],
        "search": sorted(v.version for v in registry.search_model_versions("name = 'reg-a'", max_results=10)),
        "model latest": [v.version for v in registry.get_registered_model("reg-b").latest_versions],
    }
    return {
        "tags": [json.loads(tracking.get_logged_model(m.model_id).tags["mlflow.modelVersions"]) for m in (model, other)],
        "versions": versions,
        "types": {k: sorted({type(x).__name__ for x in (v if isinstance(v, list) else [v])}) for k, v in versions.items()},
    }


def test_model_version_numbers_are_ints_as_in_sqlalchemy_store(tracking_store, registry_store, tmp_path) -> None:
    """Conformance with MLflow's SQL stores: version numbers are ints, so the logged model's `mlflow.modelVersions`
    tag holds `"version": 1` (it held the string "1")."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as SqlRegistryStore

    from mlflow_plugins_shared.testing.tracking_store import sqlite_reference_store

    sql_tracking = sqlite_reference_store(tmp_path / "reference")
    sql_registry = SqlRegistryStore(f"sqlite:///{tmp_path / 'reference' / 'reference.db'}")
    want = _registrations(sql_tracking, sql_registry)
    got = _registrations(tracking_store, registry_store)
    assert got == want
    assert want["tags"][0] == [{"name": "reg-a", "version": 1}, {"name": "reg-a", "version": 2},
                               {"name": "reg-b", "version": 1}]
