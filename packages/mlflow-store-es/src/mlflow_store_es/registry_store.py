"""MLflow model-registry store on Elasticsearch/OpenSearch.

One doc per registered model (id = hash of the name; tags, aliases and a version counter
inside) and one doc per model version. Version numbers come from an optimistic-concurrency
increment of the model's counter, so concurrent registrations never share a number. Filters
and ordering use MLflow's SearchModelUtils/SearchModelVersionUtils. Webhooks: webhooks.py.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from mlflow.entities.model_registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from mlflow.entities.model_registry.model_version_stages import (
    ALL_STAGES,
    DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS,
    STAGE_ARCHIVED,
    STAGE_DELETED_INTERNAL,
    STAGE_NONE,
    get_canonical_stage,
)
from mlflow.entities.model_registry.model_version_status import ModelVersionStatus
from mlflow.exceptions import MlflowException
from mlflow.prompt.registry_utils import add_prompt_filter_string, handle_resource_already_exist_error, has_prompt_tag
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
)
from mlflow.store.model_registry.abstract_store import AbstractStore as AbstractRegistryStore
from mlflow.utils.search_utils import SearchModelUtils, SearchModelVersionUtils, SearchUtils
from mlflow.utils.time import get_current_time_millis

from mlflow_plugins_shared.strict import StrictMixin
from mlflow_store_es.client import dumps
from mlflow_store_es.codec import doc_id
from mlflow_store_es.connection import connect
from mlflow_store_es.mlflow_compat import (
    _REGISTERED_MODEL_ALIAS_LATEST,
    _parse_model_uri,
    _validate_model_alias_name,
    _validate_model_alias_name_reserved,
    _validate_model_name,
    _validate_model_renaming,
    _validate_model_version,
    _validate_model_version_tag,
    _validate_registered_model_tag,
    _validate_tag_name,
)
from mlflow_store_es.webhooks import WebhooksMixin


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _rm_missing(name: str) -> MlflowException:
    return MlflowException(f"Registered Model with name={name} not found", RESOURCE_DOES_NOT_EXIST)


def _mv_missing(name: str, version: Any) -> MlflowException:
    return MlflowException(f"Model Version (name={name}, version={version}) not found", RESOURCE_DOES_NOT_EXIST)


def _check_max(max_results: Any, threshold: int) -> None:
    if not isinstance(max_results, int) or max_results < 1:
        raise MlflowException(f"Invalid value for max_results. It must be a positive integer, but got {max_results}",
                              INVALID_PARAMETER_VALUE)
    if max_results > threshold:
        raise MlflowException(f"Invalid value for request parameter max_results. It must be at most {threshold}, "
                              f"but got value {max_results}", INVALID_PARAMETER_VALUE)


def _version_from_doc(src: dict[str, Any], aliases: list[str]) -> ModelVersion:
    """The version number is an int, as SqlAlchemyStore's entities carry it: the server writes it unchanged into
    the logged model's `mlflow.modelVersions` tag (`"version": 1`), and the REST answer turns it into text."""
    return ModelVersion(
        # MLflow annotates `version` as str, yet its SQL store passes the int column: follow the SQL store
        name=src["name"], version=int(src["version"]),  # type: ignore[arg-type]
        creation_timestamp=src["creation_timestamp"],
        last_updated_timestamp=src.get("last_updated_timestamp"), description=src.get("description"),
        user_id=src.get("user_id"), current_stage=src.get("current_stage"), source=src.get("source"),
        run_id=src.get("run_id"), status=src.get("status") or ModelVersionStatus.to_string(ModelVersionStatus.READY),
        status_message=src.get("status_message"),
        tags=[ModelVersionTag(k, v) for k, v in (src.get("tags") or {}).items()],
        run_link=src.get("run_link"), aliases=aliases, model_id=src.get("model_id"),
    )


class EsRegistryStore(StrictMixin, WebhooksMixin, AbstractRegistryStore):
    strict_plugin_name = "mlflow-store-es"

    def __init__(self, store_uri: str, tracking_uri: str | None = None, **kwargs: object) -> None:
        super().__init__(store_uri=store_uri, tracking_uri=tracking_uri)
        self.cfg, self.client, self.ix = connect(store_uri)
        self._store_uri = store_uri
        self._tracking: Any = None

    def __repr__(self) -> str:
        return f"EsRegistryStore({self.client!r})"

    def _logged_model(self, model_id: str) -> Any:
        """A logged model from the tracking store on the same cluster and prefix (the usual setup), else
        through MLflow's client at the registry's tracking URI, as MLflow's SQL registry does. Not the
        process's default tracking URI: inside `mlflow server` that may be unset or point elsewhere."""
        from mlflow.protos.databricks_pb2 import ErrorCode

        from mlflow_store_es.tracking_store import EsTrackingStore

        if self._tracking is None:  # one per registry store: it shares nothing but the URI
            self._tracking = EsTrackingStore(self._store_uri)
        try:
            return self._tracking.get_logged_model(model_id)
        except MlflowException as e:
            if e.error_code != ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
                raise
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=getattr(self, "tracking_uri", None)).get_logged_model(model_id)

    # -- docs ------------------------------------------------------------------------------
    def _rm_doc(self, name: str) -> dict[str, Any]:
        _validate_model_name(name)
        found = self.client.get(self.ix.registered_models, doc_id(name))
        if found is None or found["_source"]["name"] != name:
            raise _rm_missing(name)
        return found["_source"]

    def _update_rm(self, name: str, change: Any) -> dict[str, Any]:
        _validate_model_name(name)
        return self.client.update_with(self.ix.registered_models, doc_id(name), change, lambda: _rm_missing(name))

    def _touch(self, name: str, when: int) -> None:
        self._update_rm(name, lambda s: s.update(last_updated_timestamp=when))

    def _versions(self, name: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"bool": {"must_not": [{"term": {"current_stage": STAGE_DELETED_INTERNAL}}]}}
        if name is not None:
            query["bool"]["filter"] = [{"term": {"name": name}}]
        return [h["_source"] for h in self.client.scan(self.ix.model_versions, query, [{"name": "asc"}, {"version": "asc"}])]

    def _mv_doc(self, name: str, version: Any) -> dict[str, Any]:
        _validate_model_name(name)
        version = _validate_model_version(version)
        found = self.client.get(self.ix.model_versions, doc_id(name, version))
        if found is None or found["_source"].get("current_stage") == STAGE_DELETED_INTERNAL:
            raise _mv_missing(name, version)
        return found["_source"]

    def _update_mv(self, name: str, version: Any, change: Any) -> dict[str, Any]:
        version = _validate_model_version(version)

        def guarded(src: dict[str, Any]) -> None:
            if src.get("current_stage") == STAGE_DELETED_INTERNAL:
                raise _mv_missing(name, version)
            change(src)

        return self.client.update_with(self.ix.model_versions, doc_id(name, version), guarded,
                                       lambda: _mv_missing(name, version))

    def _mv_entity(self, src: dict[str, Any], aliases_map: dict[str, Any] | None = None) -> ModelVersion:
        if aliases_map is None:
            aliases_map = (self.client.get(self.ix.registered_models, doc_id(src["name"])) or {}).get(
                "_source", {}).get("aliases") or {}
        return _version_from_doc(src, [a for a, v in aliases_map.items() if str(v) == str(src["version"])])

    def _rm_entity(self, src: dict[str, Any], versions: list[dict[str, Any]]) -> RegisteredModel:
        aliases = src.get("aliases") or {}
        latest: dict[str, dict[str, Any]] = {}
        for mv in versions:
            stage = str(mv.get("current_stage"))
            if stage not in latest or latest[stage]["version"] < mv["version"]:
                latest[stage] = mv
        return RegisteredModel(
            name=src["name"], creation_timestamp=src["creation_timestamp"],
            last_updated_timestamp=src.get("last_updated_timestamp"), description=src.get("description"),
            latest_versions=[self._mv_entity(mv, aliases) for mv in latest.values()],
            tags=[RegisteredModelTag(k, v) for k, v in (src.get("tags") or {}).items()],
            aliases=[RegisteredModelAlias(a, str(v)) for a, v in aliases.items()],
        )

    # -- registered models -----------------------------------------------------------------
    def create_registered_model(self, name, tags=None, description=None, deployment_job_id=None):
        _validate_model_name(name)
        for tag in tags or []:
            _validate_registered_model_tag(tag.key, tag.value)
        now = get_current_time_millis()
        doc = {"name": name, "creation_timestamp": now, "last_updated_timestamp": now,
               "description": description, "tags": {t.key: _str(t.value) for t in tags or []},
               "aliases": {}, "max_version": 0}
        r = self.client.index(self.ix.registered_models, doc_id(name), doc, create=True)
        if r.get("_status") == 409:
            existing = self.get_registered_model(name)
            handle_resource_already_exist_error(name, has_prompt_tag(existing._tags), has_prompt_tag(tags))
        return self._rm_entity(doc, [])

    def update_registered_model(self, name, description, deployment_job_id=None):
        now = get_current_time_millis()
        src = self._update_rm(name, lambda s: s.update(description=description, last_updated_timestamp=now))
        return self._rm_entity(src, self._versions(name))

    def rename_registered_model(self, name, new_name):
        """Create the new name (marked `renaming_from`), move the versions, delete the old name, then
        clear the mark. The engine has no multi-document transaction: a call cut off midway leaves
        the mark, and calling the same rename again finishes it."""
        _validate_model_renaming(new_name)
        _validate_model_name(new_name)
        try:
            src = self._rm_doc(name)
        except MlflowException:
            src = self._unfinished_rename(name, new_name)  # cut off after the old name was deleted
            if src is None:
                raise
        now = get_current_time_millis()
        new = dict(src, name=new_name, last_updated_timestamp=now, renaming_from=name)
        r = self.client.index(self.ix.registered_models, doc_id(new_name), new, create=True)
        if r.get("_status") == 409:
            unfinished = self._unfinished_rename(name, new_name)  # an earlier call was cut off: finish it
            if unfinished is None:
                raise MlflowException(f"Registered Model (name={new_name}) already exists.", RESOURCE_ALREADY_EXISTS)
            new = unfinished
        query = {"bool": {"filter": [{"term": {"name": name}}]}}
        lines: list[str] = []
        for h in self.client.scan(self.ix.model_versions, query, [{"version": "asc"}]):
            mv = dict(h["_source"], name=new_name, last_updated_timestamp=now)
            lines += [dumps({"index": {"_index": self.ix.model_versions, "_id": doc_id(new_name, mv["version"])}}), dumps(mv)]
            lines += [dumps({"delete": {"_index": self.ix.model_versions, "_id": h["_id"]}}), "{}"]
        if lines:
            self._bulk(lines)
        self.client.delete(self.ix.registered_models, doc_id(name))
        new.pop("renaming_from", None)
        renamed = self._rm_entity(new, self._versions(new_name))
        self.client.index(self.ix.registered_models, doc_id(new_name), new)  # last: until then a retry resumes
        return renamed

    def _unfinished_rename(self, name: str, new_name: str) -> dict[str, Any] | None:
        """The doc of `new_name` when a rename from `name` to it was cut off (it still has the mark)."""
        found = self.client.get(self.ix.registered_models, doc_id(new_name))
        return found["_source"] if found and found["_source"].get("renaming_from") == name else None

    def _bulk(self, lines: list[str]) -> None:
        # delete actions take no source line: drop the "{}" placeholders pairing them
        ops = []
        i = 0
        while i < len(lines):
            if lines[i].startswith('{"delete"'):
                ops.append(lines[i])
            else:
                ops.append(lines[i])
                ops.append(lines[i + 1])
            i += 2
        body = "".join(op + "\n" for op in ops)
        r = self.client.request("POST", "/_bulk", params={"refresh": self.cfg.refresh}, body=body, ndjson=True)
        for item in r.get("items", []):
            res = next(iter(item.values()))
            if int(res.get("status", 200)) >= 300 and int(res.get("status", 200)) != 404:
                raise MlflowException(f"The search engine refused a write: {res.get('error')}")

    def delete_registered_model(self, name):
        self._rm_doc(name)
        query = {"bool": {"filter": [{"term": {"name": name}}]}}
        lines = []
        for h in self.client.scan(self.ix.model_versions, query, [{"version": "asc"}], source=False):
            lines += [dumps({"delete": {"_index": self.ix.model_versions, "_id": h["_id"]}}), "{}"]
        if lines:
            self._bulk(lines)
        self.client.delete(self.ix.registered_models, doc_id(name))

    def get_registered_model(self, name):
        return self._rm_entity(self._rm_doc(name), self._versions(name))

    def _all_models(self) -> list[RegisteredModel]:
        by_name: dict[str, list[dict[str, Any]]] = {}
        for mv in self._versions():
            by_name.setdefault(mv["name"], []).append(mv)
        return [self._rm_entity(h["_source"], by_name.get(h["_source"]["name"], []))
                for h in self.client.scan(self.ix.registered_models, {"match_all": {}}, [{"name": "asc"}])]

    def search_registered_models(self, filter_string=None, max_results=None, order_by=None, page_token=None):
        _check_max(max_results, SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD)
        filter_string = add_prompt_filter_string(filter_string, is_prompt=False)
        SearchModelUtils.parse_search_filter(filter_string)
        models = SearchModelUtils.filter(self._all_models(), filter_string)
        ordered = SearchModelUtils.sort(models, order_by)
        page, token = SearchUtils.paginate(ordered, page_token, max_results)
        return PagedList(page, token)

    def get_latest_versions(self, name, stages=None):
        self._rm_doc(name)
        expected = [get_canonical_stage(s) for s in (stages or ALL_STAGES)]
        latest: dict[str, dict[str, Any]] = {}
        for mv in self._versions(name):
            stage = mv.get("current_stage")
            if stage in expected and (stage not in latest or latest[stage]["version"] < mv["version"]):
                latest[stage] = mv
        return [self._mv_entity(latest[s]) for s in dict.fromkeys(expected) if s in latest]

    def set_registered_model_tag(self, name, tag):
        _validate_registered_model_tag(tag.key, tag.value)
        now = get_current_time_millis()

        def change(s: dict[str, Any]) -> None:
            s.setdefault("tags", {})[tag.key] = _str(tag.value)
            s["last_updated_timestamp"] = now

        self._update_rm(name, change)

    def delete_registered_model_tag(self, name, key):
        _validate_tag_name(key)
        now = get_current_time_millis()

        def change(s: dict[str, Any]) -> None:
            if (s.get("tags") or {}).pop(key, None) is not None:
                s["last_updated_timestamp"] = now

        self._update_rm(name, change)

    # -- model versions --------------------------------------------------------------------
    def create_model_version(self, name, source, run_id=None, tags=None, run_link=None, description=None,
                             local_model_path=None, model_id=None):
        _validate_model_name(name)
        for tag in tags or []:
            _validate_model_version_tag(tag.key, tag.value)
        storage_location = source
        if urllib.parse.urlparse(source).scheme == "models":
            # As MLflow's SQL registry: a logged model's artifacts and source run, or another version's location.
            try:
                parsed = _parse_model_uri(source)
                if parsed.model_id is not None:
                    model = self._logged_model(parsed.model_id)
                    storage_location = model.artifact_location
                    run_id = run_id or model.source_run_id
                elif parsed.name and parsed.version:
                    storage_location = self.get_model_version_download_uri(parsed.name, parsed.version)
            except Exception as e:
                raise MlflowException(f"Unable to fetch model from model URI source artifact location '{source}'. "
                                      f"Error: {e}", INVALID_PARAMETER_VALUE) from e
        if not run_id and model_id:
            run_id = self._logged_model(model_id).source_run_id
        now = get_current_time_millis()
        box: dict[str, int] = {}

        def bump(s: dict[str, Any]) -> None:
            box["v"] = int(s.get("max_version") or 0) + 1
            s.update(max_version=box["v"], last_updated_timestamp=now)

        self._update_rm(name, bump)
        version = box["v"]
        doc = {"name": name, "version": version, "creation_timestamp": now, "last_updated_timestamp": now,
               "description": description, "user_id": None, "current_stage": STAGE_NONE, "source": source,
               "run_id": run_id, "status": ModelVersionStatus.to_string(ModelVersionStatus.READY),
               "status_message": None, "run_link": run_link, "tags": {t.key: _str(t.value) for t in tags or []},
               "deleted": False, "storage_location": storage_location, "model_id": model_id}
        self.client.index(self.ix.model_versions, doc_id(name, version), doc)
        return _version_from_doc(doc, [])

    def update_model_version(self, name, version, description):
        now = get_current_time_millis()
        return self._mv_entity(self._update_mv(name, version, lambda s: s.update(description=description,
                                                                                   last_updated_timestamp=now)))

    def transition_model_version_stage(self, name, version, stage, archive_existing_versions):
        stage = get_canonical_stage(stage)
        if archive_existing_versions and stage not in DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS:
            raise MlflowException(
                "Model version transition cannot archive existing model versions because "
                f"'{stage}' is not an Active stage. Valid stages are {DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS}",
                INVALID_PARAMETER_VALUE)
        now = get_current_time_millis()
        version = _validate_model_version(version)
        self._mv_doc(name, version)
        if archive_existing_versions:
            for mv in self._versions(name):
                if int(mv["version"]) != int(version) and mv.get("current_stage") == stage:
                    self._update_mv(name, mv["version"], lambda s: s.update(current_stage=STAGE_ARCHIVED,
                                                                            last_updated_timestamp=now))
        src = self._update_mv(name, version, lambda s: s.update(current_stage=stage, last_updated_timestamp=now))
        self._touch(name, now)
        return self._mv_entity(src)

    def delete_model_version(self, name, version):
        now = get_current_time_millis()
        version = _validate_model_version(version)
        self._update_mv(name, version, lambda s: s.update(current_stage=STAGE_DELETED_INTERNAL, deleted=True,
                                                          last_updated_timestamp=now))

        def change(s: dict[str, Any]) -> None:
            s["aliases"] = {a: v for a, v in (s.get("aliases") or {}).items() if int(v) != int(version)}
            s["last_updated_timestamp"] = now

        self._update_rm(name, change)

    def get_model_version(self, name, version):
        return self._mv_entity(self._mv_doc(name, version))

    def get_model_version_download_uri(self, name, version):
        src = self._mv_doc(name, version)
        return src.get("storage_location") or src.get("source")

    def search_model_versions(self, filter_string=None, max_results=None, order_by=None, page_token=None):
        _check_max(max_results, SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD)
        SearchModelVersionUtils.parse_search_filter(filter_string)
        aliases = {h["_source"]["name"]: h["_source"].get("aliases") or {}
                   for h in self.client.scan(self.ix.registered_models, {"match_all": {}}, [{"name": "asc"}])}
        versions = [self._mv_entity(mv, aliases.get(mv["name"], {})) for mv in self._versions()]
        filter_string = add_prompt_filter_string(filter_string, is_prompt=False)
        filtered = SearchModelVersionUtils.filter(versions, filter_string)
        ordered = SearchModelVersionUtils.sort(
            filtered, order_by or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"])
        page, token = SearchUtils.paginate(ordered, page_token, max_results)
        return PagedList(page, token)

    def set_model_version_tag(self, name, version, tag):
        _validate_model_version_tag(tag.key, tag.value)
        self._update_mv(name, version, lambda s: s.setdefault("tags", {}).__setitem__(tag.key, _str(tag.value)))
        self._touch(name, get_current_time_millis())

    def delete_model_version_tag(self, name, version, key):
        _validate_tag_name(key)
        self._update_mv(name, version, lambda s: (s.get("tags") or {}).pop(key, None))
        self._touch(name, get_current_time_millis())

    # -- aliases ---------------------------------------------------------------------------
    def set_registered_model_alias(self, name, alias, version):
        _validate_model_name(name)
        _validate_model_alias_name(alias)
        _validate_model_alias_name_reserved(alias)
        self._rm_doc(name)
        self._mv_doc(name, version)
        now = get_current_time_millis()

        def change(s: dict[str, Any]) -> None:
            s.setdefault("aliases", {})[alias] = str(version)
            s["last_updated_timestamp"] = now

        self._update_rm(name, change)

    def delete_registered_model_alias(self, name, alias):
        _validate_model_name(name)
        _validate_model_alias_name(alias)
        now = get_current_time_millis()

        def change(s: dict[str, Any]) -> None:
            if (s.get("aliases") or {}).pop(alias, None) is not None:
                s["last_updated_timestamp"] = now

        self._update_rm(name, change)

    def get_model_version_by_alias(self, name, alias):
        if alias.lower() == _REGISTERED_MODEL_ALIAS_LATEST:
            versions = self._versions(name)
            if not versions:
                raise MlflowException(f"Registered model {name} has no versions.", INVALID_PARAMETER_VALUE)
            return self._mv_entity(max(versions, key=lambda mv: int(mv["version"])))
        src = self._rm_doc(name)
        version = (src.get("aliases") or {}).get(alias)
        if version is None:
            raise MlflowException(f"Registered model alias {alias} not found.", INVALID_PARAMETER_VALUE)
        return self.get_model_version(name, version)
