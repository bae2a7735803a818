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
    assert (v1.version, v2.version) == ("1", "2")
    s.transition_model_version_stage("model-a", "1", "Production", False)
    s.transition_model_version_stage("model-a", "2", "production", True)
    assert s.get_model_version("model-a", "1").current_stage == "Archived"
    latest = s.get_latest_versions("model-a", ["Production"])
    assert [m.version for m in latest] == ["2"]
    s.set_registered_model_alias("model-a", "champion", "2")
    assert s.get_model_version_by_alias("model-a", "champion").version == "2"
    assert s.get_model_version("model-a", "2").aliases == ["champion"]
    assert s.get_model_version_download_uri("model-a", "1") == "s3://b/1"
    s.delete_model_version("model-a", "2")
    with pytest.raises(MlflowException) as e:
        s.get_model_version("model-a", "2")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert s.get_registered_model("model-a").aliases == {}
    assert s.create_model_version("model-a", "s3://b/3").version == "3"  # numbers are never reused


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
