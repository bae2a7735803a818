"""The skills registry of MLflow 3.18 (`SkillRegistryMixin`) on Elasticsearch/OpenSearch.

Layout (skill_schema.py): one doc per skill (tags, aliases, a random `skill_uid` per incarnation)
and one doc per version keyed by (skill_uid, version). Answers follow MLflow 3.18's
`SqlAlchemySkillRegistryMixin` on SQLite: the same validators and messages, filters parsed by
`SearchSkillUtils`/`SearchSkillVersionUtils` and evaluated in memory with SQLite's semantics
(`traces.compare`: case-sensitive LIKE, ASCII-only ILIKE, NULL never matches), orderings parsed by
MLflow's own `parse_skill_registry_order_by` with SQLite's NULL order (NULLs first ascending), and
MLflow's query-bound page tokens.

Concurrency without transactions:
- version numbers are allocated as max + 1 and written create-only under a deterministic id, so
  two writers never get the same number (the loser moves to the next one);
- a version written under a skill that was deleted meanwhile is found orphaned by its writer's
  re-check, removed, and the call fails with RESOURCE_CONFLICT, as SQL's foreign key would;
- `bulk_register_skills` writes its new skills and versions marked with a batch id, and makes
  them visible at once by writing one batch doc (the commit point); a failed write deletes what
  the batch wrote, and a batch cut off before its commit stays invisible.

On an MLflow without the skills registry (3.0 - 3.17), `SkillsMixin` is an empty class.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_CONFLICT,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.utils.time import get_current_time_millis

from mlflow_store_es.client import dumps
from mlflow_store_es.codec import doc_id
from mlflow_store_es.mlflow_compat import (
    HAS_SKILL_REGISTRY,
    _validate_icon_payloads,
    _validate_model_alias_name_reserved,
    _validate_organization_name,
    _validate_skill_alias_name,
    _validate_skill_name,
    _validate_skill_status_transition,
    _validate_skill_tag,
    _validate_skill_version,
    _validate_skill_version_source,
    _validate_skill_version_status,
)
from mlflow_store_es.traces import compare

if HAS_SKILL_REGISTRY:
    from mlflow.store.tracking import NOT_SET
else:  # the signatures below only need a marker: MLflow before 3.18 never calls these methods
    NOT_SET = object()

ACTIVE, DELETED = "active", "deleted"
WORKSPACE = "default"  # the single-tenant workspace SqlAlchemyStore reports (this store has no workspaces)
SKILLS_TOKEN_SCOPE = f"workspace:{WORKSPACE}:skills"  # SqlAlchemyStore's scopes: its tokens work here too
_CREATE_ATTEMPTS = 100  # writers racing for version numbers; each loss costs one create-only request
_BATCH_ATTEMPTS = 3  # as SqlAlchemyStore retries a batch whose allocation collided
_ABANDONED_MS = 600_000  # a batch not committed after 10 minutes was cut off: its docs may be replaced
_VERSION_FIELDS = ("source_type", "source", "ref", "subpath", "digest")
Src = dict[str, Any]


def _conflict(message: str) -> MlflowException:
    return MlflowException(message, RESOURCE_CONFLICT)


def _missing(message: str) -> MlflowException:
    return MlflowException(message, RESOURCE_DOES_NOT_EXIST)


def _skill_missing(name: str, organization: str) -> MlflowException:
    return _missing(f"Skill '{name}' not found in organization '{organization}'")


def _entity_missing(name: str, organization: str) -> MlflowException:
    """SqlAlchemyStore's `_get_entity_or_raise` wording (tags, latest version)."""
    return _missing(f"Skill not found (name='{name}', organization='{organization}')")


def _version_missing(name: str, version: Any) -> MlflowException:
    return _missing(f"Skill version '{name}' version '{version}' not found")


def _check_identity(name: Any, organization: Any) -> None:
    _validate_skill_name(name)
    _validate_organization_name(organization)


def _skill_id(organization: str, name: str) -> str:
    return doc_id("skill", organization, name)


def _version_id(uid: str, version: int) -> str:
    return doc_id("skill-version", uid, int(version))


def _resolved_latest(versions: Iterable[Src]) -> Src | None:
    """The version SqlAlchemyStore resolves as latest: the highest active one, else the highest not deleted."""
    live = [v for v in versions if v["status"] != DELETED]
    return max(live, key=lambda v: (v["status"] == ACTIVE, v["version"]), default=None)


def _order_keys(order_by: list[str] | None, valid_keys: Iterable[str], tiebreakers: list[str]) -> list[tuple[str, bool]]:
    """(key, ascending) per clause, parsed and validated by MLflow's own `parse_skill_registry_order_by`
    (same errors, same default tiebreakers); its columns here are plain named placeholders."""
    import sqlalchemy as sa
    from mlflow.store.tracking.skill_registry_filter import parse_skill_registry_order_by

    columns: dict[str, Any] = {k: sa.column(k) for k in valid_keys}
    clauses = parse_skill_registry_order_by(order_by, valid_keys=set(columns), column_map=columns,
                                            default_tiebreakers=[columns[k].asc() for k in tiebreakers])
    keys = []
    for clause in clauses:
        key, _, direction = str(clause).rpartition(" ")
        keys.append((key, direction.upper() == "ASC"))
    return keys


def _sort(rows: list[Src], keys: list[tuple[str, bool]]) -> list[Src]:
    """SQLite's ORDER BY: NULL is the smallest value (first ascending, last descending); stable sorts
    from the last key."""
    out = list(rows)
    for key, ascending in reversed(keys):
        out.sort(key=partial(_null_first, key), reverse=not ascending)
    return out


def _null_first(key: str, row: Src) -> tuple[bool, Any]:
    value = row.get(key)
    return (value is not None, value if value is not None else 0)


def _matches(row: Src, tags: dict[str, str], parsed: list[dict[str, Any]]) -> bool:
    """MLflow's parsed skill-registry filter on one row, as `apply_skill_registry_filters` evaluates it on
    SQLite: attributes compare with SQL semantics; every tag key named must exist and satisfy all of
    its clauses."""
    for f in parsed:
        if f["type"] == "attribute":
            if not compare(f["comparator"], row.get(f["key"]), f["value"]):
                return False
        elif f["key"] not in tags or not compare(f["comparator"], tags[f["key"]], f["value"]):
            return False
    return True


class _SkillRegistry:
    """`SkillRegistryMixin` for EsTrackingStore (self.client, self.ix come from the store)."""

    client: Any
    ix: Any

    # -- visibility -------------------------------------------------------------------------------
    def _committed(self, sources: Iterable[Src]) -> set[str]:
        """Ids of the committed batches among those the sources were written by."""
        ids = sorted({s["batch"] for s in sources if s.get("batch")})
        return {i for i, found in zip(ids, self.client.mget(self.ix.skill_batches, ids), strict=True)
                if found is not None}

    def _visible(self, sources: list[Src]) -> list[Src]:
        committed = self._committed(sources)
        return [s for s in sources if not s.get("batch") or s["batch"] in committed]

    def _parent(self, name: str, organization: str) -> dict[str, Any] | None:
        """The GET answer of the skill's doc when the skill is visible."""
        found = self.client.get(self.ix.skills, _skill_id(organization, name))
        if found is None or not self._visible([found["_source"]]):
            return None
        return found

    def _parent_src(self, name: str, organization: str, missing: Callable[[], MlflowException]) -> Src:
        found = self._parent(name, organization)
        if found is None:
            raise missing()
        return dict(found["_source"])

    def _versions(self, uid: str | None = None, *, include_deleted: bool = False) -> list[Src]:
        """Visible versions of one skill incarnation (or of all skills), in version order."""
        query: dict[str, Any] = {"bool": {"filter": [], "must_not": []}}
        if uid is not None:
            query["bool"]["filter"].append({"term": {"skill_uid": uid}})
        if not include_deleted:
            query["bool"]["must_not"].append({"term": {"status": DELETED}})
        hits = self.client.scan(self.ix.skill_versions, query, [{"skill_uid": "asc"}, {"version": "asc"}])
        return self._visible([h["_source"] for h in hits])

    def _version_src(self, name: str, organization: str, version: int, *, include_deleted: bool = False,
                     missing: Callable[[], MlflowException] | None = None) -> tuple[Src, Src]:
        """(skill doc, version doc) of a visible version."""
        missing = missing or (lambda: _version_missing(name, version))
        found = self._parent(name, organization)
        if found is None:
            raise missing()
        parent = found["_source"]
        got = self.client.get(self.ix.skill_versions, _version_id(parent["skill_uid"], version))
        if got is None or not self._visible([got["_source"]]):
            raise missing()
        src = got["_source"]
        if src["status"] == DELETED and not include_deleted:
            raise missing()
        return parent, src

    # -- entities ---------------------------------------------------------------------------------
    @staticmethod
    def _skill_entity(src: Src, versions: list[Src]) -> Any:
        from mlflow.entities.skill import Skill, SkillStatus
        from mlflow.entities.skill_source import SkillSourceType

        latest = _resolved_latest(versions)
        return Skill(
            name=src["name"], organization=src["organization"], description=src.get("description"),
            icons=src.get("icons"), workspace=WORKSPACE,
            status=SkillStatus(latest["status"]) if latest else None,
            tags=dict(src.get("tags") or {}), aliases={a: int(v) for a, v in (src.get("aliases") or {}).items()},
            latest_version=int(latest["version"]) if latest else None,
            source_type=SkillSourceType(latest["source_type"]) if latest and latest.get("source_type") else None,
            created_by=src.get("created_by"), last_updated_by=src.get("last_updated_by"),
            creation_timestamp=src.get("created_at"), last_updated_timestamp=src.get("last_updated_at"),
        )

    @staticmethod
    def _version_entity(src: Src, parent: Src | None, *, aliases: list[str] | None = None) -> Any:
        from mlflow.entities.skill import SkillStatus
        from mlflow.entities.skill_source import SkillSourceType, build_source
        from mlflow.entities.skill_version import SkillVersion

        if aliases is None:
            aliases = [a for a, v in ((parent or {}).get("aliases") or {}).items() if int(v) == int(src["version"])]
        source_type = SkillSourceType(src["source_type"]) if src.get("source_type") else None
        return SkillVersion(
            name=src["name"], version=int(src["version"]), organization=src["organization"],
            source=build_source(source_type, src.get("source"), src.get("ref"), src.get("subpath")),
            source_type=source_type, digest=src.get("digest"), status=SkillStatus(src["status"]),
            tags=dict(src.get("tags") or {}), aliases=aliases, workspace=WORKSPACE,
            created_by=src.get("created_by"), last_updated_by=src.get("last_updated_by"),
            creation_timestamp=src.get("created_at"), last_updated_timestamp=src.get("last_updated_at"),
        )

    # -- skills -----------------------------------------------------------------------------------
    @staticmethod
    def _new_skill_doc(name: str, organization: str, created_by: str | None, now: int, *,
                       description: str | None = None, icons: Any = None, batch: str | None = None) -> Src:
        from mlflow.store.tracking.skill_registry_search_text import build_skill_search_text

        return {"skill_uid": uuid.uuid4().hex, "organization": organization, "name": name,
                "description": description, "icons": icons,
                "search_text": build_skill_search_text(name=name, description=description),
                "created_by": created_by, "last_updated_by": created_by, "created_at": now, "last_updated_at": now,
                "tags": {}, "aliases": {}, "batch": batch}

    def _claim_skill(self, doc: Src) -> bool:
        """Write a new skill doc create-only. False when a visible skill holds the name (or a bulk
        registration is writing it); a doc left by a batch cut off before its commit is replaced."""
        sid = _skill_id(doc["organization"], doc["name"])
        for _ in range(_CREATE_ATTEMPTS):
            if self.client.index(self.ix.skills, sid, doc, create=True).get("_status") != 409:
                return True
            found = self.client.get(self.ix.skills, sid)
            if found is None:
                continue  # deleted in between: try again
            held = found["_source"]
            if self._visible([held]) or get_current_time_millis() - int(held.get("created_at") or 0) < _ABANDONED_MS:
                return False
            r = self.client.index(self.ix.skills, sid, doc, seq=(found["_seq_no"], found["_primary_term"]))
            if r.get("_status") != 409:
                return True
        return False

    def create_skill(self, name: str, organization: str = "", description: str | None = None,
                     icons: list[Any] | None = None, created_by: str | None = None) -> Any:
        _check_identity(name, organization)
        _validate_icon_payloads(icons, "icons")
        doc = self._new_skill_doc(name, organization, created_by, get_current_time_millis(),
                                  description=description, icons=icons)
        if not self._claim_skill(doc):
            raise MlflowException(f"Skill '{name}' already exists in organization '{organization}'",
                                  RESOURCE_ALREADY_EXISTS)
        return self._skill_entity(doc, [])

    def get_skill(self, name: str, organization: str = "") -> Any:
        _check_identity(name, organization)
        src = self._parent_src(name, organization, lambda: _skill_missing(name, organization))
        return self._skill_entity(src, self._versions(src["skill_uid"]))

    def _update_skill_doc(self, name: str, organization: str, change: Callable[[Src], None],
                          missing: Callable[[], MlflowException]) -> Src:
        """Read-modify-write the visible skill doc with optimistic concurrency."""
        sid = _skill_id(organization, name)

        def guarded(src: Src) -> None:
            if not self._visible([src]):
                raise missing()
            change(src)

        return self.client.update_with(self.ix.skills, sid, guarded, missing)

    def update_skill(self, name: str, organization: str = "", description: Any = NOT_SET, icons: Any = NOT_SET,
                     last_updated_by: str | None = None) -> Any:
        from mlflow.store.tracking.skill_registry_search_text import build_skill_search_text

        _check_identity(name, organization)
        if icons is not NOT_SET:
            _validate_icon_payloads(icons, "icons")
        now = get_current_time_millis()

        def change(src: Src) -> None:
            if description is not NOT_SET:
                src["description"] = description
                src["search_text"] = build_skill_search_text(name=src["name"], description=description)
            if icons is not NOT_SET:
                src["icons"] = icons
            src["last_updated_by"] = last_updated_by
            src["last_updated_at"] = now

        src = self._update_skill_doc(name, organization, change, lambda: _skill_missing(name, organization))
        return self._skill_entity(src, self._versions(src["skill_uid"]))

    def delete_skill(self, name: str, organization: str = "") -> None:
        self.delete_skill_and_collect_artifacts(name, organization)

    def delete_skill_and_collect_artifacts(self, name: str, organization: str = "") -> list[str]:
        """The skill doc goes first (from then on the skill and every version are gone for readers), then
        its version docs, whose owned upload paths are collected as they are deleted: a version a
        concurrent registration wrote just before is among them, one written after finds itself
        orphaned and is removed by its writer (RESOURCE_CONFLICT)."""
        from mlflow.store.tracking.skill_registry.artifact_paths import owned_skill_upload_path

        _check_identity(name, organization)
        src = self._parent_src(name, organization, lambda: _skill_missing(name, organization))
        self.client.delete(self.ix.skills, _skill_id(organization, name))
        self.client.refresh(self.ix.skill_versions)
        query = {"term": {"skill_uid": src["skill_uid"]}}
        hits = list(self.client.scan(self.ix.skill_versions, query, [{"version": "asc"}]))
        self.client.bulk_delete((self.ix.skill_versions, h["_id"]) for h in hits)
        paths = [owned_skill_upload_path(name=v["name"], organization=v["organization"], source_type=v.get("source_type"),
                                         source=v.get("source"), subpath=v.get("subpath"))
                 for v in (h["_source"] for h in hits)]
        return [p for p in paths if p]

    def search_skills(self, filter_string: str | None = None, max_results: int = 100,
                      order_by: list[str] | None = None, page_token: str | None = None,
                      include_skill_identities: list[tuple[str, str]] | None = None,
                      exclude_skill_identities: list[tuple[str, str]] | None = None) -> Any:
        """Every visible skill is read (fine for thousands), then filtered, ordered and paged as SqlAlchemyStore
        does; the identity selectors apply before paging."""
        from mlflow.utils.search_utils import SearchSkillUtils

        validate_max_results, token_offset, paginate = _paging()
        validate_max_results(max_results)
        offset = token_offset(page_token, filter_string, order_by, SKILLS_TOKEN_SCOPE)
        parsed = SearchSkillUtils.parse_search_filter(filter_string)
        keys = _order_keys(order_by, SearchSkillUtils.VALID_SEARCH_ATTRIBUTE_KEYS, ["organization", "name"])
        hits = self.client.scan(self.ix.skills, {"match_all": {}}, [{"skill_uid": "asc"}])
        skills = self._visible([h["_source"] for h in hits])
        if include_skill_identities is not None:
            wanted = {tuple(i) for i in include_skill_identities}
            skills = [s for s in skills if (s["organization"], s["name"]) in wanted]
        if exclude_skill_identities:
            unwanted = {tuple(i) for i in exclude_skill_identities}
            skills = [s for s in skills if (s["organization"], s["name"]) not in unwanted]
        by_uid: dict[str, list[Src]] = {}
        for v in self._versions() if skills else []:
            by_uid.setdefault(v["skill_uid"], []).append(v)
        rows = []
        for s in skills:
            latest = _resolved_latest(by_uid.get(s["skill_uid"], []))
            rows.append({"src": s, "name": s["name"], "organization": s["organization"],
                         "description": s.get("description"), "search_text": s.get("search_text"),
                         "status": latest["status"] if latest else None,
                         "source_type": latest.get("source_type") if latest else None,
                         "created_at": s.get("created_at"), "last_updated_at": s.get("last_updated_at")})
        kept = [r for r in rows if _matches(r, r["src"].get("tags") or {}, parsed)]
        window = _sort(kept, keys)[offset:offset + max_results + 1]
        entities = [self._skill_entity(r["src"], by_uid.get(r["src"]["skill_uid"], [])) for r in window]
        return paginate(entities, max_results=max_results, offset=offset, filter_string=filter_string,
                        order_by=order_by, query_scope=SKILLS_TOKEN_SCOPE)

    # -- versions ---------------------------------------------------------------------------------
    def _next_version(self, uid: str) -> int:
        """One more than the highest version of this incarnation, deleted and uncommitted ones included."""
        body = {"query": {"term": {"skill_uid": uid}}, "sort": [{"version": "desc"}], "size": 1, "_source": ["version"]}
        hits = self.client.search(self.ix.skill_versions, body).get("hits", {}).get("hits", [])
        return int(hits[0]["_source"]["version"]) + 1 if hits else 1

    def _version_doc(self, parent: Src, version: int, fields: Src, status: str, created_by: str | None, now: int,
                     batch: str | None = None) -> Src:
        return {"skill_uid": parent["skill_uid"], "organization": parent["organization"], "name": parent["name"],
                "version": version, **{f: fields.get(f) for f in _VERSION_FIELDS}, "status": status,
                "created_by": created_by, "last_updated_by": created_by, "created_at": now, "last_updated_at": now,
                "tags": {}, "batch": batch}

    @staticmethod
    def _expect(name: str, exists: bool, expected: bool | None) -> None:
        if expected is not None and exists != expected:
            raise _conflict(f"Skill '{name}' no longer exists; this registration expected to update it." if expected
                            else f"Skill '{name}' already exists; this registration expected to create it.")

    def create_skill_version(self, name: str, organization: str = "", source_type: str | None = None,
                             source: str | None = None, ref: str | None = None, subpath: str | None = None,
                             digest: str | None = None, status: str = ACTIVE, created_by: str | None = None,
                             expected_parent_exists: bool | None = None) -> Any:
        _check_identity(name, organization)
        _validate_skill_version_source(source_type, source, ref, subpath, digest)
        status = _validate_skill_version_status(status)
        fields = {"source_type": source_type, "source": source, "ref": ref, "subpath": subpath, "digest": digest}
        for _ in range(_CREATE_ATTEMPTS):
            found = self._parent(name, organization)
            self._expect(name, found is not None, expected_parent_exists)
            now = get_current_time_millis()
            if found is None:
                parent = self._new_skill_doc(name, organization, created_by, now)
                if not self._claim_skill(parent):
                    continue  # created concurrently: SqlAlchemyStore retries the same way
            else:
                parent = found["_source"]
            version = self._next_version(parent["skill_uid"])
            for _ in range(_CREATE_ATTEMPTS):
                doc = self._version_doc(parent, version, fields, status, created_by, now)
                if self.client.index(self.ix.skill_versions, _version_id(parent["skill_uid"], version), doc,
                                     create=True).get("_status") != 409:
                    break
                version += 1
            else:
                break
            self._check_not_orphaned(parent, [(self.ix.skill_versions, _version_id(parent["skill_uid"], version))])
            return self._version_entity(doc, None, aliases=[])
        raise MlflowException(f"Skill version creation error (name={name}, organization={organization}). "
                              f"Giving up after {_CREATE_ATTEMPTS} attempts.", RESOURCE_ALREADY_EXISTS)

    def _check_not_orphaned(self, parent: Src, written: list[tuple[str, str]]) -> None:
        """After writing under `parent`: if the skill was deleted meanwhile, remove what was written and fail
        as SQL's foreign key would have made the write fail."""
        now = self.client.get(self.ix.skills, _skill_id(parent["organization"], parent["name"]))
        if now is not None and now["_source"]["skill_uid"] == parent["skill_uid"]:
            return
        self.client.bulk_delete(written)
        raise _conflict(f"Skill '{parent['name']}' was deleted while this version was being registered; retry the "
                        "operation")

    def bulk_register_skills(self, skill_definitions: list[dict[str, Any]], organization: str = "",
                             created_by: str | None = None, expected_parent_exists: dict[str, bool] | None = None
                             ) -> list[Any]:
        from mlflow.genai.skill_content.paths import normalize_subpath

        if not isinstance(skill_definitions, list) or not skill_definitions:
            raise MlflowException.invalid_parameter_value("Skill definitions must be a nonempty list.")
        definitions: dict[str, Src] = {}
        repository_ref = None
        status = None
        for definition in skill_definitions:  # SqlAlchemyStore's checks, in its order, before any write
            if not isinstance(definition, dict) or not isinstance(definition.get("name"), str):
                raise MlflowException.invalid_parameter_value("Each Skill definition must supply a name.")
            name = definition["name"]
            _check_identity(name, organization)
            definition_status = _validate_skill_version_status(definition.get("status", ACTIVE))
            if status is not None and definition_status != status:
                raise MlflowException.invalid_parameter_value("Bulk registration requires the same status for every Skill.")
            status = definition_status
            fields = {f: definition.get(f) for f in ("source", "ref", "subpath", "digest")}
            fields["subpath"] = normalize_subpath(fields["subpath"])
            source_type = definition.get("source_type", "git")
            _validate_skill_version_source(source_type, **fields)
            if source_type != "git" or not fields["source"] or not fields["digest"]:
                raise MlflowException.invalid_parameter_value(
                    "Bulk registration requires a Git source and digest for every Skill.")
            if name in definitions:
                raise MlflowException.invalid_parameter_value(f"Duplicate Skill name: {name!r}.")
            identity = (fields["source"], fields["ref"])
            if repository_ref is not None and repository_ref != identity:
                raise MlflowException.invalid_parameter_value(
                    "Bulk registration requires the same Git repository and ref for every Skill.")
            repository_ref = identity
            definitions[name] = {"source_type": source_type, **fields}
        for _ in range(_BATCH_ATTEMPTS):
            done = self._bulk_register_once(definitions, organization, created_by, str(status),
                                            expected_parent_exists or {})
            if done is not None:
                return [done[name] for name in definitions]
        raise MlflowException("Bulk skill registration collided with concurrent registrations; retry the operation",
                              RESOURCE_ALREADY_EXISTS)

    def _bulk_register_once(self, definitions: dict[str, Src], organization: str, created_by: str | None,
                            status: str, expected: dict[str, bool]) -> dict[str, Any] | None:
        """One attempt: read, check every precondition, then write all new docs marked with a batch id in
        one bulk and commit by writing the batch doc. None when a write collided (all undone)."""
        now = get_current_time_millis()
        batch = uuid.uuid4().hex
        names = sorted(definitions)
        parents: dict[str, Src] = {}
        new_parents: list[Src] = []
        for name in names:
            found = self._parent(name, organization)
            self._expect(name, found is not None, expected.get(name))
            if found is None:
                parents[name] = self._new_skill_doc(name, organization, created_by, now, batch=batch)
                new_parents.append(parents[name])
            else:
                parents[name] = found["_source"]
        results: dict[str, Any] = {}
        new_versions: list[Src] = []
        for name in names:
            parent, fields = parents[name], definitions[name]
            versions = [] if parent in new_parents else self._versions(parent["skill_uid"], include_deleted=True)
            match = max((v for v in versions if v["status"] != DELETED
                         and all(v.get(f) == fields[f] for f in _VERSION_FIELDS)),
                        key=lambda v: v["version"], default=None)
            if match is not None:
                results[name] = self._version_entity(match, parent)
                continue
            version = 1 if parent in new_parents else self._next_version(parent["skill_uid"])
            doc = self._version_doc(parent, version, fields, status, created_by, now, batch)
            new_versions.append(doc)
            results[name] = self._version_entity(doc, None, aliases=[])
        if not new_versions:
            return results
        writes = [(self.ix.skills, _skill_id(organization, p["name"]), p) for p in new_parents]
        writes += [(self.ix.skill_versions, _version_id(v["skill_uid"], v["version"]), v) for v in new_versions]
        lines: list[str] = []
        for index, did, doc in writes:
            lines += [dumps({"create": {"_index": index, "_id": did}}), dumps(doc)]
        answers = self.client.bulk(lines)
        written = [(index, did) for (index, did, _), a in zip(writes, answers, strict=True) if int(a.get("status", 0)) < 300]
        if len(written) < len(writes):
            self.client.bulk_delete(written)
            failed = [a for a in answers if int(a.get("status", 0)) >= 300 and int(a.get("status", 0)) != 409]
            if failed:
                from mlflow_store_es.client import raise_item_errors

                raise_item_errors(failed)
            return None
        for name in names:  # an existing skill deleted meanwhile would leave versions without a skill
            if parents[name] not in new_parents:
                self._check_not_orphaned(parents[name], written)
        self.client.index(self.ix.skill_batches, batch, {"batch_id": batch, "created_at": now})
        self._clear_batch(writes, answers)
        return results

    def _clear_batch(self, writes: list[tuple[str, str, Src]], answers: list[dict[str, Any]]) -> None:
        """Drop the batch mark from docs nobody changed since (readers then skip the batch lookup); a doc
        changed meanwhile keeps it, which only costs that lookup."""
        lines: list[str] = []
        for (index, did, doc), answer in zip(writes, answers, strict=True):
            action = {"index": {"_index": index, "_id": did, "if_seq_no": answer.get("_seq_no"),
                                "if_primary_term": answer.get("_primary_term")}}
            lines += [dumps(action), dumps(dict(doc, batch=None))]
        self.client.bulk(lines)

    def get_skill_version(self, name: str, version: int, organization: str = "") -> Any:
        _check_identity(name, organization)
        _validate_skill_version(version)
        parent, src = self._version_src(name, organization, version)
        return self._version_entity(src, parent)

    def search_skill_versions(self, name: str, organization: str = "", filter_string: str | None = None,
                              max_results: int = 100, order_by: list[str] | None = None,
                              page_token: str | None = None) -> Any:
        from mlflow.utils.search_utils import SearchSkillVersionUtils

        _check_identity(name, organization)
        validate_max_results, token_offset, paginate = _paging()
        validate_max_results(max_results)
        scope = f"workspace:{WORKSPACE}:skill_versions:{organization}/{name}"
        offset = token_offset(page_token, filter_string, order_by, scope)
        parsed = SearchSkillVersionUtils.parse_search_filter(filter_string)
        keys = _order_keys(order_by, SearchSkillVersionUtils.VALID_SEARCH_ATTRIBUTE_KEYS, ["version"])
        found = self._parent(name, organization)
        versions = self._versions(found["_source"]["skill_uid"]) if found else []
        kept = [v for v in versions if _matches(v, v.get("tags") or {}, parsed)]
        window = _sort(kept, keys)[offset:offset + max_results + 1]
        parent = found["_source"] if found else None
        return paginate([self._version_entity(v, parent) for v in window], max_results=max_results, offset=offset,
                        filter_string=filter_string, order_by=order_by, query_scope=scope)

    def _update_version_doc(self, parent: Src, version: int, change: Callable[[Src], None],
                            missing: Callable[[], MlflowException]) -> Src:
        return self.client.update_with(self.ix.skill_versions, _version_id(parent["skill_uid"], version), change, missing)

    def _drop_aliases_of(self, parent: Src, version: int) -> None:
        def change(src: Src) -> None:
            if src["skill_uid"] != parent["skill_uid"]:
                return
            src["aliases"] = {a: v for a, v in (src.get("aliases") or {}).items() if int(v) != int(version)}

        try:
            self.client.update_with(self.ix.skills, _skill_id(parent["organization"], parent["name"]), change,
                                    lambda: _skill_missing(parent["name"], parent["organization"]))
        except MlflowException as e:
            if e.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise

    def update_skill_version(self, name: str, version: int, organization: str = "", status: Any = NOT_SET,
                             last_updated_by: str | None = None) -> Any:
        from mlflow.entities.skill import SkillStatus

        _check_identity(name, organization)
        _validate_skill_version(version)
        if status is None:
            raise MlflowException.invalid_parameter_value("status cannot be null; omit the field to leave it unchanged")
        parent, src = self._version_src(name, organization, version)
        if status is NOT_SET:
            return self._version_entity(src, parent)
        try:
            new = SkillStatus(status)
        except (TypeError, ValueError) as e:
            raise MlflowException.invalid_parameter_value(f"Invalid SkillVersion status: {status!r}") from e
        _validate_skill_status_transition(SkillStatus(src["status"]), new)
        src = self._set_status(parent, name, version, new.value, last_updated_by)
        return self._version_entity(src, parent, aliases=[] if new.value == DELETED else None)

    def _set_status(self, parent: Src, name: str, version: int, status: str, last_updated_by: str | None) -> Src:
        """Change a version's status with optimistic concurrency (the transition is checked again on the doc
        re-read after a conflict), then drop its aliases when it is deleted."""
        from mlflow.entities.skill import SkillStatus

        now = get_current_time_millis()

        def change(src: Src) -> None:
            if src["status"] == DELETED:
                raise _version_missing(name, version)
            _validate_skill_status_transition(SkillStatus(src["status"]), SkillStatus(status))
            src.update(status=status, last_updated_by=last_updated_by, last_updated_at=now)

        src = self._update_version_doc(parent, version, change, lambda: _version_missing(name, version))
        if status == DELETED:
            self._drop_aliases_of(parent, version)
        return src

    def delete_skill_version(self, name: str, version: int, organization: str = "",
                             last_updated_by: str | None = None) -> None:
        _check_identity(name, organization)
        _validate_skill_version(version)
        parent, _ = self._version_src(name, organization, version)
        self._set_status(parent, name, version, DELETED, last_updated_by)

    def get_latest_skill_version(self, name: str, organization: str = "") -> Any:
        _check_identity(name, organization)
        parent = self._parent_src(name, organization, lambda: _entity_missing(name, organization))
        latest = _resolved_latest(self._versions(parent["skill_uid"]))
        if latest is None:
            raise _missing(f"No resolved latest version found for skill '{name}'")
        return self._version_entity(latest, parent)

    # -- aliases ----------------------------------------------------------------------------------
    def get_skill_version_by_alias(self, name: str, alias: str, organization: str = "") -> Any:
        _check_identity(name, organization)
        if isinstance(alias, str) and alias.lower() == "latest":
            return self.get_latest_skill_version(name, organization)
        _validate_skill_alias_name(alias)
        _validate_model_alias_name_reserved(alias)
        found = self._parent(name, organization)
        version = ((found or {}).get("_source", {}).get("aliases") or {}).get(alias)
        if version is None:
            raise _missing(f"Alias '{alias}' not found for skill '{name}'")
        dangling = lambda: _missing(f"Alias '{alias}' for skill '{name}' points to a missing or deleted version")  # noqa: E731
        parent, src = self._version_src(name, organization, int(version), missing=dangling)
        return self._version_entity(src, parent)

    def set_skill_alias(self, name: str, alias: str, version: int, organization: str = "") -> None:
        """Point the alias at the version, then check the version again: a delete that ran in between
        (and dropped the version's aliases before this one existed) makes this call undo it and fail,
        as SqlAlchemyStore's row lock would have."""
        _check_identity(name, organization)
        _validate_skill_version(version)
        _validate_skill_alias_name(alias)
        _validate_model_alias_name_reserved(alias)
        gone = lambda: _missing(f"Skill version '{name}' version '{version}' not found or is deleted")  # noqa: E731
        parent, _ = self._version_src(name, organization, version, missing=gone)

        def point(src: Src) -> None:
            if src["skill_uid"] != parent["skill_uid"]:
                raise gone()
            src.setdefault("aliases", {})[alias] = int(version)

        self._update_skill_doc(name, organization, point, gone)
        try:
            self._version_src(name, organization, version, missing=gone)
        except MlflowException:
            self._drop_aliases_of(parent, version)
            raise

    def delete_skill_alias(self, name: str, alias: str, organization: str = "") -> None:
        _check_identity(name, organization)
        if isinstance(alias, str) and alias.lower() == "latest":
            raise MlflowException("The 'latest' alias is resolved automatically and cannot be deleted",
                                  INVALID_PARAMETER_VALUE)
        _validate_skill_alias_name(alias)
        _validate_model_alias_name_reserved(alias)
        missing = lambda: _missing(f"Alias '{alias}' not found on skill '{name}'")  # noqa: E731

        def drop(src: Src) -> None:
            if alias not in (src.get("aliases") or {}):
                raise missing()
            del src["aliases"][alias]

        self._update_skill_doc(name, organization, drop, missing)

    # -- tags -------------------------------------------------------------------------------------
    def set_skill_tag(self, name: str, key: str, value: str, organization: str = "") -> None:
        _check_identity(name, organization)
        tag = _validate_skill_tag(key, value)
        self._update_skill_doc(name, organization, lambda s: s.setdefault("tags", {}).__setitem__(tag.key, tag.value),
                               lambda: _entity_missing(name, organization))

    def delete_skill_tag(self, name: str, key: str, organization: str = "") -> None:
        _check_identity(name, organization)
        key = _validate_skill_tag(key, "").key
        missing = lambda: _missing(f"Tag '{key}' not found on Skill '{name}'")  # noqa: E731

        def drop(src: Src) -> None:
            if key not in (src.get("tags") or {}):
                raise missing()
            del src["tags"][key]

        self._update_skill_doc(name, organization, drop, missing)

    def set_skill_version_tag(self, name: str, version: int, key: str, value: str, organization: str = "") -> None:
        _check_identity(name, organization)
        _validate_skill_version(version)
        tag = _validate_skill_tag(key, value)
        parent, _ = self._version_src(name, organization, version)

        def put(src: Src) -> None:
            if src["status"] == DELETED:
                raise _version_missing(name, version)
            src.setdefault("tags", {})[tag.key] = tag.value

        self._update_version_doc(parent, version, put, lambda: _version_missing(name, version))

    def delete_skill_version_tag(self, name: str, version: int, key: str, organization: str = "") -> None:
        _check_identity(name, organization)
        _validate_skill_version(version)
        key = _validate_skill_tag(key, "").key
        missing = lambda: _missing(f"Tag '{key}' not found on Skill version '{name}' version '{version}'")  # noqa: E731
        parent, _ = self._version_src(name, organization, version, include_deleted=True, missing=missing)

        def drop(src: Src) -> None:
            if key not in (src.get("tags") or {}):
                raise missing()
            del src["tags"][key]

        self._update_version_doc(parent, version, drop, missing)


def _paging() -> tuple[Callable[[Any], None], Callable[..., int], Callable[..., Any]]:
    """MLflow's max_results check, query-bound page tokens and page builder (3.18 modules)."""
    from mlflow.store.tracking.skill_registry_filter import paginate_results
    from mlflow.store.tracking.skill_registry_pagination import SkillRegistryPaginationToken, validate_max_results

    def offset(page_token: str | None, filter_string: str | None, order_by: list[str] | None, scope: str) -> int:
        if not page_token:
            return 0
        token = SkillRegistryPaginationToken.decode(page_token)
        token.validate(filter_string, order_by, scope)
        return int(token.offset)

    return validate_max_results, offset, paginate_results


class _NoSkillRegistry:
    """MLflow before 3.18 has no skills registry: the store adds nothing."""


SkillsMixin: type = _SkillRegistry if HAS_SKILL_REGISTRY else _NoSkillRegistry

__all__ = ["SkillsMixin"]
