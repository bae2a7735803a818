"""Logged models of the tracking store: create, get, search, finalize, tags, params, metrics,
delete, and run outputs (`log_outputs`).

Layout: one doc per logged model (tags and params inside, in `enabled: false` objects, plus
`key<SEP>value` keyword arrays for the engine pre-filter) and one doc per logged-model metric point
whose id is MLflow's primary key (model, key, timestamp, step, run), so a retried write never
duplicates. Run outputs live in the run doc (`inputs.model_outputs`), so get_run stays one GET.

Search parses MLflow's own grammar (`search_logged_model_utils.parse_filter_string`) and evaluates
it with the semantics of MLflow's SqlAlchemyStore on SQLite, which is the reference: case-sensitive
LIKE, a NULL never matches (not even `!=`), integer columns (`status`, `experiment_id`) compared
with SQLite's type affinity, `status` compared by name and a metric filtered and ordered by its latest
value (highest step, then timestamp: MLflow 3.18's fixes), nulls last in every ordering, ties broken
by creation time (newest first) then model id. Where SqlAlchemyStore crashes on bad input (INTERNAL_ERROR) this store
answers INVALID_PARAMETER_VALUE with a message naming the bad value.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from mlflow.entities import LoggedModel, LoggedModelStatus, Metric
from mlflow.entities.lifecycle_stage import LifecycleStage
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST, INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT
from mlflow.utils.mlflow_tags import MLFLOW_LOGGED_MODELS
from mlflow.utils.search_utils import SearchLoggedModelsPaginationToken
from mlflow.utils.time import get_current_time_millis
from mlflow.utils.uri import append_to_uri_path

from mlflow_store_es.client import dumps
from mlflow_store_es.codec import doc_id, sanitize_value
from mlflow_store_es.mlflow_compat import _generate_random_name, _validate_logged_model_name, _validate_tag
from mlflow_store_es.search_pushdown import LONG, SEP, kv

MODELS_FOLDER_NAME = "models"
ARTIFACTS_FOLDER_NAME = "artifacts"
_CHUNK = 1000  # model ids per terms query / mget

# SqlLoggedModel's columns (what a filter or order_by attribute may name) -> field of our doc
_COLUMNS = {
    "model_id": "model_id", "experiment_id": "experiment_id", "name": "name",
    "artifact_location": "artifact_location", "creation_timestamp_ms": "creation_timestamp",
    "last_updated_timestamp_ms": "last_updated_timestamp", "status": "status",
    "lifecycle_stage": "lifecycle_stage", "model_type": "model_type", "source_run_id": "source_run_id",
    "status_message": "status_message",
}
_ALIASES = {"creation_time": "creation_timestamp_ms", "creation_timestamp": "creation_timestamp_ms",
            "last_updated_timestamp": "last_updated_timestamp_ms"}
_INTEGER_COLUMNS = {"experiment_id", "status"}  # INTEGER in SQL but compared with string operators
_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


def _not_found(model_id: str) -> MlflowException:
    return MlflowException(f"Logged model with ID '{model_id}' not found.", RESOURCE_DOES_NOT_EXIST)


def _invalid(message: str) -> MlflowException:
    return MlflowException(message, INVALID_PARAMETER_VALUE)


def _str(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _index_fields(src: dict[str, Any]) -> dict[str, list[str]]:
    return {"tag_kv": [kv(k, v) for k, v in (src.get("tags") or {}).items()],
            "param_kv": [kv(k, v) for k, v in (src.get("params") or {}).items()]}


def _metric_doc_id(model_id: str, key: str, timestamp: int, step: int, run_id: str | None) -> str:
    return doc_id("logged-model-metric", model_id, key, int(timestamp), int(step), run_id or "")


def _metric_from_source(s: dict[str, Any]) -> Metric:
    return Metric(key=s["key"], value=float(s["num"]), timestamp=int(s["timestamp"]), step=int(s["step"]),
                  model_id=s["model_id"], dataset_name=s.get("dataset_name"),
                  dataset_digest=s.get("dataset_digest"), run_id=s.get("run_id"))


def model_from_doc(src: dict[str, Any], metrics: list[Metric] | None) -> LoggedModel:
    return LoggedModel(
        experiment_id=src["experiment_id"], model_id=src["model_id"], name=src["name"],
        artifact_location=src["artifact_location"], creation_timestamp=src["creation_timestamp"],
        last_updated_timestamp=src["last_updated_timestamp"], model_type=src.get("model_type"),
        source_run_id=src.get("source_run_id"), status=int(src["status"]),
        status_message=src.get("status_message"), tags=dict(src.get("tags") or {}) or None,
        params=dict(src.get("params") or {}) or None, metrics=metrics or None,
    )


def _status_int(status: Any) -> int:
    if isinstance(status, LoggedModelStatus):
        return status.to_int()
    if isinstance(status, str) and status in LoggedModelStatus.__members__:
        return LoggedModelStatus[status].to_int()
    allowed = ", ".join(LoggedModelStatus.__members__)
    raise _invalid(f"Invalid logged model status {status!r}: expected a LoggedModelStatus ({allowed}).")


# -- SQL (SQLite) comparison semantics ---------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern[str]:
    out = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(out, re.DOTALL)


def _ascii_lower(s: str) -> str:
    return s.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _like(text: str, pattern: Any, fold: bool) -> bool:
    if not isinstance(pattern, str):
        raise _invalid(f"LIKE/ILIKE needs a string pattern, got {pattern!r}")
    if fold:
        text, pattern = _ascii_lower(text), _ascii_lower(pattern)
    return _like_regex(pattern).fullmatch(text) is not None


def _affine(value: Any) -> Any:
    """SQLite's INTEGER affinity applied to a literal compared with an integer column."""
    if isinstance(value, str) and _NUMBER.match(value):
        number = float(value)
        return int(number) if number.is_integer() else number
    return value


def _as_text(value: Any) -> Any:
    """TEXT affinity applied to a literal compared with a text column."""
    return value if isinstance(value, str) or value is None else str(value)


def _compare(lhs: Any, op: str, value: Any, *, integer_column: bool = False, numeric: bool = False) -> bool:
    """`lhs <op> value` as SQLite answers it; a NULL lhs never matches."""
    if lhs is None:
        return False
    if numeric:
        return bool({"<": lhs < value, "<=": lhs <= value, ">": lhs > value, ">=": lhs >= value,
                     "=": lhs == value, "!=": lhs != value}[op])
    if op in ("LIKE", "ILIKE"):
        return _like(str(lhs), value, op == "ILIKE")

    def equal(v: Any) -> bool:
        if integer_column:  # an integer never equals text that does not read as a number
            v = _affine(v)
            return isinstance(v, (int, float)) and lhs == v
        return bool(lhs == _as_text(v))

    if op in ("IN", "NOT IN"):
        values = value if isinstance(value, (tuple, list)) else (value,)
        hit = any(equal(v) for v in values)
        return hit if op == "IN" else not hit
    if op == "=":
        return equal(value)
    if op == "!=":
        return not equal(value)
    raise _invalid(f"Invalid comparison operator {op!r}")


# -- filters and ordering ----------------------------------------------------------------------
class _Model:
    """One candidate during a search: its doc and (when needed) its metric points."""

    __slots__ = ("metrics", "src")

    def __init__(self, src: dict[str, Any]) -> None:
        self.src = src
        self.metrics: list[Metric] = []

    def column(self, name: str) -> Any:
        value = self.src.get(_COLUMNS[name])
        if value is not None and name in _INTEGER_COLUMNS:
            return int(value)
        return value


def _dataset_match(metric: Metric, datasets: list[dict[str, Any]]) -> bool:
    # SqlAlchemyStore compares the digest whenever the key is present; a None digest means IS NULL
    return any(metric.dataset_name == d["dataset_name"]
               and ("dataset_digest" not in d or metric.dataset_digest == d["dataset_digest"])
               for d in datasets)


def _parse_filter(filter_string: str | None) -> list[Any]:
    import dataclasses

    from mlflow.utils.search_logged_model_utils import EntityType, parse_filter_string

    try:
        comparisons = parse_filter_string(filter_string)
    except MlflowException:
        raise
    except (ValueError, SyntaxError, TypeError) as e:
        raise _invalid(f"Invalid filter string {filter_string!r}: {e}") from None
    out = []
    for comp in comparisons:
        if comp.entity.type == EntityType.ATTRIBUTE and comp.entity.key not in _COLUMNS:
            raise _invalid(f"Invalid attribute {comp.entity.key!r} in filter string {filter_string!r}. "
                           f"Allowed attributes: {', '.join(sorted(set(_COLUMNS) | set(_ALIASES)))}.")
        if comp.entity.type == EntityType.ATTRIBUTE and comp.entity.key == "status":
            comp = dataclasses.replace(comp, value=_status_filter_value(comp.op, comp.value))
        out.append(comp)
    return out


def _status_filter_value(op: str, value: Any) -> Any:
    """A status is compared by its name (`status = 'READY'`), as SqlAlchemyStore does from MLflow 3.18."""
    if op not in ("=", "!=", "IN", "NOT IN"):
        raise _invalid(f"Invalid comparison operator for status: {op}")
    values = value if op in ("IN", "NOT IN") else (value,)
    try:
        statuses = [LoggedModelStatus(v).to_int() for v in values]
    except ValueError:
        raise _invalid(f"Unknown model status in filter: {value!r}") from None
    return statuses if op in ("IN", "NOT IN") else statuses[0]


def _latest_point(points: list[Metric]) -> Metric | None:
    """The point MLflow reads as a metric's value: highest step, then timestamp, then value (MLflow 3.18's
    SqlAlchemyStore, and how run metrics have always picked their latest value)."""
    return max(points, key=lambda m: (m.step, m.timestamp, m.value)) if points else None


def _clause_matches(model: _Model, comp: Any, datasets: list[dict[str, Any]] | None) -> bool:
    from mlflow.utils.search_logged_model_utils import EntityType

    kind, key, op, value = comp.entity.type, comp.entity.key, comp.op, comp.value
    if kind == EntityType.ATTRIBUTE:
        numeric = key in ("creation_timestamp_ms", "last_updated_timestamp_ms")
        return _compare(model.column(key), op, value, integer_column=key in _INTEGER_COLUMNS, numeric=numeric)
    if kind == EntityType.METRIC:  # the latest value on the datasets, as `order_by` reads it
        latest = _latest_point([m for m in model.metrics if m.key == key and (not datasets or _dataset_match(m, datasets))])
        return latest is not None and _compare(latest.value, op, value, numeric=True)
    entries = model.src.get("params" if kind == EntityType.PARAM else "tags") or {}
    return key in entries and _compare(entries[key], op, value)


def _prefilter(comparisons: list[Any]) -> list[dict[str, Any]]:
    """Engine clauses that keep a superset of the matches (exact string equality only)."""
    from mlflow.utils.search_logged_model_utils import EntityType

    out: list[dict[str, Any]] = []
    for comp in comparisons:
        if comp.op != "=" or not isinstance(comp.value, str) or len(comp.value) > 8000:
            continue
        if comp.entity.type in (EntityType.PARAM, EntityType.TAG):
            field = "param_kv" if comp.entity.type == EntityType.PARAM else "tag_kv"
            out.append({"terms": {field: [kv(comp.entity.key, comp.value), f"{comp.entity.key}{SEP}{LONG}"]}})
        elif comp.entity.type == EntityType.ATTRIBUTE and comp.entity.key in (
                "name", "model_id", "model_type", "source_run_id"):
            out.append({"term": {comp.entity.key: comp.value}})
    return out


class _Order:
    __slots__ = ("ascending", "column", "dataset_digest", "dataset_name", "metric")

    def __init__(self, ob: Any) -> None:
        if not isinstance(ob, dict):
            raise _invalid(f"Invalid order_by {ob!r}: each clause must be a dict with a 'field_name'.")
        field = ob.get("field_name")
        if not isinstance(field, str) or not field:
            raise _invalid(f"Invalid order_by {ob!r}: 'field_name' must be specified.")
        self.ascending = bool(ob.get("ascending", True))
        self.column: str | None = None
        self.metric: str | None = None
        self.dataset_name = ob.get("dataset_name") or None
        self.dataset_digest = ob.get("dataset_digest") or None
        if "." in field:
            entity, name = field.split(".", 1)
            if entity != "metrics":
                raise _invalid(f"Invalid order by field name: {field}. Only metrics are supported.")
            self.metric = name
        else:
            column = _ALIASES.get(field, field)
            if column not in _COLUMNS:
                raise _invalid(f"Invalid order by field name: {field}")
            self.column = column

    def value(self, model: _Model, datasets: list[dict[str, Any]] | None) -> Any:
        if self.column is not None:
            return model.column(self.column)
        points = [m for m in model.metrics if m.key == self.metric and (not datasets or _dataset_match(m, datasets))
                  and (self.dataset_name is None or m.dataset_name == self.dataset_name)
                  and (self.dataset_digest is None or m.dataset_digest == self.dataset_digest)]
        latest = _latest_point(points)
        return None if latest is None else latest.value


def _sort(models: list[_Model], orders: list[_Order], datasets: list[dict[str, Any]] | None) -> list[_Model]:
    """Nulls last; a metric by its latest point on the search's `datasets` and the clause's own dataset."""
    keys = list(orders)
    if not any(o.column == "creation_timestamp_ms" for o in keys):
        keys.append(_Order({"field_name": "creation_timestamp", "ascending": False}))
    if not any(o.column == "model_id" for o in keys):
        keys.append(_Order({"field_name": "model_id"}))

    values = {id(m): [order.value(m, datasets) for order in keys] for m in models}  # once per model, not per comparison

    def cmp(a: _Model, b: _Model) -> int:
        for order, x, y in zip(keys, values[id(a)], values[id(b)], strict=True):
            if x is None or y is None:
                if x is None and y is None:
                    continue
                return 1 if x is None else -1  # nulls last in both directions
            if x != y:
                return (-1 if x < y else 1) * (1 if order.ascending else -1)
        return 0

    return sorted(models, key=functools.cmp_to_key(cmp))


def _page_offset(page_token: str | None, experiment_ids: list[str], filter_string: str | None,
                 order_by: list[Any] | None) -> int:
    if not page_token:
        return 0
    try:
        token = SearchLoggedModelsPaginationToken.decode(page_token)
        offset = int(token.offset)
    except MlflowException:
        raise
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
        raise _invalid(f"Invalid page token {page_token[:100]!r}") from None
    token.validate(experiment_ids, filter_string, order_by)
    if offset < 0:
        raise _invalid(f"Invalid page token {page_token[:100]!r}")
    return offset


def _check_max_results(max_results: Any) -> int:
    if max_results is None or max_results == 0:
        return SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 0:
        raise _invalid(f"Invalid value {max_results!r} for parameter 'max_results' supplied. "
                       "It must be a positive integer")
    return max_results


def _experiment_ints(experiment_ids: Iterable[Any]) -> list[str]:
    out = []
    for e in experiment_ids:
        try:
            out.append(str(int(e)))
        except (ValueError, TypeError):
            raise _invalid(f"Invalid experiment ID '{e}'. Experiment ID must be a valid integer.") from None
    return out


class LoggedModelsMixin:
    """Mixed into EsTrackingStore (which provides `client`, `ix`, `_run_doc`, `_update_run`, ...)."""

    client: Any
    ix: Any
    get_experiment: Callable[..., Any]
    _update_run: Callable[..., Any]

    # -- single models -------------------------------------------------------------------------
    def create_logged_model(self, experiment_id, name=None, source_run_id=None, tags=None, params=None,
                            model_type=None):
        _validate_logged_model_name(name)
        experiment = self.get_experiment(_experiment_ints([experiment_id])[0])
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise _invalid(f"The experiment {experiment_id} must be in the 'active' state. "
                           f"Current state is {experiment.lifecycle_stage}.")
        model_id = f"m-{uuid.uuid4().hex}"
        param_map: dict[str, str] = {}
        for p in params or []:
            if p.key in param_map:
                raise MlflowException(f"Duplicate param key {p.key!r} for logged model {name!r}.", BAD_REQUEST)
            param_map[p.key] = _str(p.value)
        now = get_current_time_millis()
        src = {
            "model_id": model_id, "experiment_id": str(experiment.experiment_id),
            "name": name or _generate_random_name(), "source_run_id": source_run_id, "model_type": model_type,
            "status": LoggedModelStatus.PENDING.to_int(), "status_message": None,
            "artifact_location": append_to_uri_path(experiment.artifact_location, MODELS_FOLDER_NAME, model_id,
                                                    ARTIFACTS_FOLDER_NAME),
            "creation_timestamp": now, "last_updated_timestamp": now, "lifecycle_stage": LifecycleStage.ACTIVE,
            "deleted_time": None, "tags": {t.key: _str(t.value) for t in tags or []}, "params": param_map,
        }
        src.update(_index_fields(src))
        self.client.index(self.ix.logged_models, model_id, src, create=True)
        return model_from_doc(src, None)

    def _model_doc(self, model_id: str) -> dict[str, Any]:
        found = self.client.get(self.ix.logged_models, model_id) if isinstance(model_id, str) and model_id else None
        if found is None:
            raise _not_found(model_id)
        return found["_source"]

    def _update_model(self, model_id: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        if not isinstance(model_id, str) or not model_id:
            raise _not_found(model_id)

        def apply(src: dict[str, Any]) -> None:
            change(src)
            src.update(_index_fields(src))

        return self.client.update_with(self.ix.logged_models, model_id, apply, lambda: _not_found(model_id))

    def get_logged_model(self, model_id, allow_deleted=False):
        src = self._model_doc(model_id)
        if not allow_deleted and src["lifecycle_stage"] == LifecycleStage.DELETED:
            raise _not_found(model_id)
        return model_from_doc(src, self._model_metrics([model_id]).get(model_id))

    def log_logged_model_params(self, model_id, params):
        def change(src: dict[str, Any]) -> None:
            current = src.setdefault("params", {})
            for p in params or []:
                if p.key in current:
                    raise MlflowException(f"Param {p.key!r} was already logged for logged model {model_id!r}; "
                                          "logged model params cannot be changed.", BAD_REQUEST)
                current[p.key] = _str(p.value)

        self._update_model(model_id, change)

    def finalize_logged_model(self, model_id, status):
        code = _status_int(status)

        def change(src: dict[str, Any]) -> None:
            src.update(status=code, last_updated_timestamp=get_current_time_millis())

        src = self._update_model(model_id, change)
        return model_from_doc(src, self._model_metrics([model_id]).get(model_id))

    def set_logged_model_tags(self, model_id, tags):
        values = {t.key: _str(t.value) for t in tags or []}  # a repeated key keeps its last value
        self._update_model(model_id, lambda src: src.setdefault("tags", {}).update(values))

    def delete_logged_model_tag(self, model_id, key):
        def change(src: dict[str, Any]) -> None:
            if key not in (src.get("tags") or {}):
                raise MlflowException(f"No tag with key {key!r} found for model with ID {model_id!r}.",
                                      RESOURCE_DOES_NOT_EXIST)
            del src["tags"][key]

        self._update_model(model_id, change)

    def delete_logged_model(self, model_id):
        def change(src: dict[str, Any]) -> None:
            now = get_current_time_millis()
            src.update(lifecycle_stage=LifecycleStage.DELETED, last_updated_timestamp=now, deleted_time=now)

        self._update_model(model_id, change)

    def _get_deleted_logged_models(self, older_than=0):
        cutoff = get_current_time_millis() - older_than
        query = {"bool": {"filter": [{"term": {"lifecycle_stage": LifecycleStage.DELETED}},
                                     {"range": {"last_updated_timestamp": {"lte": cutoff}}}]}}
        return [h["_id"] for h in self.client.scan(self.ix.logged_models, query, [{"model_id": "asc"}], source=False)]

    def _hard_delete_logged_model(self, model_id):
        self._model_doc(model_id)
        self.client.delete_matching(self.ix.logged_model_metrics, {"term": {"model_id": model_id}}, [{"seq": "asc"}])
        self.client.delete(self.ix.logged_models, model_id)

    # -- metrics -------------------------------------------------------------------------------
    def _model_metrics(self, model_ids: list[str]) -> dict[str, list[Metric]]:
        out: dict[str, list[Metric]] = {}
        for start in range(0, len(model_ids), _CHUNK):
            query = {"terms": {"model_id": model_ids[start:start + _CHUNK]}}
            for h in self.client.scan(self.ix.logged_model_metrics, query, [{"seq": "asc"}]):
                out.setdefault(h["_source"]["model_id"], []).append(_metric_from_source(h["_source"]))
        for points in out.values():
            points.sort(key=lambda m: (m.key, m.timestamp, m.step, m.run_id or "", m.dataset_name or ""))
        return out

    def _log_model_metrics(self, run_id: str, experiment_id: str, metrics: list[Metric]) -> None:
        """Metrics of a batch that carry a model_id also become logged-model metrics (all or none)."""
        docs: dict[str, dict[str, Any]] = {}
        for m in metrics:
            if m.model_id is None:
                continue
            _, value = sanitize_value(m.value)
            did = _metric_doc_id(m.model_id, m.key, m.timestamp, m.step, run_id)
            doc = {"model_id": m.model_id, "run_id": run_id, "key": m.key, "step": int(m.step),
                   "timestamp": int(m.timestamp), "value": repr(value), "num": value,
                   "dataset_name": m.dataset_name, "dataset_digest": m.dataset_digest,
                   "experiment_id": str(experiment_id), "seq": did}
            if did in docs and _point(docs[did]) != _point(doc):
                raise _conflict(m)
            docs[did] = doc
        if not docs:
            return
        model_ids = sorted({d["model_id"] for d in docs.values()})
        for mid, found in zip(model_ids, self.client.mget(self.ix.logged_models, model_ids), strict=True):
            if found is None:
                raise MlflowException(f"Cannot log metrics to logged model {mid!r}: no such logged model.",
                                      BAD_REQUEST)
        ids = list(docs)
        for did, found in zip(ids, self.client.mget(self.ix.logged_model_metrics, ids), strict=True):
            if found is not None:
                if _point(found["_source"]) != _point(docs[did]):
                    s = docs[did]
                    raise _conflict(Metric(s["key"], s["num"], s["timestamp"], s["step"], s["model_id"]))
                del docs[did]  # the same point again: nothing to write
        lines: list[str] = []
        for did, doc in docs.items():
            lines += [dumps({"create": {"_index": self.ix.logged_model_metrics, "_id": did}}), dumps(doc)]
        for res in self.client.bulk(lines) if lines else []:
            status = int(res.get("status", 200))
            if status >= 300 and status != 409:  # 409: a concurrent writer stored this point first
                err = res.get("error") or {}
                reason = err.get("reason", "") if isinstance(err, dict) else str(err)
                raise self.client.translate_status(status, str(err.get("type", "error")) if isinstance(err, dict)
                                                   else "error", reason)

    # -- run outputs and the legacy model history ----------------------------------------------
    def log_outputs(self, run_id, models):
        outputs = list(models or [])

        def change(src: dict[str, Any]) -> None:
            current = src.setdefault("inputs", {}).setdefault("model_outputs", [])
            seen = {model_id for model_id, _step in current}
            for out in outputs:
                if out.model_id in seen:  # SqlAlchemyStore: one output edge per (run, model)
                    raise MlflowException(f"Model {out.model_id!r} is already an output of run {run_id!r}.",
                                          BAD_REQUEST)
                seen.add(out.model_id)
                current.append([out.model_id, int(out.step)])

        self._update_run(run_id, change)

    def record_logged_model(self, run_id, mlflow_model):
        from mlflow.models import Model

        if not isinstance(mlflow_model, Model):
            raise _invalid(f"Argument 'mlflow_model' should be mlflow.models.Model, got '{type(mlflow_model)}'")
        model_dict = mlflow_model.get_tags_dict()

        def change(src: dict[str, Any]) -> None:
            tags = src.setdefault("tags", {})
            history = json.loads(tags[MLFLOW_LOGGED_MODELS]) if MLFLOW_LOGGED_MODELS in tags else []
            value = json.dumps([*history, model_dict])
            _validate_tag(MLFLOW_LOGGED_MODELS, value)
            tags[MLFLOW_LOGGED_MODELS] = value

        self._update_run(run_id, change)

    # -- search --------------------------------------------------------------------------------
    def search_logged_models(self, experiment_ids, filter_string=None, datasets=None, max_results=None,
                             order_by=None, page_token=None):
        from mlflow.utils.search_logged_model_utils import EntityType

        if datasets and not all(isinstance(d, dict) and d.get("dataset_name") for d in datasets):
            raise _invalid("`dataset_name` in the `datasets` clause must be specified.")
        experiment_ids = list(experiment_ids or [])
        offset = _page_offset(page_token, experiment_ids, filter_string, order_by)
        max_results = _check_max_results(max_results)
        comparisons = _parse_filter(filter_string)
        orders = [_Order(ob) for ob in order_by or []]
        exp_ids = _experiment_ints(experiment_ids)

        query = {"bool": {"filter": [{"terms": {"experiment_id": exp_ids}}, *_prefilter(comparisons)],
                          "must_not": [{"term": {"lifecycle_stage": LifecycleStage.DELETED}}]}}
        candidates = [_Model(h["_source"]) for h in
                      self.client.scan(self.ix.logged_models, query, [{"model_id": "asc"}], page=10_000)]
        has_metric_filter = any(c.entity.type == EntityType.METRIC for c in comparisons)
        need_metrics = bool(datasets) or has_metric_filter or any(o.metric for o in orders)
        if need_metrics:
            self._attach_metrics(candidates)
        if datasets and not has_metric_filter:
            candidates = [c for c in candidates if any(_dataset_match(m, datasets) for m in c.metrics)]
        matched = [c for c in candidates if all(_clause_matches(c, comp, datasets) for comp in comparisons)]
        ordered = _sort(matched, orders, datasets)
        page = ordered[offset:offset + max_results]
        if not need_metrics:
            self._attach_metrics(page)
        token = None
        if len(ordered) > offset + max_results:
            token = SearchLoggedModelsPaginationToken(offset=offset + max_results, experiment_ids=experiment_ids,
                                                      filter_string=filter_string, order_by=order_by).encode()
        return PagedList([model_from_doc(m.src, m.metrics) for m in page], token)

    def _attach_metrics(self, models: list[_Model]) -> None:
        metrics = self._model_metrics([m.src["model_id"] for m in models])
        for m in models:
            m.metrics = metrics.get(m.src["model_id"], [])


def _point(src: dict[str, Any]) -> tuple[Any, ...]:
    return (float(src["num"]), src.get("dataset_name"), src.get("dataset_digest"))


def _conflict(m: Metric) -> MlflowException:
    return MlflowException(
        f"Metric {m.key!r} of logged model {m.model_id!r} was already logged at timestamp {m.timestamp}, "
        f"step {m.step} by this run with a different value or dataset.", BAD_REQUEST)


__all__ = ["LoggedModelsMixin", "model_from_doc"]
