"""MLflow tracking store on Elasticsearch/OpenSearch.

Layout: one doc per experiment (tags inside), one name-claim doc per experiment name (op_type
create makes names unique under concurrency), one doc per run holding its params, tags and
latest metric values (so get_run is one GET), and one doc per metric point with a
deterministic id (a retried bulk never duplicates). Run docs are changed with optimistic
concurrency (if_seq_no/if_primary_term) and re-read on conflict; no scripts are used.
Filters and ordering are evaluated with MLflow's own SearchUtils, so answers match MLflow.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mlflow.entities import Experiment, Metric, Run, RunInfo, RunStatus, ViewType
from mlflow.entities.lifecycle_stage import LifecycleStage
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT, MLFLOW_RUN_NAME
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchUtils
from mlflow.utils.time import get_current_time_millis
from mlflow.utils.uri import append_to_uri_path, resolve_uri_if_local

from mlflow_plugins_shared.strict import SERVER_CALLED_UNDECLARED, StrictMixin
from mlflow_store_es.client import raise_item_errors
from mlflow_store_es.codec import (
    dataset_input_to_doc,
    doc_id,
    encode_value,
    experiment_from_doc,
    latest_order,
    run_from_doc,
    run_info_from_doc,
    sanitize_value,
)
from mlflow_store_es.connection import connect
from mlflow_store_es.logged_models import LoggedModelsMixin
from mlflow_store_es.metric_packs import history, pack_lines
from mlflow_store_es.mlflow_compat import (
    _DatasetSummary,
    _generate_random_name,
    _generate_unique_integer_id,
    _get_run_name_from_tags,
    _validate_batch_log_data,
    _validate_batch_log_limits,
    _validate_dataset_inputs,
    _validate_experiment_artifact_location_length,
    _validate_experiment_id,
    _validate_experiment_name,
    _validate_experiment_tag,
    _validate_metric_name,
    _validate_param,
    _validate_param_keys_unique,
    _validate_run_id,
    _validate_tag,
    _validate_tag_name,
    sql_store_samples_metric_rows,
)
from mlflow_store_es.search_order import after_from_token, engine_sort, token_after
from mlflow_store_es.search_pushdown import index_fields, prefilter
from mlflow_store_es.search_threshold import (
    MAX_WINDOW,
    include_ignored,
    metric_order,
    run_ids_through,
    still_within,
    threshold,
    values_body,
    within,
)
from mlflow_store_es.search_validation import validate_run_search
from mlflow_store_es.skills import SkillsMixin
from mlflow_store_es.traces import TracesMixin

_logger = logging.getLogger(__name__)
DEFAULT_EXPERIMENT_ID = "0"
_CAS_ATTEMPTS = 100
_RECENT_WRITE_MS = 60_000  # far above any engine's default refresh interval (1 s)
_CLOCK_MARGIN_MS = 500  # clock skew allowed between the server that wrote and the one that reads
_METRIC_DOCS_PER_PAGE = 500  # a pack holds up to 1,000 points: pages of ~20 MB at most


def _str(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _bulk_order(m: Any) -> tuple[int, int, float]:
    # SQL stores NaN as 0 beside an is_nan flag, so it sorts there
    return m.timestamp, m.step, 0.0 if math.isnan(m.value) else m.value


def _interval_order(m: Any) -> tuple[int, int, float, bool]:
    """SqlAlchemyStore's order of sampled points: step, timestamp, value (NaN as 0), is_nan."""
    nan = math.isnan(m.value)
    return m.step, m.timestamp, 0.0 if nan else m.value, nan


def _evenly_spaced_rows(rows: list[Any], k: int) -> list[Any]:
    """The first row of each of `k` buckets of `rows` (SQL's NTILE: the first `len % k` buckets hold one row
    more), the last row taking the last sample's place when it is not already there."""
    if len(rows) <= k:
        return rows
    size, extra = divmod(len(rows), k)
    starts, i = [], 0
    for bucket in range(k):
        starts.append(i)
        i += size + (1 if bucket < extra else 0)
    picked = [rows[j] for j in starts]
    if picked[-1] is not rows[-1]:
        picked[-1] = rows[-1]
    return picked


class EsTrackingStore(StrictMixin, LoggedModelsMixin, TracesMixin, SkillsMixin, AbstractStore):
    strict_plugin_name = "mlflow-store-es"
    strict_extra_methods = SERVER_CALLED_UNDECLARED

    def __init__(self, store_uri: str, artifact_uri: str | None = None, **kwargs: object) -> None:
        super().__init__()
        self.cfg, self.client, self.ix = connect(store_uri)
        self._metrics_refreshed_at = 0  # when this store last refreshed the metrics index (ms)
        self._values_agg_ignored = False  # the engine ignores `include` in terms aggregations (noida-db)
        self.artifact_root_uri = resolve_uri_if_local(artifact_uri or "./mlruns")
        self._ensure_default_experiment()

    def __repr__(self) -> str:
        return f"EsTrackingStore({self.client!r})"

    # -- experiments -----------------------------------------------------------------------
    def _ensure_default_experiment(self) -> None:
        if self.client.get(self.ix.experiments, DEFAULT_EXPERIMENT_ID) is None:
            self._create_experiment_with_id("Default", DEFAULT_EXPERIMENT_ID, None, [], quiet=True)

    def _claim_name(self, name: str, experiment_id: str) -> None:
        r = self.client.index(self.ix.experiment_names, doc_id(name), {"experiment_id": experiment_id, "name": name},
                              create=True)
        if r.get("_status") == 409:
            found = self.client.get(self.ix.experiment_names, doc_id(name))
            owner = (found or {}).get("_source", {}).get("experiment_id")
            if owner == experiment_id:
                return  # our own claim, written by a retried request
            exp = self.client.get(self.ix.experiments, owner) if owner else None
            if exp is None:  # a claim left behind by a crash between claim and create: take it over
                self.client.index(self.ix.experiment_names, doc_id(name), {"experiment_id": experiment_id, "name": name})
                return
            if exp["_source"]["lifecycle_stage"] == LifecycleStage.DELETED:
                raise MlflowException(
                    f"Experiment {name!r} already exists in deleted state. You can restore the experiment, "
                    "or permanently delete the experiment to use this name again.",
                    RESOURCE_ALREADY_EXISTS,
                )
            raise MlflowException(f"Experiment '{name}' already exists.", RESOURCE_ALREADY_EXISTS)

    def _create_experiment_with_id(self, name: str, experiment_id: str, artifact_location: str | None,
                                   tags: Iterable[Any], quiet: bool = False) -> str:
        try:
            self._claim_name(name, experiment_id)
        except MlflowException:
            if quiet:
                return experiment_id
            raise
        now = get_current_time_millis()
        location = (resolve_uri_if_local(artifact_location) if artifact_location
                    else append_to_uri_path(self.artifact_root_uri, experiment_id))
        doc = {
            "experiment_id": experiment_id, "name": name, "artifact_location": location,
            "lifecycle_stage": LifecycleStage.ACTIVE, "creation_time": now, "last_update_time": now,
            "tags": {t.key: _str(t.value) for t in tags or []},
        }
        self.client.index(self.ix.experiments, experiment_id, doc, create=quiet)
        return experiment_id

    def create_experiment(self, name, artifact_location=None, tags=None):
        _validate_experiment_name(name)
        if artifact_location:
            _validate_experiment_artifact_location_length(artifact_location)
        for tag in tags or []:
            _validate_experiment_tag(tag.key, tag.value)
        return self._create_experiment_with_id(name, str(_generate_unique_integer_id()), artifact_location, tags)

    def _experiment_doc(self, experiment_id: Any) -> dict[str, Any]:
        _validate_experiment_id(experiment_id)
        found = self.client.get(self.ix.experiments, str(experiment_id))
        if found is None:
            raise MlflowException(f"No Experiment with id={experiment_id} exists", RESOURCE_DOES_NOT_EXIST)
        return found

    def get_experiment(self, experiment_id):
        return experiment_from_doc(self._experiment_doc(experiment_id)["_source"])

    def get_experiment_by_name(self, experiment_name):
        claim = self.client.get(self.ix.experiment_names, doc_id(experiment_name))
        if claim is None:
            return None
        found = self.client.get(self.ix.experiments, claim["_source"]["experiment_id"])
        if found is None or found["_source"]["name"] != experiment_name:
            return None
        return experiment_from_doc(found["_source"])

    def _update_experiment(self, experiment_id: Any, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        _validate_experiment_id(experiment_id)
        return self.client.update_with(self.ix.experiments, str(experiment_id), change, lambda: MlflowException(
            f"No Experiment with id={experiment_id} exists", RESOURCE_DOES_NOT_EXIST))

    def _set_runs_lifecycle(self, experiment_id: str, from_stage: str, to_stage: str, deleted_time: int | None) -> None:
        query = {"bool": {"filter": [{"term": {"experiment_id": experiment_id}},
                                     {"term": {"lifecycle_stage": from_stage}}]}}
        ids = [h["_id"] for h in self.client.scan(self.ix.runs, query, [{"run_id": "asc"}], source=False)]
        for rid in ids:
            self._update_run(rid, lambda s: s.update(lifecycle_stage=to_stage, deleted_time=deleted_time), check_active=False)

    def delete_experiment(self, experiment_id):
        """Runs first, the experiment last, then the runs again: the docs cannot change in one transaction,
        so an interrupted call leaves an active experiment that a retry finishes deleting, and a run
        created while this ran is caught by the second pass."""
        if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
            raise MlflowException(
                f"Cannot delete the default experiment '{DEFAULT_EXPERIMENT_ID}'. This is an internally reserved "
                "experiment.", INVALID_PARAMETER_VALUE)
        if self._experiment_doc(experiment_id)["_source"]["lifecycle_stage"] != LifecycleStage.ACTIVE:
            raise MlflowException(f"Could not find experiment with ID {experiment_id}", RESOURCE_DOES_NOT_EXIST)
        now = get_current_time_millis()
        self._set_runs_lifecycle(str(experiment_id), LifecycleStage.ACTIVE, LifecycleStage.DELETED, now)

        def change(src: dict[str, Any]) -> None:
            if src["lifecycle_stage"] != LifecycleStage.ACTIVE:
                raise MlflowException(f"Could not find experiment with ID {experiment_id}", RESOURCE_DOES_NOT_EXIST)
            src.update(lifecycle_stage=LifecycleStage.DELETED, last_update_time=now)

        self._update_experiment(experiment_id, change)
        self._set_runs_lifecycle(str(experiment_id), LifecycleStage.ACTIVE, LifecycleStage.DELETED, now)

    def restore_experiment(self, experiment_id):
        """As delete_experiment: runs first, so a retry of an interrupted restore finishes it."""
        if self._experiment_doc(experiment_id)["_source"]["lifecycle_stage"] != LifecycleStage.DELETED:
            raise MlflowException(f"Cannot restore an active experiment {experiment_id}", INVALID_PARAMETER_VALUE)
        self._set_runs_lifecycle(str(experiment_id), LifecycleStage.DELETED, LifecycleStage.ACTIVE, None)

        def change(src: dict[str, Any]) -> None:
            if src["lifecycle_stage"] != LifecycleStage.DELETED:
                raise MlflowException(f"Cannot restore an active experiment {experiment_id}", INVALID_PARAMETER_VALUE)
            src.update(lifecycle_stage=LifecycleStage.ACTIVE, last_update_time=get_current_time_millis())

        self._update_experiment(experiment_id, change)

    def rename_experiment(self, experiment_id, new_name):
        _validate_experiment_name(new_name)
        src = self._experiment_doc(experiment_id)["_source"]
        if src["lifecycle_stage"] != LifecycleStage.ACTIVE:
            raise MlflowException("Cannot rename a non-active experiment.", INVALID_STATE)
        old = src["name"]
        if old == new_name:
            return
        self._claim_name(new_name, str(experiment_id))
        self._update_experiment(experiment_id, lambda s: s.update(name=new_name, last_update_time=get_current_time_millis()))
        self.client.delete(self.ix.experiment_names, doc_id(old))

    def set_experiment_tag(self, experiment_id, tag):
        _validate_experiment_tag(tag.key, tag.value)

        def change(src: dict[str, Any]) -> None:
            if src["lifecycle_stage"] != LifecycleStage.ACTIVE:
                raise MlflowException(f"The experiment {experiment_id} must be in the 'active' state.\n"
                                      f"Current state is {src['lifecycle_stage']}.", INVALID_STATE)
            src.setdefault("tags", {})[tag.key] = _str(tag.value)

        self._update_experiment(experiment_id, change)

    def delete_experiment_tag(self, experiment_id, key):
        def change(src: dict[str, Any]) -> None:
            if src["lifecycle_stage"] != LifecycleStage.ACTIVE:
                raise MlflowException(f"The experiment {experiment_id} must be in the 'active' state.\n"
                                      f"Current state is {src['lifecycle_stage']}.", INVALID_STATE)
            if key not in (src.get("tags") or {}):
                raise MlflowException(f"No tag with name: {key} in experiment with id {experiment_id}",
                                      RESOURCE_DOES_NOT_EXIST)
            del src["tags"][key]

        self._update_experiment(experiment_id, change)

    def search_experiments(self, view_type=ViewType.ACTIVE_ONLY, max_results=SEARCH_MAX_RESULTS_DEFAULT,
                           filter_string=None, order_by=None, page_token=None):
        _check_max_results(max_results)
        SearchExperimentsUtils.parse_search_filter(filter_string)  # bad filters fail even on empty stores
        query = _lifecycle_query(view_type)
        experiments = [experiment_from_doc(h["_source"])
                       for h in self.client.scan(self.ix.experiments, query, [{"experiment_id": "asc"}])]
        filtered = SearchExperimentsUtils.filter(experiments, filter_string)
        ordered = SearchExperimentsUtils.sort(filtered, order_by or ["creation_time DESC", "experiment_id ASC"])
        page, token = SearchUtils.paginate(ordered, page_token, max_results)
        return PagedList(page, token)

    # -- runs ------------------------------------------------------------------------------
    def create_run(self, experiment_id, user_id, start_time, tags, run_name):
        experiment_id = DEFAULT_EXPERIMENT_ID if experiment_id is None else str(experiment_id)
        experiment = self.get_experiment(experiment_id)
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise MlflowException(
                f"The experiment {experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}.", INVALID_PARAMETER_VALUE)
        tags = list(tags or [])
        run_name_tag = _get_run_name_from_tags(tags)
        if run_name and run_name_tag and run_name != run_name_tag:
            raise MlflowException(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                f"different values (run_name='{run_name}', mlflow.runName='{run_name_tag}').",
                INVALID_PARAMETER_VALUE)
        run_name = run_name or run_name_tag or _generate_random_name()
        for tag in tags:
            _validate_tag(tag.key, tag.value)
        tag_map = {t.key: _str(t.value) for t in tags}
        tag_map[MLFLOW_RUN_NAME] = run_name
        run_id = uuid.uuid4().hex
        doc = {
            "run_id": run_id, "experiment_id": experiment_id, "run_name": run_name, "user_id": user_id,
            "status": RunStatus.to_string(RunStatus.RUNNING), "start_time": start_time, "end_time": None,
            "lifecycle_stage": LifecycleStage.ACTIVE, "deleted_time": None,
            "artifact_uri": append_to_uri_path(experiment.artifact_location, run_id, "artifacts"),
            "params": {}, "tags": tag_map, "latest": {},
        }
        doc.update(index_fields(doc))
        self.client.index(self.ix.runs, run_id, doc, create=True)
        return run_from_doc(doc)

    def _run_doc(self, run_id: str) -> dict[str, Any]:
        _validate_run_id(run_id)
        found = self.client.get(self.ix.runs, run_id)
        if found is None:
            raise MlflowException(f"Run with id={run_id} not found", RESOURCE_DOES_NOT_EXIST)
        return found

    def _update_run(self, run_id: str, change: Callable[[dict[str, Any]], None], *, check_active: bool = True) -> dict[str, Any]:
        _validate_run_id(run_id)

        def checked(src: dict[str, Any]) -> None:
            if check_active:
                _check_active(src)
            change(src)
            src.update(index_fields(src))

        return self.client.update_with(self.ix.runs, run_id, checked, lambda: MlflowException(
            f"Run with id={run_id} not found", RESOURCE_DOES_NOT_EXIST))

    def get_run(self, run_id):
        return run_from_doc(self._run_doc(run_id)["_source"])

    def update_run_info(self, run_id, run_status, end_time, run_name):
        def change(src: dict[str, Any]) -> None:
            src["status"] = RunStatus.to_string(run_status)
            src["end_time"] = end_time
            if run_name:
                src["run_name"] = run_name
                src["tags"][MLFLOW_RUN_NAME] = run_name

        return run_info_from_doc(self._update_run(run_id, change))

    def delete_run(self, run_id):
        self._update_run(run_id, lambda s: s.update(lifecycle_stage=LifecycleStage.DELETED,
                                                     deleted_time=get_current_time_millis()), check_active=False)

    def restore_run(self, run_id):
        self._update_run(run_id, lambda s: s.update(lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None),
                         check_active=False)

    def _get_deleted_runs(self, older_than=0):
        cutoff = get_current_time_millis() - older_than
        query = {"bool": {"filter": [{"term": {"lifecycle_stage": LifecycleStage.DELETED}},
                                     {"range": {"deleted_time": {"lte": cutoff}}}]}}
        return [h["_id"] for h in self.client.scan(self.ix.runs, query, [{"run_id": "asc"}], source=False)]

    def _hard_delete_run(self, run_id):
        """For `mlflow gc`: the run and its metric history, gone for good (params, tags and inputs live in
        the run's document). Points first: an interrupted call leaves a deleted run that gc retries."""
        self._run_doc(run_id)
        self.client.delete_matching(self.ix.metrics, {"term": {"run_id": run_id}}, [{"seq": "asc"}])
        self.client.delete(self.ix.runs, run_id)

    def _hard_delete_experiment(self, experiment_id):
        """For `mlflow gc`, after it has hard-deleted the experiment's runs: the experiment, its name (free
        for reuse), its traces and spans, logged models and anything of it still left, so nothing is orphaned.
        The experiment's own document goes last, so an interrupted call can be repeated."""
        src = self._experiment_doc(experiment_id)["_source"]
        if src["lifecycle_stage"] != LifecycleStage.DELETED:
            raise MlflowException(f"Experiment {experiment_id} is not in the deleted lifecycle stage; only deleted "
                                  "experiments can be permanently deleted.", INVALID_PARAMETER_VALUE)
        eid = str(experiment_id)
        for rid in [h["_id"] for h in self.client.scan(self.ix.runs, {"term": {"experiment_id": eid}},
                                                          [{"run_id": "asc"}], source=False)]:
            self._hard_delete_run(rid)
        self._delete_traces(eid)
        for mid in [h["_id"] for h in self.client.scan(self.ix.logged_models, {"term": {"experiment_id": eid}},
                                                          [{"model_id": "asc"}], source=False)]:
            self._hard_delete_logged_model(mid)
        claim = self.client.get(self.ix.experiment_names, doc_id(src["name"]))
        if claim is not None and claim["_source"].get("experiment_id") == eid:
            self.client.delete(self.ix.experiment_names, doc_id(src["name"]))
        self.client.delete(self.ix.experiments, eid)

    # -- metrics, params, tags -------------------------------------------------------------
    def log_metric(self, run_id, metric):
        self.log_batch(run_id, [metric], [], [])

    def log_param(self, run_id, param):
        _validate_param(param.key, param.value)
        self.log_batch(run_id, [], [param], [])

    def set_tag(self, run_id, tag):
        _validate_tag_name(tag.key)
        self.log_batch(run_id, [], [], [tag])

    def delete_tag(self, run_id, key):
        def change(src: dict[str, Any]) -> None:
            if key not in src["tags"]:
                raise MlflowException(f"No tag with name: {key} in run with id {run_id}", RESOURCE_DOES_NOT_EXIST)
            del src["tags"][key]

        self._update_run(run_id, change)

    def log_batch(self, run_id, metrics, params, tags):
        _validate_run_id(run_id)
        metrics, params, tags = _validate_batch_log_data(metrics, params, tags)  # validates every metric too
        _validate_batch_log_limits(metrics, params, tags)
        _validate_param_keys_unique(params)
        found = self._run_doc(run_id)
        _check_active(found["_source"])
        _apply_batch(found["_source"], run_id, metrics, params, tags)  # a changed param fails before any write
        if metrics:
            # One bulk of points, never force-refreshed: a refresh per bulk makes a Lucene segment per
            # bulk, and on the first engine measured took 1,000,000-point ingest from 97,000 to 22,000 points/s.
            # Readers that may race a write refresh on demand (points_written, _see_recent_points).
            raise_item_errors(self.client.bulk(pack_lines(self.ix.metrics, run_id, metrics), refresh="false"))
        for _ in range(_CAS_ATTEMPTS):
            src = found["_source"]
            if metrics:
                src["points_written"] = get_current_time_millis()
            r = self.client.index(self.ix.runs, run_id, src, seq=(found["_seq_no"], found["_primary_term"]))
            if r.get("_status") != 409:
                self._log_model_metrics(run_id, src["experiment_id"], metrics)  # after the run write, like MLflow
                return
            found = self._run_doc(run_id)  # only the run doc lost the race: the points are in
            _check_active(found["_source"])
            _apply_batch(found["_source"], run_id, metrics, params, tags)
        raise MlflowException(f"Run {run_id} is being changed concurrently; retry", INVALID_STATE)

    def _see_recent_points(self, run_src: dict[str, Any]) -> None:
        """Make points written in the last minute searchable before reading them (read-your-writes).

        Skipped when this store already refreshed after that write (points_written is stamped after
        the points were acknowledged; a margin covers clock skew between servers)."""
        now = get_current_time_millis()
        written = int(run_src.get("points_written") or 0)
        if now - written >= _RECENT_WRITE_MS or written < self._metrics_refreshed_at - _CLOCK_MARGIN_MS:
            return
        self._metrics_refreshed_at = now
        self.client.refresh(self.ix.metrics)

    def _packs(self, run_ids: list[str], metric_key: str) -> Iterator[dict[str, Any]]:
        """The metric packs (documents) of one key of these runs, in write order."""
        query = {"bool": {"filter": [{"terms": {"run_id": run_ids}}, {"term": {"key": metric_key}}]}}
        for hit in self.client.scan(self.ix.metrics, query, [{"seq": "asc"}], page=_METRIC_DOCS_PER_PAGE):
            yield hit["_source"]

    def get_metric_history(self, run_id, metric_key, max_results=None, page_token=None):
        _validate_run_id(run_id)
        _validate_metric_name(metric_key)
        self._see_recent_points(self._run_doc(run_id)["_source"])
        metrics = history(run_id, metric_key, self._packs([run_id], metric_key))
        if max_results is None:
            offset = SearchUtils.parse_start_offset_from_page_token(page_token)
            return PagedList(metrics[offset:], None)
        page, token = SearchUtils.paginate(metrics, page_token, max_results)
        return PagedList(page, token)

    def get_metric_history_bulk(self, run_ids, metric_key, max_results):
        """Every run's history of one key in 2 requests (+ scroll pages): one mget of the runs, one
        search over their packs. Ordered as SqlAlchemyStore orders it: run id, then timestamp, step
        and value; run ids that do not exist are left out, as there."""
        from mlflow.entities.metric import MetricWithRunId

        _validate_metric_name(metric_key)
        ids = sorted({str(r) for r in run_ids})
        if not ids:
            return []
        runs = [d for d in self.client.mget(self.ix.runs, ids) if d is not None]
        for run in runs:
            self._see_recent_points(run["_source"])  # refreshes at most once
        found = [run["_id"] for run in runs]
        if not found:
            return []
        packs: dict[str, list[dict[str, Any]]] = {}
        for pack in self._packs(found, metric_key):
            packs.setdefault(pack["run_id"], []).append(pack)
        out: list[Any] = []
        for run_id in sorted(packs):
            points = sorted(history(run_id, metric_key, packs[run_id]), key=_bulk_order)
            out.extend(MetricWithRunId(m, run_id) for m in points)
            if max_results is not None and len(out) >= max_results:
                break
        return out if max_results is None else out[:max_results]

    def get_metric_history_bulk_interval(self, run_ids: list[str], metric_key: str, max_results: int,
                                         start_step: int | None, end_step: int | None) -> list[Any]:
        """Up to `max_results` points per run, evenly spaced over its points (in `[start_step, end_step]`)
        ordered by step, timestamp and value, the last point always kept: SqlAlchemyStore's sampling by row
        (MLflow 3.18). Several points of one step are several rows, as there. Runs are answered in the order
        asked; unknown run ids give no points. On an MLflow whose SqlAlchemyStore samples by distinct step,
        MLflow's own (AbstractStore) sampling answers, as SqlAlchemyStore's does there."""
        if not sql_store_samples_metric_rows():
            return super().get_metric_history_bulk_interval(run_ids, metric_key, max_results, start_step, end_step)
        if (start_step is None) != (end_step is None):
            raise MlflowException("Both start_step and end_step must be specified together, or neither may be "
                                  f"specified (got start_step={start_step!r}, end_step={end_step!r}).",
                                  INVALID_PARAMETER_VALUE)
        if not isinstance(max_results, int):
            raise MlflowException(f"Invalid value {max_results!r} for parameter 'max_results': an integer is "
                                  "required.", INVALID_PARAMETER_VALUE)
        per_run: dict[str, list[Any]] = {}
        for m in self.get_metric_history_bulk(run_ids, metric_key, None):
            if start_step is None or end_step is None or start_step <= m.step <= end_step:
                per_run.setdefault(m.run_id, []).append(m)
        out: list[Any] = []
        for run_id in run_ids:
            rows = sorted(per_run.get(str(run_id), []), key=_interval_order)
            out.extend(_evenly_spaced_rows(rows, max(1, max_results)))
        return out

    # -- inputs ----------------------------------------------------------------------------
    def log_inputs(self, run_id, datasets=None, models=None):
        _validate_run_id(run_id)
        if datasets is not None:
            if not isinstance(datasets, list):
                raise MlflowException(f"Argument 'datasets' should be a list, got '{type(datasets).__name__}'",
                                      INVALID_PARAMETER_VALUE)
            _validate_dataset_inputs(datasets)

        def change(src: dict[str, Any]) -> None:
            inputs = src.setdefault("inputs", {})
            have = {(d["name"], d["digest"]) for d in inputs.get("datasets") or []}
            for di in datasets or []:
                if (di.dataset.name, di.dataset.digest) not in have:
                    have.add((di.dataset.name, di.dataset.digest))
                    inputs.setdefault("datasets", []).append(dataset_input_to_doc(di))
            for m in models or []:
                if m.model_id not in (inputs.get("models") or []):
                    inputs.setdefault("models", []).append(m.model_id)

        self._update_run(run_id, change)

    def _search_datasets(self, experiment_ids):
        query = {"bool": {"filter": [{"terms": {"experiment_id": [str(e) for e in experiment_ids]}},
                                     {"exists": {"field": "dataset_kv"}}]}}
        seen: dict[tuple[str, str, str, str | None], None] = {}
        for h in self.client.scan(self.ix.runs, query, [{"run_id": "asc"}], source=["experiment_id", "inputs"]):
            for d in (h["_source"].get("inputs") or {}).get("datasets") or []:
                context = next((v for k, v in d.get("tags") or [] if k == MLFLOW_DATASET_CONTEXT), None)
                seen[(h["_source"]["experiment_id"], d["name"], d["digest"], context)] = None
                if len(seen) >= 1000:
                    break
        return [_DatasetSummary(experiment_id=e, name=n, digest=g, context=c) for e, n, g, c in list(seen)[:1000]]

    # -- search ----------------------------------------------------------------------------
    def _search_runs(self, experiment_ids, filter_string, run_view_type, max_results, order_by, page_token):
        """Candidates pre-filtered by the engine, then MLflow's own filter, sort and paging in memory.

        Whole run docs are fetched: MLflow's filter and sort need params, tags and latest metrics."""
        _check_max_results(max_results)
        validate_run_search(filter_string, order_by)
        parsed = SearchUtils.parse_search_filter(filter_string)
        query = _lifecycle_query(run_view_type)
        query["bool"]["filter"].append({"terms": {"experiment_id": [str(e) for e in experiment_ids]}})
        query["bool"]["filter"].extend(prefilter(parsed))
        found = self._search_runs_to_threshold(query, filter_string, order_by, max_results, page_token)
        if found is None:
            found = self._search_runs_in_engine_order(query, filter_string, order_by, max_results, page_token)
        if found is not None:
            return found
        hits = self.client.scan(self.ix.runs, query, [{"run_id": "asc"}], page=10_000)
        candidates = [run_from_doc(h["_source"]) for h in hits]
        ordered = SearchUtils.sort(SearchUtils.filter(candidates, filter_string), order_by)
        return SearchUtils.paginate(ordered, page_token, max_results)

    def _search_runs_in_engine_order(self, query, filter_string, order_by, max_results, page_token):
        """Runs ordered by indexed attributes (or MLflow's default order): the engine sorts, the store
        keeps MLflow's filter, and pages continue with `search_after` (see search_order). None when
        the order or the token is not one this path answers."""
        sort = engine_sort(order_by)
        if sort is None:
            return None
        usable, after = after_from_token(page_token)
        if not usable:
            return None
        page: list[tuple[Run, list[Any]]] = []
        batch = min(MAX_WINDOW, max(100, 2 * (max_results + 1)))
        while len(page) <= max_results:
            body: dict[str, Any] = {"query": query, "sort": sort, "size": batch, "track_total_hits": False}
            if after is not None:
                body["search_after"] = after
            hits = self.client.search(self.ix.runs, body).get("hits", {}).get("hits", [])
            for h in hits:
                run = run_from_doc(h["_source"])
                if SearchUtils.filter([run], filter_string):
                    page.append((run, h["sort"]))
                    if len(page) > max_results:
                        break
            if len(hits) < batch:
                break
            after = hits[-1]["sort"]
        token = token_after(page[max_results - 1][1]) if len(page) > max_results else None
        return [run for run, _ in page[:max_results]], token

    def _search_runs_to_threshold(self, query, filter_string, order_by, max_results, page_token):
        """Runs ordered by one metric: fetch only the candidates up to the page's last value (see
        search_threshold). None when that cannot answer exactly; the caller then scans."""
        order = metric_order(order_by)
        if order is None:
            return None
        offset = SearchUtils.parse_start_offset_from_page_token(page_token)
        need = offset + max_results + 1  # one more than the page: tells whether a next page exists
        if need > MAX_WINDOW:
            return None
        if self._values_agg_ignored:
            return None
        answer = self.client.search(self.ix.runs, values_body(query, order, need))
        if include_ignored(answer, order):
            self._values_agg_ignored = True
            _logger.info("%s ignores `include` in terms aggregations: run searches scan every candidate",
                         self.client.cfg.engine)
            return None
        reached = threshold(answer, need)
        if reached is None or reached[1] > MAX_WINDOW // 2:
            return None
        value, count = reached
        ids = run_ids_through(answer, value)
        if ids is not None:  # every run up to the threshold is listed: fetch exactly those
            docs = self.client.mget(self.ix.runs, ids)
            sources = [d["_source"] for d in docs if d is not None]
            if len(sources) < len(ids) or not all(still_within(s.get("metric_kv") or [], order, value) for s in sources):
                return None  # deleted or re-logged since the aggregation
        else:
            size = min(MAX_WINDOW, 2 * count + 10)  # more may have arrived since; a full answer means too many
            hits = self.client.search(self.ix.runs, {"query": within(query, order, value), "size": size,
                                                     "track_total_hits": False}).get("hits", {}).get("hits", [])
            if len(hits) >= size:
                return None
            sources = [h["_source"] for h in hits]
        candidates = [run_from_doc(src) for src in sources]
        ordered = SearchUtils.sort(SearchUtils.filter(candidates, filter_string), order_by)
        if len(ordered) < need:
            return None
        return SearchUtils.paginate(ordered, page_token, max_results)


# -- helpers ---------------------------------------------------------------------------------
def _check_max_results(max_results: Any) -> None:
    if not isinstance(max_results, int) or max_results < 1:
        raise MlflowException(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer",
            INVALID_PARAMETER_VALUE)
    if max_results > SEARCH_MAX_RESULTS_THRESHOLD:
        raise MlflowException(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at most "
            f"{SEARCH_MAX_RESULTS_THRESHOLD}", INVALID_PARAMETER_VALUE)


def _lifecycle_query(view_type: Any) -> dict[str, Any]:
    stages = LifecycleStage.view_type_to_stages(view_type)
    return {"bool": {"filter": [{"terms": {"lifecycle_stage": list(stages)}}]}}


def _check_active(src: dict[str, Any]) -> None:
    if src["lifecycle_stage"] != LifecycleStage.ACTIVE:
        raise MlflowException(
            f"The run {src['run_id']} must be in the 'active' state. Current state is {src['lifecycle_stage']}.",
            INVALID_PARAMETER_VALUE)


def _apply_batch(src: dict[str, Any], run_id: str, metrics: list[Metric], params: list[Any], tags: list[Any]) -> None:
    current = src.setdefault("params", {})
    for p in params:
        value = _str(p.value)
        if p.key in current and current[p.key] != value:
            raise MlflowException(
                f"Changing param values is not allowed. Param with key='{p.key}' was already logged with "
                f"value='{current[p.key]}' for run ID='{run_id}'. Attempted logging new value '{value}'.",
                INVALID_PARAMETER_VALUE)
        current[p.key] = value
    latest = src.setdefault("latest", {})
    best: dict[str, tuple[tuple[int, int, float], Metric]] = {}  # per key, the batch's latest point
    for m in metrics:
        order = (int(m.step), int(m.timestamp), sanitize_value(m.value)[1])
        if m.key not in best or order > best[m.key][0]:
            best[m.key] = (order, m)
    for key, (order, m) in best.items():
        old = latest.get(key)
        if old is None or order > latest_order(int(old[2]), int(old[1]), str(old[0])):
            latest[key] = [encode_value(m.value), order[1], order[0]]
    for t in tags:
        src.setdefault("tags", {})[t.key] = _str(t.value)
        if t.key == MLFLOW_RUN_NAME:
            src["run_name"] = _str(t.value)
    src.update(index_fields(src))


__all__ = ["EsTrackingStore", "Experiment", "Run", "RunInfo"]
