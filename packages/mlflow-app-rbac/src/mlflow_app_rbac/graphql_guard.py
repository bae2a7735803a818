"""What a GraphQL request touches: (kind, id) pairs needing READ, or a refusal.

Only the fields MLflow's schema has and we can check are allowed; every operation in the
document is checked (not only the one `operationName` picks).
"""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, OperationDefinitionNode, parse
from graphql.error import GraphQLError
from graphql.language import FragmentDefinitionNode
from graphql.utilities import value_from_ast_untyped

FREE_FIELDS = {"test", "testMutation", "__typename", "__schema", "__type"}
# top-level field -> (kind, input keys holding ids)
CHECKED_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mlflowGetExperiment": ("experiment", ("experimentId", "experiment_id")),
    "mlflowGetRun": ("run", ("runId", "run_id", "runUuid", "run_uuid")),
    "mlflowListArtifacts": ("run", ("runId", "run_id", "runUuid", "run_uuid")),
    "mlflowGetMetricHistoryBulkInterval": ("run", ("runIds", "run_ids")),
    "mlflowSearchRuns": ("experiment", ("experimentIds", "experiment_ids")),
    "mlflowSearchDatasets": ("experiment", ("experimentIds", "experiment_ids")),
}
# nested fields that reach other resources than their parent's experiment
ADMIN_ONLY_NESTED = {"modelVersions", "mlflowSearchModelVersions"}


class GraphQLDenied(Exception):
    pass


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


def _all_field_names(selection_set: Any, fragments: dict[str, FragmentDefinitionNode], depth: int = 0) -> set[str]:
    names: set[str] = set()
    for f in _fields(selection_set, fragments, depth):
        names.add(f.name.value)
        if depth < 20:
            names |= _all_field_names(f.selection_set, fragments, depth + 1)
    return names


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def requirements(body: Any, is_admin: bool) -> list[tuple[str, str]]:
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise GraphQLDenied("expected a JSON body with a 'query' string")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise GraphQLDenied("'variables' must be an object")
    try:
        doc = parse(body["query"])
    except GraphQLError as e:
        raise GraphQLDenied(f"unparsable query: {e.message}") from None
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    needs: list[tuple[str, str]] = []
    for op in doc.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        if not is_admin:
            nested = _all_field_names(op.selection_set, fragments) & ADMIN_ONLY_NESTED
            if nested:
                raise GraphQLDenied(f"field(s) {sorted(nested)} are for admins only")
        for field in _fields(op.selection_set, fragments):
            name = field.name.value
            if name in FREE_FIELDS:
                continue
            if name not in CHECKED_FIELDS:
                if is_admin:
                    continue
                raise GraphQLDenied(f"field {name!r} is not allowed")
            kind, keys = CHECKED_FIELDS[name]
            found = False
            for arg in field.arguments:
                if arg.name.value != "input":
                    continue
                value = value_from_ast_untyped(arg.value, variables)
                if not isinstance(value, dict):
                    raise GraphQLDenied(f"{name}: 'input' must be an object")
                for key in keys:
                    for ident in _ids(value.get(key)):
                        needs.append((kind, ident))
                        found = True
            if not found and not is_admin:
                raise GraphQLDenied(f"{name}: no {keys[0]!r} given")
    return needs
