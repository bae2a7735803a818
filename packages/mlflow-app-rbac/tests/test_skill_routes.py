"""The route table reads the same skill out of a path as MLflow's router, and skill ids are spelled as MLflow spells them."""

from __future__ import annotations

import itertools

import pytest
from mlflow.exceptions import MlflowException
from mlflow_app_rbac import paths, routes, skills
from mlflow_app_rbac.mlflow_compat import has_skills, skill_name_validators, skill_registry_router
from mlflow_app_rbac.skills import SkillId

needs_skills = pytest.mark.skipif(not has_skills(), reason="this MLflow has no Skills registry (added in 3.18)")

SEGMENTS = ["@acme", "n", "versions", "tags", "aliases", "1", "bulk-register"]
METHODS = ["GET", "POST", "PATCH", "DELETE"]


@needs_skills
def test_every_path_mlflow_routes_names_the_same_skill_in_the_table():
    """Starlette serves a path with the first route that matches it (method and path); the table must
    pick a row that reads the same `{organization}`/`{name}` from it, for every spelling up to 5 segments."""
    from starlette.routing import Match

    mlflow_routes = skill_registry_router().routes
    compared = 0
    for length in range(0, 6):
        for parts in itertools.product(SEGMENTS, repeat=length):
            suffix = "".join("/" + p for p in parts)
            for method in METHODS:
                scope = {"type": "http", "path": suffix, "method": method, "root_path": ""}
                served = next((r.matches(scope)[1].get("path_params", {}) for r in mlflow_routes
                               if r.matches(scope)[0] == Match.FULL), None)
                if served is None:
                    continue
                for api in ("/api", "/ajax-api"):
                    found = routes.match(method, paths.canonical(f"{api}/3.0/mlflow/skills{suffix}", ""))
                    assert found is not None, (method, suffix)
                    rule, params = found
                    assert rule.check == "skill", (method, suffix, rule)
                    assert (params.get("organization", ""), params.get("name")) == (
                        served.get("organization", ""), served.get("name")), (method, suffix)
                compared += 1
    assert compared > 1000


@needs_skills
def test_the_table_lists_mlflows_skill_routes_in_mlflows_order():
    prefix = "3.0/mlflow/skills"
    ours = [(method, pattern[len(prefix):]) for method, pattern, _ in routes.SKILL_ROUTES]
    theirs = [(next(iter(r.methods - {"HEAD"})), r.path) for r in skill_registry_router().routes]
    assert ours == theirs


@needs_skills
@pytest.mark.parametrize("value", [
    "a", "a1", "my-skill", "0-9", "x" * 64, "x" * 65, "", "A", "a_b", "a--b", "-a", "a-", "a.b", "a b", "é", "@a",
    "a/b", "..", "acme.io", "a..b", "a.-b", ".a", "a.",
])
def test_names_and_organizations_are_valid_exactly_when_mlflow_says_so(value):
    validate_name, validate_organization = skill_name_validators()
    for ours, theirs in ((skills.check_name, validate_name), (skills.check_organization, validate_organization)):
        try:
            theirs(value)
            mlflow_ok = True
        except MlflowException:
            mlflow_ok = False
        try:
            ours(value)
            ok = True
        except MlflowException as e:
            ok = False
            assert e.error_code == "INVALID_PARAMETER_VALUE" and repr(value[:80]) in e.message
        assert ok is mlflow_ok, (ours.__name__, value)


def test_resource_keys():
    assert skills.parse_key("foo") == SkillId("", "foo")
    assert skills.parse_key("@acme.io/foo") == SkillId("acme.io", "foo")
    assert SkillId("acme", "foo").key == "@acme/foo" and SkillId("", "foo").key == "foo"
    for bad in ("@acme", "@/foo", "@acme/", "a/b", "@acme/b/c", "Foo", ""):
        with pytest.raises(MlflowException, match="Invalid skill"):
            skills.parse_key(bad)


@pytest.mark.parametrize("path, skill", [
    ("skills/foo/0123abcd/SKILL.md", SkillId("", "foo")),
    ("skills/foo", SkillId("", "foo")),
    ("skills/@acme/foo/t/x", SkillId("acme", "foo")),
    ("skills", None), ("skills/@acme", None), ("skills/@/foo/x", None), ("Skills/foo/x", None),
    ("skills//foo", None), ("skills/./foo", None), ("skills/foo/../bar", None), ("skills/Foo/x", None),
    ("skills/@Acme/foo", None), ("1/skills/foo", None), ("workspaces/w/skills/foo", None),
])
def test_skill_content_paths(path, skill):
    assert skills.from_artifact_path(path) == skill


def test_skill_rows_do_not_break_an_mlflow_without_skills():
    """The rows are plain table rows: they match skill paths and nothing else, whatever MLflow serves."""
    for method, path in [("GET", "/api/2.0/mlflow/registered-models/get"), ("POST", "/api/2.0/mlflow/runs/create"),
                         ("GET", "/api/3.0/mlflow/traces/x1"), ("GET", "/api/3.0/mlflow/scorers/list")]:
        found = routes.match(method, path)
        assert found is not None and found[0].check != "skill", (method, path)
    assert routes.match("GET", "/api/3.0/mlflow/skillsx") is None
    assert routes.match("PUT", "/api/3.0/mlflow/skills/foo") is None
