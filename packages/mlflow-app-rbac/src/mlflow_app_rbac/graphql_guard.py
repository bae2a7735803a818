"""What a GraphQL request touches, how to narrow it, and how to filter its answer.

Only the fields MLflow's schema has and we can check are allowed; every operation in the
document is checked (not only the one `operationName` picks).

- Fields naming runs/experiments to read (`mlflowGetRun`...) need READ on each: `plan().needs`.
- Searches over experiments (`mlflowSearchRuns`, `mlflowSearchDatasets`) get their experiment ids
  narrowed to the readable ones (in the query literal or in the variables it uses).
- Model versions (`modelVersions` nested in runs, `mlflowSearchModelVersions`) belong to registered
  models, not to the run's experiment: every `modelVersions` selection gets one more field, the
  model `name` under an alias with a per-request nonce, so the answer says whose version each
  object is whatever the caller selected or aliased; `filter_response()` drops the versions of
  unreadable models and removes the alias before the answer leaves.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    NameNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    parse,
    print_ast,
)
from graphql.error import GraphQLError
from graphql.language import FragmentDefinitionNode, Visitor, visit
from graphql.utilities import value_from_ast_untyped

FREE_FIELDS = {"test", "testMutation", "__typename", "__schema", "__type"}
# top-level field -> (kind, input keys holding ids); every id needs READ
CHECKED_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mlflowGetExperiment": ("experiment", ("experimentId", "experiment_id")),
    "mlflowGetRun": ("run", ("runId", "run_id", "runUuid", "run_uuid")),
    "mlflowListArtifacts": ("run", ("runId", "run_id", "runUuid", "run_uuid")),
    "mlflowGetMetricHistoryBulkInterval": ("run", ("runIds", "run_ids")),
}
# top-level field -> input keys holding experiment ids, narrowed to the readable ones
NARROWED_FIELDS: dict[str, tuple[str, ...]] = {
    "mlflowSearchRuns": ("experimentIds", "experiment_ids"),
    "mlflowSearchDatasets": ("experimentIds", "experiment_ids"),
}
# top-level fields whose answer is filtered (model versions of readable models only)
FILTERED_FIELDS = {"mlflowSearchModelVersions"}
# fields whose objects are model versions, wherever they are nested
MODEL_VERSION_FIELDS = {"modelVersions"}
MARKER_PREFIX = "rbacModelName"


class GraphQLDenied(Exception):
    pass


@dataclass
class Plan:
    needs: list[tuple[str, str]] = field(default_factory=list)  # (kind, id) needing READ
    body: bytes | None = None  # the request to forward, when it had to change
    marker: str | None = None  # alias carrying the model name of every model version object


def new_marker() -> str:
    return f"{MARKER_PREFIX}{secrets.token_hex(6)}"


def _fields(selection_set: Any, fragments: dict[str, FragmentDefinitionNode], depth: int = 0) -> list[FieldNode]:
    if selection_set is None or depth > 20:
        return []
    out: list[FieldNode] = []
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            out.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            out += _fields(sel.selection_set, fragments, depth + 1)
        elif isinstance(sel, FragmentSpreadNode):
            frag = fragments.get(sel.name.value)
            if frag is None:
                raise GraphQLDenied(f"unknown fragment {sel.name.value!r}")
            out += _fields(frag.selection_set, fragments, depth + 1)
    return out


def _ids(value: Any) -> list[str]:
    if value is None or not isinstance(value, (list, str, int, float)):
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _input_arg(field_node: FieldNode) -> Any:
    for arg in field_node.arguments:
        if arg.name.value == "input":
            return arg
    return None


def _narrow(name: str, arg: Any, keys: tuple[str, ...], variables: dict[str, Any],
            keep: Callable[[list[str]], list[str]]) -> None:
    """Replace the experiment ids of one search by the readable ones, where the query holds them."""
    value = arg.value if arg is not None else None
    found: list[str] = []
    kept: list[str] = []
    if isinstance(value, VariableNode):
        given = variables.get(value.name.value)
        if not isinstance(given, dict):
            raise GraphQLDenied(f"{name}: 'input' must be an object")
        given = dict(given)
        for key in keys:
            if key in given:
                ids = _ids(given[key])
                found += ids
                given[key] = keep(ids)
                kept += given[key]
        variables[value.name.value] = given
    elif isinstance(value, ObjectValueNode):
        for obj_field in value.fields:
            if obj_field.name.value not in keys:
                continue
            inner = obj_field.value
            if isinstance(inner, VariableNode):
                ids = _ids(variables.get(inner.name.value))
                variables[inner.name.value] = keep(ids)
                kept += variables[inner.name.value]
            else:
                ids = _ids(value_from_ast_untyped(inner, variables))
                narrowed = keep(ids)
                obj_field.value = ListValueNode(values=tuple(StringValueNode(value=i) for i in narrowed))
                kept += narrowed
            found += ids
    else:
        raise GraphQLDenied(f"{name}: 'input' must be an object")
    if not found:
        raise GraphQLDenied(f"{name}: no {keys[0]!r} given")
    if not kept:
        raise GraphQLDenied(f"{name}: none of the experiments {sorted(set(found))[:20]} is readable")


class _MarkModelVersions(Visitor):
    """Adds `<marker>: name` to the selection of every model-version field."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.count = 0

    def leave_field(self, node: FieldNode, *_: Any) -> FieldNode | None:
        if node.name.value not in MODEL_VERSION_FIELDS:
            return None
        self.count += 1
        extra = FieldNode(alias=NameNode(value=self.marker), name=NameNode(value="name"), arguments=(),
                          directives=(), selection_set=None)
        selections = tuple(node.selection_set.selections) if node.selection_set else ()
        return FieldNode(alias=node.alias, name=node.name, arguments=node.arguments, directives=node.directives,
                         selection_set=SelectionSetNode(selections=(*selections, extra)))


def plan(body: Any, is_admin: bool, keep_experiments: Callable[[list[str]], list[str]] | None = None,
         marker: str | None = None) -> Plan:
    """Check a GraphQL request body (already JSON-decoded).

    `keep_experiments` narrows a list of experiment ids to the readable ones (None: all are);
    `marker` is given when model versions must be filtered from the answer (None: all readable).
    """
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise GraphQLDenied("expected a JSON body with a 'query' string")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise GraphQLDenied("'variables' must be an object")
    variables = dict(variables)
    try:
        doc = parse(body["query"])
    except GraphQLError as e:
        raise GraphQLDenied(f"unparsable query: {e.message}") from None
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    out = Plan()
    changed = False
    for op in doc.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        for field_node in _fields(op.selection_set, fragments):
            name = field_node.name.value
            if name in FREE_FIELDS or name in FILTERED_FIELDS:
                continue
            if name in NARROWED_FIELDS:
                if keep_experiments is not None:
                    _narrow(name, _input_arg(field_node), NARROWED_FIELDS[name], variables, keep_experiments)
                    changed = True
                continue
            if name not in CHECKED_FIELDS:
                if is_admin:
                    continue
                raise GraphQLDenied(f"field {name!r} is not allowed")
            kind, keys = CHECKED_FIELDS[name]
            found = False
            arg = _input_arg(field_node)
            if arg is not None:
                value = value_from_ast_untyped(arg.value, variables)
                if not isinstance(value, dict):
                    raise GraphQLDenied(f"{name}: 'input' must be an object")
                for key in keys:
                    for ident in _ids(value.get(key)):
                        out.needs.append((kind, ident))
                        found = True
            if not found and not is_admin:
                raise GraphQLDenied(f"{name}: no {keys[0]!r} given")
    if marker is not None:
        visitor = _MarkModelVersions(marker)
        doc = visit(doc, visitor)
        if visitor.count:
            out.marker = marker
            changed = True
    if changed:
        assert isinstance(doc, DocumentNode)
        new_body = {k: v for k, v in body.items() if k not in ("query", "variables")}
        new_body["query"] = print_ast(doc)
        new_body["variables"] = variables
        out.body = json.dumps(new_body).encode()
    return out


def requirements(body: Any, is_admin: bool) -> list[tuple[str, str]]:
    """(kind, id) pairs needing READ, with every search id among them (no narrowing)."""
    return plan(body, is_admin).needs


def _filter(value: Any, marker: str, can_read: Callable[[str], bool]) -> tuple[Any, bool]:
    """(filtered value, keep?) for one node of the answer's `data` tree."""
    if isinstance(value, list):
        kept = []
        for item in value:
            new, keep = _filter(item, marker, can_read)
            if keep:
                kept.append(new)
        return kept, True
    if isinstance(value, dict):
        keep = True
        if marker in value:
            model = value[marker]
            keep = isinstance(model, str) and can_read(model)
        out = {}
        for k, v in value.items():
            if k == marker:
                continue
            new, keep_child = _filter(v, marker, can_read)
            out[k] = new if keep_child else None
        return out, keep
    return value, True


def filter_response(status: int, body: bytes, marker: str, can_read_model: Callable[[str], bool]) -> bytes:
    """The answer without the model versions the caller may not read (and without the marker)."""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        answer = None
    if not isinstance(answer, dict):
        if status >= 400 and marker.encode() not in body:
            return body
        return json.dumps({"data": None, "errors": ["rbac: the GraphQL answer could not be checked"]}).encode()
    data, keep = _filter(answer.get("data"), marker, can_read_model)
    answer["data"] = data if keep else None
    return json.dumps(answer).encode()
