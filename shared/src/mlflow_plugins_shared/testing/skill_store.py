"""A conformance kit for the skills registry of tracking stores (MLflow 3.18's `SkillRegistryMixin`):
same operations, same answers as MLflow's own `SqlAlchemyStore` on SQLite.

Subclass `SkillStoreConformance` and provide a `candidate_store` fixture returning a fresh, empty
tracking store. The scenario creates skills in two organizations (descriptions, icons, unicode
tags), registers versions from every source type with and without the parent-state precondition,
walks the status transitions, moves and drops aliases, resolves `latest`, bulk-registers (new,
reused and conflicting batches, which must leave nothing behind), searches with the filter
grammar, orderings, identity selectors and page tokens page by page, and hard-deletes a skill
with owned and referenced upload paths. Every call's result, or its error (code and message
class), is recorded on both stores and compared.

Timestamps are store-generated and differ: observations keep only that they are set and ordered.

Deviations: where MLflow's store is believed wrong, the case is declared as a named deviation in
`testing/deviations.py` (the releases it affects, a minimal reproduction), which `compare` applies.
None is declared for skills: MLflow 3.18.0's SqlAlchemyStore gave no answer this kit found wrong.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException

from mlflow_plugins_shared.testing.tracking_store import compare, sqlite_reference_store

Observation = tuple[str, Any]
# a feature probe (what the installed MLflow has), not a version number
HAS_SKILLS = importlib.util.find_spec("mlflow.store.tracking.skill_registry") is not None
SKIP_REASON = "the skills registry (SkillRegistryMixin) needs MLflow 3.18 or later"
DIGEST = "a" * 64
OTHER_DIGEST = "b" * 64
UPLOAD_SEGMENT = "0123456789abcdef0123456789abcdef"


def message_class(message: str) -> str:
    """An error message with what differs between stores by design (timestamps, random tokens) masked."""
    message = re.sub(r"\b[0-9a-f]{32}\b", "<token>", message)
    return re.sub(r"\b\d{10,}\b", "<n>", message)


class Recorder:
    def __init__(self, store: Any) -> None:
        self.store = store
        self.log: list[Observation] = []

    def call(self, label: str, fn: Callable[[], Any], shape: Callable[[Any], Any] = lambda r: None) -> Any:
        try:
            result = fn()
        except MlflowException as e:
            self.log.append((label, ("error", e.error_code, message_class(e.message))))
            return None
        self.log.append((label, shape(result)))
        return result


def _ts(entity: Any) -> tuple[bool, bool]:
    created, updated = entity.creation_timestamp, entity.last_updated_timestamp
    return isinstance(created, int), isinstance(updated, int) and updated >= created


def skill_shape(s: Any) -> dict[str, Any]:
    return {"name": s.name, "organization": s.organization, "description": s.description, "icons": s.icons,
            "workspace": s.workspace, "status": str(s.status) if s.status else None, "tags": dict(s.tags),
            "aliases": dict(s.aliases), "latest_version": s.latest_version,
            "source_type": str(s.source_type) if s.source_type else None, "created_by": s.created_by,
            "last_updated_by": s.last_updated_by, "timestamps": _ts(s)}


def version_shape(v: Any) -> dict[str, Any]:
    return {"name": v.name, "version": v.version, "organization": v.organization, "source": repr(v.source),
            "source_type": str(v.source_type) if v.source_type else None, "digest": v.digest, "status": str(v.status),
            "tags": dict(v.tags), "aliases": sorted(v.aliases), "workspace": v.workspace, "created_by": v.created_by,
            "last_updated_by": v.last_updated_by, "timestamps": _ts(v)}


def versions_shape(vs: Any) -> list[dict[str, Any]]:
    return [version_shape(v) for v in vs]


def _git(name: str, digest: str = DIGEST, **extra: Any) -> dict[str, Any]:
    return {"name": name, "source_type": "git", "source": "https://github.com/acme/skills.git", "ref": "v1",
            "subpath": f"skills/{name}", "digest": digest, **extra}


# -- the scenario ------------------------------------------------------------------------------
def skills(rec: Recorder) -> None:
    s = rec.store
    # a public IP literal: MLflow resolves icon hosts (only public HTTPS targets), and tests run offline
    icon = [{"src": "https://93.184.215.14/i.png", "mimeType": "image/png", "sizes": ["48x48"]}]
    rec.call("create alpha", lambda: s.create_skill("alpha", created_by="alice"), skill_shape)
    rec.call("create beta with description and icons",
             lambda: s.create_skill("beta", description="Reviews  code\n carefully ✓", icons=icon), skill_shape)
    rec.call("create beta in acme", lambda: s.create_skill("beta", organization="acme", description="acme beta"),
             skill_shape)
    rec.call("create gamma in acme.labs", lambda: s.create_skill("gamma", organization="acme.labs"), skill_shape)
    rec.call("create alpha again", lambda: s.create_skill("alpha"), skill_shape)
    for bad in ("Alpha", "", "a--b", "-a", "a_b", "x" * 65):
        rec.call(f"create bad name {bad[:10]!r}", partial(s.create_skill, bad), skill_shape)
    for bad in ("Acme", "a..b", "-acme", "@acme"):
        rec.call(f"create bad organization {bad!r}", partial(s.create_skill, "delta", organization=bad), skill_shape)
    for label, icons in (("not a list", "x"), ("not an object", ["x"]), ("no src", [{"mimeType": "image/png"}]),
                         ("bad url", [{"src": "ftp://x/i.png"}]), ("bad mime", [{"src": "https://93.184.215.14/i.png",
                                                                                 "mimeType": "text/html"}]),
                         ("private address", [{"src": "https://127.0.0.1/i.png"}])):
        rec.call(f"create bad icons: {label}", partial(s.create_skill, "delta", icons=icons), skill_shape)
    rec.call("get alpha", lambda: s.get_skill("alpha"), skill_shape)
    rec.call("get beta in acme", lambda: s.get_skill("beta", "acme"), skill_shape)
    rec.call("get missing", lambda: s.get_skill("nope"), skill_shape)
    rec.call("get alpha in another organization", lambda: s.get_skill("alpha", "acme"), skill_shape)
    rec.call("get bad name", lambda: s.get_skill("Bad"), skill_shape)
    rec.call("update description", lambda: s.update_skill("alpha", description="First skill", last_updated_by="bob"),
             skill_shape)
    rec.call("update icons only", lambda: s.update_skill("alpha", icons=icon), skill_shape)
    rec.call("update description to None", lambda: s.update_skill("beta", description=None), skill_shape)
    rec.call("update nothing", lambda: s.update_skill("gamma", organization="acme.labs"), skill_shape)
    rec.call("update missing", lambda: s.update_skill("nope", description="x"), skill_shape)
    rec.call("update bad icons", lambda: s.update_skill("alpha", icons=[{"x": 1}]), skill_shape)


def versions(rec: Recorder) -> None:
    s = rec.store
    v = version_shape
    rec.call("version alpha git", lambda: s.create_skill_version(
        "alpha", source_type="git", source="https://github.com/acme/skills.git", ref="main", subpath="alpha",
        digest=DIGEST, created_by="alice"), v)
    rec.call("version alpha zip draft", lambda: s.create_skill_version(
        "alpha", source_type="zip", source="https://example.com/alpha.zip", status="draft"), v)
    rec.call("version alpha oci", lambda: s.create_skill_version(
        "alpha", source_type="oci", source="ghcr.io/acme/alpha:1", subpath="skill"), v)
    rec.call("version alpha no source", lambda: s.create_skill_version("alpha"), v)
    rec.call("version beta acme", lambda: s.create_skill_version("beta", "acme", source_type="git",
                                                                 source="https://x/beta.git"), v)
    rec.call("version creates parent", lambda: s.create_skill_version("epsilon", source_type="zip",
                                                                      source="https://x/e.zip", created_by="carol"), v)
    rec.call("get epsilon (created with its version)", lambda: s.get_skill("epsilon"), skill_shape)
    rec.call("version expected parent, missing", lambda: s.create_skill_version(
        "zeta", source_type="zip", source="https://x/z.zip", expected_parent_exists=True), v)
    rec.call("zeta not created", lambda: s.get_skill("zeta"), skill_shape)
    rec.call("version expected no parent, exists", lambda: s.create_skill_version(
        "alpha", source_type="zip", source="https://x/z.zip", expected_parent_exists=False), v)
    rec.call("version expected no parent, missing", lambda: s.create_skill_version(
        "eta", source_type="zip", source="https://x/eta.zip", status="draft", expected_parent_exists=False), v)
    rec.call("version expected parent, exists", lambda: s.create_skill_version(
        "eta", source_type="zip", source="https://x/eta2.zip", expected_parent_exists=True), v)
    for label, kwargs in (
        ("status deprecated", {"status": "deprecated"}), ("status bogus", {"status": "bogus"}),
        ("status None", {"status": None}), ("source type svn", {"source_type": "svn", "source": "x"}),
        ("ref on zip", {"source_type": "zip", "source": "https://x/a.zip", "ref": "main"}),
        ("digest upper case", {"digest": "A" * 64}), ("digest short", {"digest": "ab"}),
        ("source too long", {"source_type": "zip", "source": "https://x/" + "a" * 2048}),
        ("source not a string", {"source_type": "zip", "source": 5}),
    ):
        rec.call(f"version bad {label}", partial(s.create_skill_version, "alpha", **kwargs), v)
    rec.call("version bad name", lambda: s.create_skill_version("Bad_Name"), v)
    rec.call("get version 1", lambda: s.get_skill_version("alpha", 1), v)
    rec.call("get version 3 of beta/acme (missing)", lambda: s.get_skill_version("beta", 3, "acme"), v)
    for bad in (0, -1, "1", True, 2**31):
        rec.call(f"get version bad {bad!r}", partial(s.get_skill_version, "alpha", bad), v)
    rec.call("get alpha after versions", lambda: s.get_skill("alpha"), skill_shape)


def lifecycle(rec: Recorder) -> None:
    s = rec.store
    v = version_shape
    rec.call("update unchanged (status not given)", lambda: s.update_skill_version("alpha", 1, last_updated_by="x"), v)
    rec.call("update status None", lambda: s.update_skill_version("alpha", 1, status=None), v)
    rec.call("update status bogus", lambda: s.update_skill_version("alpha", 1, status="bogus"), v)
    rec.call("active -> deprecated", lambda: s.update_skill_version("alpha", 1, status="deprecated",
                                                                   last_updated_by="bob"), v)
    rec.call("deprecated -> draft (not allowed)", lambda: s.update_skill_version("alpha", 1, status="draft"), v)
    rec.call("draft -> active", lambda: s.update_skill_version("alpha", 2, status="active"), v)
    rec.call("active -> deleted (not allowed)", lambda: s.update_skill_version("alpha", 3, status="deleted"), v)
    rec.call("get alpha: latest resolves to active 4", lambda: s.get_skill("alpha"), skill_shape)
    rec.call("latest alpha", lambda: s.get_latest_skill_version("alpha"), v)
    rec.call("delete active version (not allowed)", lambda: s.delete_skill_version("alpha", 4))
    rec.call("delete deprecated version", lambda: s.delete_skill_version("alpha", 1, last_updated_by="dave"))
    rec.call("delete it again", lambda: s.delete_skill_version("alpha", 1))
    rec.call("get deleted version", lambda: s.get_skill_version("alpha", 1), v)
    rec.call("update deleted version", lambda: s.update_skill_version("alpha", 1, status="active"), v)
    rec.call("delete missing version", lambda: s.delete_skill_version("alpha", 99))
    rec.call("delete version of missing skill", lambda: s.delete_skill_version("nope", 1))
    rec.call("latest of eta (draft 1, active 2)", lambda: s.get_latest_skill_version("eta"), v)
    rec.call("eta 2 -> draft", lambda: s.update_skill_version("eta", 2, status="draft"), v)
    rec.call("latest of eta (drafts only)", lambda: s.get_latest_skill_version("eta"), v)
    rec.call("eta 1 draft -> deleted", lambda: s.update_skill_version("eta", 1, status="deleted"), v)
    rec.call("eta 2 draft -> deleted", lambda: s.update_skill_version("eta", 2, status="deleted"), v)
    rec.call("get eta (only deleted versions)", lambda: s.get_skill("eta"), skill_shape)
    rec.call("latest of eta (none)", lambda: s.get_latest_skill_version("eta"), v)
    rec.call("latest of gamma (no versions)", lambda: s.get_latest_skill_version("gamma", "acme.labs"), v)
    rec.call("latest of missing", lambda: s.get_latest_skill_version("nope"), v)
    rec.call("eta next version number (after deleted ones)", lambda: s.create_skill_version("eta"), v)


def tags_and_aliases(rec: Recorder) -> None:
    s = rec.store
    v = version_shape
    rec.call("set skill tag", lambda: s.set_skill_tag("alpha", "team", "vision"))
    rec.call("set skill tag unicode", lambda: s.set_skill_tag("alpha", "ключ", "значение ✓"))
    rec.call("set skill tag overwrite", lambda: s.set_skill_tag("alpha", "team", "nlp"))
    rec.call("set skill tag beta/acme", lambda: s.set_skill_tag("beta", "team", "vision", "acme"))
    rec.call("set skill tag long value", lambda: s.set_skill_tag("beta", "long", "x" * 5000))
    rec.call("set skill tag missing skill", lambda: s.set_skill_tag("nope", "k", "v"))
    rec.call("set skill tag empty key", lambda: s.set_skill_tag("alpha", "", "v"))
    rec.call("set skill tag None value", lambda: s.set_skill_tag("alpha", "k", None))
    rec.call("delete skill tag", lambda: s.delete_skill_tag("alpha", "ключ"))
    rec.call("delete skill tag missing", lambda: s.delete_skill_tag("alpha", "ключ"))
    rec.call("delete skill tag of missing skill", lambda: s.delete_skill_tag("nope", "team"))
    rec.call("set version tag", lambda: s.set_skill_version_tag("alpha", 2, "stage", "qa"))
    rec.call("set version tag on deleted", lambda: s.set_skill_version_tag("alpha", 1, "stage", "qa"))
    rec.call("set version tag missing version", lambda: s.set_skill_version_tag("alpha", 42, "k", "v"))
    rec.call("set version tag 2 on 4", lambda: s.set_skill_version_tag("alpha", 4, "stage", "prod"))
    rec.call("delete version tag", lambda: s.delete_skill_version_tag("alpha", 4, "stage"))
    rec.call("delete version tag missing", lambda: s.delete_skill_version_tag("alpha", 4, "stage"))
    rec.call("delete version tag bad version", lambda: s.delete_skill_version_tag("alpha", 0, "stage"))
    rec.call("set alias prod -> 2", lambda: s.set_skill_alias("alpha", "prod", 2))
    rec.call("set alias canary -> 2", lambda: s.set_skill_alias("alpha", "canary", 2))
    rec.call("set alias prod -> 4 (moves)", lambda: s.set_skill_alias("alpha", "prod", 4))
    rec.call("set alias on deleted version", lambda: s.set_skill_alias("alpha", "old", 1))
    rec.call("set alias on missing version", lambda: s.set_skill_alias("alpha", "old", 77))
    for bad in ("latest", "LATEST", "v1", "V12", "bad alias", "", "a" * 256):
        rec.call(f"set alias bad {bad[:12]!r}", partial(s.set_skill_alias, "alpha", bad, 2))
    rec.call("by alias prod", lambda: s.get_skill_version_by_alias("alpha", "prod"), v)
    rec.call("by alias canary", lambda: s.get_skill_version_by_alias("alpha", "canary"), v)
    rec.call("by alias latest", lambda: s.get_skill_version_by_alias("alpha", "latest"), v)
    rec.call("by alias Latest", lambda: s.get_skill_version_by_alias("alpha", "Latest"), v)
    rec.call("by alias missing", lambda: s.get_skill_version_by_alias("alpha", "nope"), v)
    rec.call("by alias v2 (reserved)", lambda: s.get_skill_version_by_alias("alpha", "v2"), v)
    rec.call("by alias of missing skill", lambda: s.get_skill_version_by_alias("nope", "prod"), v)
    rec.call("get version 2 with aliases", lambda: s.get_skill_version("alpha", 2), v)
    rec.call("get alpha with tags and aliases", lambda: s.get_skill("alpha"), skill_shape)
    rec.call("2 -> deprecated", lambda: s.update_skill_version("alpha", 2, status="deprecated"), v)
    rec.call("delete 2 (drops its alias)", lambda: s.delete_skill_version("alpha", 2))
    rec.call("by alias canary after delete", lambda: s.get_skill_version_by_alias("alpha", "canary"), v)
    rec.call("get alpha aliases after delete", lambda: s.get_skill("alpha"), skill_shape)
    rec.call("delete alias prod", lambda: s.delete_skill_alias("alpha", "prod"))
    rec.call("delete alias prod again", lambda: s.delete_skill_alias("alpha", "prod"))
    rec.call("delete alias latest", lambda: s.delete_skill_alias("alpha", "latest"))
    rec.call("delete alias reserved", lambda: s.delete_skill_alias("alpha", "v3"))
    rec.call("delete alias of missing skill", lambda: s.delete_skill_alias("nope", "prod"))
    rec.call("set alias again for search", lambda: s.set_skill_alias("alpha", "stable", 4))


def bulk(rec: Recorder) -> None:
    s = rec.store
    vs = versions_shape
    rec.call("bulk new and existing", lambda: s.bulk_register_skills(
        [_git("theta"), _git("alpha"), _git("iota")], created_by="eve"), vs)
    rec.call("bulk again reuses", lambda: s.bulk_register_skills(
        [_git(n, status="draft") for n in ("iota", "theta", "alpha")]), vs)
    rec.call("bulk new digest creates", lambda: s.bulk_register_skills(
        [_git("theta", OTHER_DIGEST, status="draft"), _git("iota", status="draft")]), vs)
    rec.call("bulk reuse keeps the existing status", lambda: s.bulk_register_skills([_git("theta")]), vs)
    rec.call("bulk organization acme", lambda: s.bulk_register_skills([_git("beta"), _git("kappa")],
                                                                      organization="acme"), vs)
    rec.call("bulk conflict: later name expected missing", lambda: s.bulk_register_skills(
        [_git("lambda"), _git("mu"), _git("alpha")], expected_parent_exists={"lambda": False, "alpha": False}), vs)
    rec.call("bulk conflict: expected existing", lambda: s.bulk_register_skills(
        [_git("aaa-first"), _git("nu")], expected_parent_exists={"nu": True}), vs)
    rec.call("bulk expectations met", lambda: s.bulk_register_skills(
        [_git("xi"), _git("alpha", OTHER_DIGEST)], expected_parent_exists={"xi": False, "alpha": True}), vs)
    for label, defs, kwargs in (
        ("empty", [], {}), ("not a list", "x", {}), ("no name", [{"source": "x"}], {}),
        ("bad name", [_git("Bad")], {}), ("bad organization", [_git("pi")], {"organization": "A"}),
        ("duplicate", [_git("pi"), _git("pi")], {}),
        ("mixed status", [_git("pi"), _git("rho", status="draft")], {}),
        ("status deprecated", [_git("pi", status="deprecated")], {}),
        ("two repositories", [_git("pi"), dict(_git("rho"), source="https://x/other.git")], {}),
        ("two refs", [_git("pi"), dict(_git("rho"), ref="v2")], {}),
        ("zip source", [dict(_git("pi"), source_type="zip", ref=None)], {}),
        ("no digest", [dict(_git("pi"), digest=None)], {}),
        ("bad digest", [dict(_git("pi"), digest="xyz")], {}),
        ("escaping subpath", [dict(_git("pi"), subpath="../x")], {}),
        ("subpath normalized", [dict(_git("pi"), subpath=" ./a/b/ ")], {}),
    ):
        rec.call(f"bulk bad {label}", partial(s.bulk_register_skills, defs, **kwargs), vs)
    for name in ("lambda", "mu", "aaa-first", "nu", "rho"):
        rec.call(f"nothing left of failed batches: {name}", partial(s.get_skill, name), skill_shape)
    rec.call("theta versions", lambda: s.search_skill_versions("theta"), vs)


SKILL_FILTERS = [
    None, "name = 'alpha'", "name != 'alpha'", "name LIKE 'a%'", "name ILIKE 'BE%'", "name LIKE '%ta'",
    "organization = 'acme'", "organization = ''", "organization IN ('acme', 'acme.labs')",
    "description LIKE '%code%'", "description ILIKE '%FIRST%'", "description = 'acme beta'",
    "description != 'x'", "search_text ILIKE '%reviews code%'", "search_text LIKE 'alpha%'",
    "status = 'active'", "status = 'draft'", "status != 'active'", "status IN ('draft', 'deprecated')",
    "status NOT IN ('active')", "source_type = 'git'", "source_type = 'zip'", "source_type != 'git'",
    "created_at > 0", "last_updated_at >= 1", "created_at < 1",
    "tags.team = 'nlp'", "tags.team != 'nlp'", "tags.team LIKE '%i%'", "tags.team ILIKE 'VIS%'",
    "tags.team = 'vision' AND organization = 'acme'", "tags.`long` LIKE 'x%'", "tags.team = 'nlp' AND tags.nope = 'x'",
    "name LIKE '%a%' AND status = 'active'",
]
SKILL_ORDERS: list[list[str] | None] = [
    None, ["name ASC"], ["name DESC"], ["organization DESC"], ["status ASC"], ["status DESC", "name DESC"],
    ["source_type ASC"], ["description DESC"], ["created_at DESC"], ["last_updated_at ASC", "organization ASC"],
    ["search_text"],
]
VERSION_FILTERS = [
    None, "status = 'active'", "status IN ('draft', 'deprecated')", "status != 'draft'", "source_type = 'git'",
    "source_type != 'zip'", "digest = '" + DIGEST + "'", "digest LIKE 'b%'", "version > 1", "version = 2",
    "version <= 3", "organization = ''", "created_at > 0", "tags.stage = 'qa'", "tags.stage != 'qa'",
    "tags.stage LIKE 'p%'",
]
VERSION_ORDERS: list[list[str] | None] = [
    None, ["version DESC"], ["status ASC"], ["source_type DESC"], ["digest ASC", "version DESC"],
    ["created_at ASC"], ["last_updated_at DESC"],
]


def _paged(search: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[str | None], Any]:
    return lambda token: search(*args, page_token=token, **kwargs)


def _pages(search: Callable[[str | None], Any]) -> list[list[Any]]:
    pages, token = [], None
    while True:
        page = search(token)
        pages.append(list(page))
        token = page.token
        if not token or len(pages) > 50:
            return pages


def _ids(pages: list[list[Any]]) -> dict[str, Any]:
    return {"page_sizes": [len(p) for p in pages],
            "ids": [getattr(x, "version", None) or f"{x.organization}/{x.name}" for p in pages for x in p]}


_TIME_KEYS = {"created_at": "creation_timestamp", "last_updated_at": "last_updated_timestamp"}


def _ordered_by(order: list[str] | None, tiebreak: list[str]) -> Callable[[list[list[Any]]], dict[str, Any]]:
    """The shape of a search's pages. Timestamps are each store's own, so an order led by one is compared as
    the same items in an order that agrees with the timestamps (ties broken by the tiebreakers) and the same
    page sizes; any other order is compared item by item."""
    first = (order or [""])[0].split()
    if not first or first[0] not in _TIME_KEYS:
        return _ids

    def shape(pages: list[list[Any]]) -> dict[str, Any]:
        items = [x for p in pages for x in p]
        descending = len(first) > 1 and first[1].upper() == "DESC"
        keys = [(getattr(x, _TIME_KEYS[first[0]]), *(getattr(x, t) for t in tiebreak)) for x in items]
        agrees = all((a[0] > b[0] if descending else a[0] < b[0]) or (a[0] == b[0] and a[1:] <= b[1:])
                     for a, b in zip(keys, keys[1:], strict=False))
        return {"page_sizes": [len(p) for p in pages], "ids": sorted(_ids(pages)["ids"], key=str),
                "agrees with the timestamps": agrees}

    return shape


def search(rec: Recorder, page_size: int) -> None:
    s = rec.store
    combos = [(None, o) for o in SKILL_ORDERS] + [(f, SKILL_ORDERS[i % len(SKILL_ORDERS)])
                                                   for i, f in enumerate(SKILL_FILTERS)]
    for flt, order in combos:
        rec.call(f"search skills filter={flt!r} order={order}",
                 partial(_pages, _paged(s.search_skills, filter_string=flt, max_results=page_size, order_by=order)),
                 _ordered_by(order, ["organization", "name"]))
    rec.call("search skills full entities", lambda: s.search_skills(max_results=100),
             lambda r: ([skill_shape(x) for x in r], r.token))
    selectors = [([("", "alpha"), ("acme", "beta"), ("", "nope")], None), ([], None),
                 (None, [("", "alpha"), ("acme", "kappa")]), ([("", "alpha"), ("", "beta")], [("", "alpha")])]
    for include, exclude in selectors:
        rec.call(f"search skills include={include} exclude={exclude}",
                 partial(_pages, _paged(s.search_skills, max_results=2, include_skill_identities=include,
                                         exclude_skill_identities=exclude)), _ids)
    first = rec.call("first page for token checks", lambda: s.search_skills(filter_string="name LIKE '%a%'",
                                                                             max_results=2), lambda r: bool(r.token))
    token = first.token if first is not None else None
    rec.call("token with another filter", lambda: s.search_skills(filter_string="name LIKE '%e%'", max_results=2,
                                                                  page_token=token), _ids_of_page)
    rec.call("token with another order", lambda: s.search_skills(filter_string="name LIKE '%a%'", max_results=2,
                                                                 order_by=["name DESC"], page_token=token), _ids_of_page)
    rec.call("token for versions search", lambda: s.search_skill_versions("alpha", max_results=2, page_token=token),
             _ids_of_page)
    for bad in ("foo = 'x'", "name > 'a'", "created_at LIKE '1%'", "tags.team > 'a'", "tags.team IS NULL",
                "name IN ('alpha')", "status = ('active')", "params.x = 'y'", "name = 'a' OR name = 'b'",
                "created_at > 'abc'"):
        rec.call(f"search skills bad filter {bad}", partial(s.search_skills, filter_string=bad), _ids_of_page)
    for label, kwargs in (("max_results 0", {"max_results": 0}), ("max_results 1001", {"max_results": 1001}),
                          ("max_results '5'", {"max_results": "5"}), ("max_results True", {"max_results": True}),
                          ("garbage token", {"page_token": "garbage"}), ("order unknown", {"order_by": ["foo"]}),
                          ("order duplicate", {"order_by": ["name", "name DESC"]}),
                          ("order bad direction", {"order_by": ["name UP"]})):
        rec.call(f"search skills bad {label}", partial(s.search_skills, **kwargs), _ids_of_page)
    for name, org in (("alpha", ""), ("theta", ""), ("beta", "acme"), ("nope", "")):
        combos2 = [(None, o) for o in VERSION_ORDERS] + [(f, VERSION_ORDERS[i % len(VERSION_ORDERS)])
                                                          for i, f in enumerate(VERSION_FILTERS)]
        for flt, order in combos2:
            rec.call(f"search versions {org}/{name} filter={flt!r} order={order}",
                     partial(_pages, _paged(s.search_skill_versions, name, org, filter_string=flt, max_results=2,
                                             order_by=order)), _ordered_by(order, ["version"]))
    rec.call("search versions full entities", lambda: s.search_skill_versions("alpha"), versions_shape)
    for bad in ("name = 'alpha'", "version LIKE '1'", "tags.x IS NOT NULL", "digest IN ('a')"):
        rec.call(f"search versions bad filter {bad}", partial(s.search_skill_versions, "alpha", filter_string=bad),
                 _ids_of_page)
    rec.call("search versions bad name", lambda: s.search_skill_versions("Bad"), _ids_of_page)
    rec.call("search versions bad order", lambda: s.search_skill_versions("alpha", order_by=["name"]), _ids_of_page)


def _ids_of_page(page: Any) -> list[str]:
    return [f"{x.organization}/{x.name}/{getattr(x, 'version', '')}" for x in page]


def delete(rec: Recorder) -> None:
    s = rec.store
    owned = f"mlflow-artifacts:/skills/@acme/omega/{UPLOAD_SEGMENT}"
    rec.call("omega owned upload", lambda: s.create_skill_version("omega", "acme", source_type="mlflow", source=owned),
             version_shape)
    rec.call("omega referenced tree", lambda: s.create_skill_version(
        "omega", "acme", source_type="mlflow", source=owned, subpath="inner"), version_shape)
    rec.call("omega other identity's path", lambda: s.create_skill_version(
        "omega", "acme", source_type="mlflow", source=f"mlflow-artifacts:/skills/omega/{UPLOAD_SEGMENT}"), version_shape)
    rec.call("omega deeper path", lambda: s.create_skill_version(
        "omega", "acme", source_type="mlflow", source=f"{owned}/more"), version_shape)
    rec.call("omega alias and tag", lambda: (s.set_skill_alias("omega", "prod", 1, "acme"),
                                             s.set_skill_tag("omega", "k", "v", "acme")))
    rec.call("delete omega collects owned paths", lambda: s.delete_skill_and_collect_artifacts("omega", "acme"),
             sorted)
    rec.call("get omega after delete", lambda: s.get_skill("omega", "acme"), skill_shape)
    rec.call("omega versions after delete", lambda: s.search_skill_versions("omega", "acme"), versions_shape)
    rec.call("delete omega again", lambda: s.delete_skill_and_collect_artifacts("omega", "acme"), sorted)
    rec.call("omega again starts at version 1", lambda: s.create_skill_version("omega", "acme"), version_shape)
    rec.call("get omega re-created (no old tags/aliases)", lambda: s.get_skill("omega", "acme"), skill_shape)
    rec.call("delete_skill alpha", lambda: s.delete_skill("alpha"))
    rec.call("delete_skill missing", lambda: s.delete_skill("alpha"))
    rec.call("delete_skill bad name", lambda: s.delete_skill("Bad"))
    rec.call("alpha versions gone", lambda: s.search_skill_versions("alpha"), versions_shape)
    rec.call("alpha alias gone", lambda: s.get_skill_version_by_alias("alpha", "stable"), version_shape)
    rec.call("remaining skills", lambda: _pages(lambda t: s.search_skills(max_results=4, page_token=t)), _ids)


def replay(store: Any, page_size: int = 3) -> list[Observation]:
    rec = Recorder(store)
    skills(rec)
    versions(rec)
    lifecycle(rec)
    tags_and_aliases(rec)
    bulk(rec)
    search(rec, page_size)
    delete(rec)
    return rec.log


_REFERENCE: dict[int, list[Observation]] = {}


def reference_observations(root: Path, page_size: int) -> list[Observation]:
    """SqlAlchemyStore's answers, computed once per process."""
    if page_size not in _REFERENCE:
        _REFERENCE[page_size] = replay(sqlite_reference_store(root), page_size)
    return _REFERENCE[page_size]


class SkillStoreConformance:
    """Subclass and provide a `candidate_store` fixture returning a fresh, empty tracking store."""

    page_size = 3

    def test_skills_same_answers_as_sqlalchemy_store(self, candidate_store: Any, tmp_path: Path) -> None:
        import pytest

        if not HAS_SKILLS:
            pytest.skip(SKIP_REASON)
        want = reference_observations(tmp_path / "reference", self.page_size)
        got = replay(candidate_store, self.page_size)
        diffs = compare(want, got)
        assert not diffs, f"{len(diffs)} difference(s) from MLflow's store:\n" + "\n".join(diffs[:15])
