"""Skills (MLflow 3.18's registry) are scoped like registered models, per skill and per organization.

Every test here runs against the session's real `mlflow server --app-name rbac` (uvicorn), where
MLflow serves the Skills registry; on an MLflow without it they are skipped, saying so.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from mlflow_app_rbac.cli import main as cli_main
from mlflow_app_rbac.mlflow_compat import has_skills

pytestmark = pytest.mark.skipif(not has_skills(), reason="this MLflow has no Skills registry (added in 3.18)")

S = "/api/3.0/mlflow/skills"
DIGEST = "a" * 64
VERSION = {"source_type": "git", "source": "https://github.com/example/skills", "ref": "main", "digest": DIGEST}
R, E, M = "READ", "EDIT", "MANAGE"


def new_name() -> str:
    return f"s{uuid.uuid4().hex[:12]}"


def new_org() -> str:
    return f"org{uuid.uuid4().hex[:8]}.io"


def key(org: str, name: str) -> str:
    return f"@{org}/{name}" if org else name


def base(org: str, name: str, api: str = "/api") -> str:
    return f"{api}/3.0/mlflow/skills/" + (f"@{org}/{name}" if org else name)


def ok(resp: Any) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def make_skill(server: Any, org: str = "", token: str | None = None) -> str:
    """A skill with version 1, a tag `k`, a version tag `k` and alias `prod` (made by `token`, else the admin)."""
    name = new_name()
    token = token or server.admin_key
    ok(server.call("POST", S, token, json={"name": name, "organization": org}))
    b = base(org, name)
    ok(server.call("POST", f"{b}/versions", token, json=VERSION))
    ok(server.call("POST", f"{b}/tags", token, json={"key": "k", "value": "v"}))
    ok(server.call("POST", f"{b}/versions/1/tags", token, json={"key": "k", "value": "v"}))
    ok(server.call("POST", f"{b}/aliases", token, json={"alias": "prod", "version": 1}))
    return name


def skill_routes(org: str, name: str, api: str = "/api") -> list[tuple[str, str, str, Any]]:
    """(role needed, method, path, body) of every route that addresses one existing skill."""
    b = base(org, name, api)
    return [
        (R, "GET", b, None), (R, "GET", f"{b}/versions", None), (R, "GET", f"{b}/versions/1", None),
        (R, "GET", f"{b}/aliases/prod", None),
        (E, "PATCH", b, {"description": "changed"}), (E, "POST", f"{b}/tags", {"key": "k2", "value": "v"}),
        (E, "DELETE", f"{b}/tags/k2", None), (E, "POST", f"{b}/versions/1/tags", {"key": "k2", "value": "v"}),
        (E, "POST", f"{b}/aliases", {"alias": "prod", "version": 1}),
        (E, "PATCH", f"{b}/versions/1", {"status": "active"}), (E, "POST", f"{b}/versions", VERSION),
        (E, "POST", f"{api}/3.0/mlflow/skills/bulk-register",
         {"organization": org, "skills": [{"name": name, **VERSION}]}),
        (M, "DELETE", f"{b}/versions/1/tags/k", None), (M, "DELETE", f"{b}/aliases/prod", None),
        (M, "PATCH", f"{b}/versions/1", {"status": "deleted"}), (M, "DELETE", f"{b}/versions/1", None),
        (M, "DELETE", b, None),
    ]


def versions(server: Any, org: str, name: str) -> list[int]:
    return [v["version"] for v in ok(server.call("GET", f"{base(org, name)}/versions", server.admin_key))["skill_versions"]]


@pytest.mark.parametrize("org", ["", "acme"], ids=["no-organization", "organization"])
def test_a_user_without_a_grant_gets_403_on_every_skill_route(server, idp, user, org):
    org = org and new_org()
    name = make_skill(server, org)
    token = idp.token(user)
    for api in ("/api", "/ajax-api"):
        for _, method, path, body in skill_routes(org, name, api):
            resp = server.call(method, path, token, json=body) if body is not None else server.call(method, path, token)
            assert resp.status_code == 403, (method, path, resp.text)
            assert resp.json()["error_code"] == "PERMISSION_DENIED" and key(org, name) in resp.json()["message"]
    # nothing changed: the skill, its version, tags and alias are all still there
    assert versions(server, org, name) == [1]
    got = ok(server.call("GET", base(org, name), server.admin_key))
    assert got["tags"] == {"k": "v"} and got["aliases"] == [{"alias": "prod", "version": 1}]
    search = ok(server.call("GET", S, token, params={"filter_string": f"name = '{name}'"}))
    assert search["skills"] == []


@pytest.mark.parametrize("granted", [R, E, M])
def test_each_role_opens_exactly_its_routes(server, idp, user, granted):
    org = new_org()
    name = make_skill(server, org)
    server.grant("skill", key(org, name), user, granted)
    token = idp.token(user)
    order = [R, E, M]
    for need, method, path, body in skill_routes(org, name):
        if method == "DELETE" and path == base(org, name):
            continue  # deleting the skill is checked last
        resp = server.call(method, path, token, json=body) if body is not None else server.call(method, path, token)
        if order.index(need) <= order.index(granted):
            assert resp.status_code != 403, (granted, method, path, resp.text)
        else:
            assert resp.status_code == 403, (granted, method, path, resp.text)
    resp = server.call("DELETE", base(org, name), token)
    assert resp.status_code == (200 if granted == M else 403), resp.text


def test_a_reader_reads_and_cannot_edit(server, idp, user):
    name = make_skill(server)
    server.grant("skill", name, user, R)
    token = idp.token(user)
    assert ok(server.call("GET", base("", name), token))["name"] == name
    assert ok(server.call("GET", f"{base('', name)}/aliases/prod", token))["version"] == 1
    assert server.call("PATCH", base("", name), token, json={"description": "x"}).status_code == 403
    assert server.call("POST", f"{base('', name)}/versions", token, json=VERSION).status_code == 403
    assert versions(server, "", name) == [1]


def test_the_creator_becomes_manager_and_is_recorded_as_creator(server, idp, user):
    token = idp.token(user)
    created = ok(server.call("POST", S, token, json={"name": new_name()}))
    name = created["name"]
    assert created["created_by"] == user  # the gate tells MLflow who asks (request.state.username)
    grants = ok(server.call("GET", "/api/2.0/rbac/grants", server.admin_key,
                            params={"resource_type": "skill", "resource_id": name}))["grants"]
    assert [(g["principal"], g["permission"]) for g in grants] == [(user, M)]
    ok(server.call("POST", f"{base('', name)}/versions", token, json=VERSION))
    other = idp.token(f"other-{user}")
    assert server.call("GET", base("", name), other).status_code == 403
    assert ok(server.call("DELETE", base("", name), token)) == {}


def test_registering_a_new_skill_makes_its_creator_manager(server, idp, user):
    token = idp.token(user)
    name = new_name()
    version = ok(server.call("POST", f"{base('', name)}/versions", token, json=VERSION))
    assert version["version"] == 1 and version["created_by"] == user
    names = [new_name(), new_name()]
    bulk = ok(server.call("POST", f"{S}/bulk-register", token,
                          json={"skills": [{"name": n, **VERSION} for n in names]}))
    assert sorted(v["name"] for v in bulk["skill_versions"]) == sorted(names)
    mine = ok(server.call("GET", "/api/2.0/rbac/grants", server.admin_key, params={"principal": user}))["grants"]
    assert {(g["resource_type"], g["resource_id"], g["permission"]) for g in mine} == {
        ("skill", n, M) for n in [name, *names]}


def test_a_reused_skill_name_does_not_keep_old_grants(server, idp, user):
    name = make_skill(server)
    server.grant("skill", name, f"old-{user}", M)
    ok(server.call("DELETE", base("", name), server.admin_key))
    ok(server.call("POST", S, idp.token(user), json={"name": name}))
    grants = ok(server.call("GET", "/api/2.0/rbac/grants", server.admin_key,
                            params={"resource_type": "skill", "resource_id": name}))["grants"]
    assert [(g["principal"], g["permission"]) for g in grants] == [(user, M)]


def test_an_organization_grant_covers_its_skills_only(server, idp, user):
    org, other_org = new_org(), new_org()
    mine, theirs = make_skill(server, org), make_skill(server, other_org)
    loose = make_skill(server)
    server.grant("skill_organization", org, user, R)
    token = idp.token(user)
    assert ok(server.call("GET", base(org, mine), token))["name"] == mine
    assert server.call("GET", base(other_org, theirs), token).status_code == 403
    assert server.call("GET", base("", loose), token).status_code == 403
    assert server.call("POST", f"{base(org, mine)}/tags", token, json={"key": "a", "value": "b"}).status_code == 403
    # creating in an organization needs EDIT on it
    assert server.call("POST", S, token, json={"name": new_name(), "organization": org}).status_code == 403
    assert server.call("POST", f"{base(org, new_name())}/versions", token, json=VERSION).status_code == 403
    server.grant("skill_organization", org, user, E)
    made = ok(server.call("POST", S, token, json={"name": new_name(), "organization": org}))
    assert made["organization"] == org
    assert ok(server.call("POST", f"{base(org, mine)}/tags", token, json={"key": "a", "value": "b"})) == {}
    assert server.call("DELETE", base(org, mine), token).status_code == 403
    grants = ok(server.call("GET", "/api/2.0/rbac/grants", server.admin_key,
                            params={"resource_type": "skill", "principal": user}))["grants"]
    assert [(g["resource_id"], g["permission"]) for g in grants] == [(f"@{org}/{made['name']}", M)]


def test_bulk_register_checks_every_skill(server, idp, user):
    editable, hidden = make_skill(server), make_skill(server)
    server.grant("skill", editable, user, E)
    token = idp.token(user)
    both = {"skills": [{"name": editable, **VERSION}, {"name": hidden, **VERSION}]}
    resp = server.call("POST", f"{S}/bulk-register", token, json=both)
    assert resp.status_code == 403 and hidden in resp.json()["message"]
    assert versions(server, "", editable) == [1] and versions(server, "", hidden) == [1]
    new_content = {**VERSION, "digest": "b" * 64}  # the same digest again would be the same version
    ok(server.call("POST", f"{S}/bulk-register", token, json={"skills": [{"name": editable, **new_content}]}))
    assert sorted(versions(server, "", editable)) == [1, 2]
    # a new skill in an organization the caller may not create in fails the whole batch
    org = new_org()
    mixed = {"organization": org, "skills": [{"name": new_name(), **VERSION}]}
    assert server.call("POST", f"{S}/bulk-register", token, json=mixed).status_code == 403


def _walk(server: Any, token: str, flt: str, page: int) -> list[list[str]]:
    pages: list[list[str]] = []
    page_token = None
    for _ in range(100):
        params: dict[str, Any] = {"filter_string": flt, "max_results": page, "order_by": "name ASC"}
        if page_token:
            params["page_token"] = page_token
        data = ok(server.call("GET", S, token, params=params))
        pages.append([key(s["organization"], s["name"]) for s in data["skills"]])
        page_token = data.get("next_page_token")
        if not page_token:
            return pages
    raise AssertionError("the page tokens never ended")


def test_search_holds_only_readable_skills_in_full_pages(server, idp, user):
    prefix = f"p{uuid.uuid4().hex[:8]}"
    org, other_org = new_org(), new_org()
    names: list[tuple[str, str]] = []
    for i in range(14):
        o = org if i % 3 == 0 else other_org if i % 3 == 1 else ""
        name = f"{prefix}-{i:02d}"
        ok(server.call("POST", S, server.admin_key, json={"name": name, "organization": o}))
        names.append((o, name))
    single = [names[i] for i in (1, 2, 5, 9)]  # one in another organization, two in none, one redundant
    readable = {key(o, n) for o, n in names if o == org} | {key(o, n) for o, n in single}
    server.grant("skill_organization", org, user, R)
    for o, n in single:
        server.grant("skill", key(o, n), user, R)
    flt = f"name LIKE '{prefix}-%'"
    expected = [k for p in _walk(server, server.admin_key, flt, 1000) for k in p if k in readable]
    assert len(expected) == len(readable) == 8
    token = idp.token(user)
    for page in (1, 3, 8, 50):
        pages = _walk(server, token, flt, page)
        assert [k for p in pages for k in p] == expected  # each readable skill once, in MLflow's order
        assert all(len(p) == page for p in pages[:-1]), [len(p) for p in pages]  # full pages
        assert len(pages[-1]) <= page
    # the caller's own selector is intersected with what they may read
    hidden = next(key(o, n) for o, n in names if key(o, n) not in readable)
    asked = ok(server.call("GET", S, token, params={"include_skill_identities": [expected[0], hidden]}))
    assert [key(s["organization"], s["name"]) for s in asked["skills"]] == [expected[0]]


def test_deleting_a_version_by_status_needs_manage(server, idp, user):
    name = make_skill(server)
    server.grant("skill", name, user, E)
    token = idp.token(user)
    for status in ("deleted", "DELETED", " Deleted "):
        resp = server.call("PATCH", f"{base('', name)}/versions/1", token, json={"status": status})
        assert resp.status_code == 403, (status, resp.text)
    assert ok(server.call("PATCH", f"{base('', name)}/versions/1", token, json={"status": "deprecated"}))["status"] == "deprecated"


def test_skill_content_in_the_artifact_store_follows_the_skill(server, idp, user):
    name = make_skill(server)
    path = f"/api/2.0/mlflow-artifacts/artifacts/skills/{name}/{uuid.uuid4().hex}/SKILL.md"
    token = idp.token(user)
    assert server.call("GET", path, token).status_code == 403
    server.grant("skill", name, user, R)
    assert server.call("GET", path, token).status_code != 403  # the gate lets it through: MLflow answers
    # the namespace root and an organization's directory name no single skill: admins only
    for other in ("skills", "skills/@acme", f"skills/@/{name}/f", f"Skills/{name}/f"):
        assert server.call("GET", f"/api/2.0/mlflow-artifacts/artifacts/{other}", token).status_code == 403, other


def test_bad_names_and_bodies_are_clear_400s(server, idp, user):
    token = idp.token(user)
    for method, path, body, words in [
        ("GET", f"{S}/Bad_Name", None, "Invalid skill name 'Bad_Name'"),
        ("GET", f"{S}/@Acme/x", None, "Invalid skill organization 'Acme'"),
        ("POST", S, {"organization": "acme"}, "Invalid skill name"),
        ("POST", S, ["not", "an", "object"], "expected a JSON object"),
        ("POST", f"{S}/bulk-register", {"skills": []}, "'skills' must be a list of 1 to"),
        ("POST", f"{S}/bulk-register", {"skills": ["x"]}, "must be a JSON object"),
    ]:
        resp = server.call(method, path, token, json=body) if body is not None else server.call(method, path, token)
        assert resp.status_code == 400, (path, resp.text)
        assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE" and words in resp.json()["message"], resp.text
    for resource_type, resource_id in [("skill", "@acme"), ("skill", "a/b"), ("skill_organization", "Acme")]:
        resp = server.call("POST", "/api/2.0/rbac/grants", server.admin_key, json={
            "resource_type": resource_type, "resource_id": resource_id, "principal": user, "permission": "READ"})
        assert resp.status_code == 400 and "Invalid skill" in resp.json()["message"], resp.text


def test_cli_grants_skills_and_organizations(server, idp, user, capsys, monkeypatch):
    org = new_org()
    name = make_skill(server, org)
    loose = make_skill(server)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_key)
    assert cli_main(["--url", server.url, "grant", "skill", loose, "--user", user, "READ"]) == 0
    assert cli_main(["--url", server.url, "grant", "skill_organization", org, "--user", user, "READ"]) == 0
    capsys.readouterr()
    token = idp.token(user)
    assert ok(server.call("GET", base("", loose), token))["name"] == loose
    assert ok(server.call("GET", base(org, name), token))["name"] == name
    assert cli_main(["--url", server.url, "revoke", "skill_organization", org, "--user", user]) == 0
    assert server.call("GET", base(org, name), token).status_code == 403
