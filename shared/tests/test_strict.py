import pytest
from mlflow.exceptions import MlflowNotImplementedException
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.model_registry.abstract_store import AbstractStore as RegistryStore
from mlflow.store.tracking.abstract_store import AbstractStore

from mlflow_plugins_shared.strict import SERVER_CALLED_UNDECLARED, StrictMixin


class TinyStore(StrictMixin, AbstractStore):
    strict_plugin_name = "tiny"
    strict_extra_methods = SERVER_CALLED_UNDECLARED

    def get_experiment(self, experiment_id):
        return f"exp-{experiment_id}"


def test_implemented_methods_are_kept():
    assert TinyStore().get_experiment("1") == "exp-1"


@pytest.mark.parametrize("method", ["create_experiment", "log_batch", "_search_runs", "start_trace", "search_logged_models", "delete_tag", "log_logged_model_params"])
def test_unimplemented_methods_raise_501(method):
    store = TinyStore()
    with pytest.raises(MlflowNotImplementedException) as e:
        getattr(store, method)("a", "b")
    assert e.value.get_http_status_code() == 501
    assert method in e.value.message and "tiny" in e.value.message


def test_concrete_base_methods_still_work_on_top_of_ours():
    # AbstractStore.log_param is implemented on top of log_batch: it must reach our raising log_batch,
    # not return None.
    from mlflow.entities import Param

    with pytest.raises(MlflowNotImplementedException, match="log_batch"):
        TinyStore().log_param("r", Param("k", "v"))


def test_subclass_overrides_are_respected():
    class Sub(TinyStore):
        def create_experiment(self, name, artifact_location=None, tags=None):
            return "42"

    assert Sub().create_experiment("x") == "42"
    with pytest.raises(MlflowNotImplementedException):
        Sub().log_batch("r")
    assert "create_experiment" not in Sub.strict_stubbed_methods()
    assert "log_batch" in Sub.strict_stubbed_methods()


def test_registry_and_artifact_bases():
    class Reg(StrictMixin, RegistryStore):
        pass

    class Repo(StrictMixin, ArtifactRepository):
        pass

    with pytest.raises(MlflowNotImplementedException):
        Reg().get_registered_model("m")
    repo = Repo("x://y")
    for call in (lambda: repo.list_artifacts(), lambda: repo.log_artifact("f"), lambda: repo.delete_artifacts()):
        with pytest.raises(MlflowNotImplementedException):
            call()


def test_every_declared_abstract_method_is_covered():
    # Nothing inherited from MLflow may silently return None.
    store = TinyStore()
    for name in TinyStore.strict_stubbed_methods():
        with pytest.raises(MlflowNotImplementedException):
            getattr(store, name)(*([None] * 8))
    assert len(TinyStore.strict_stubbed_methods()) > 60
