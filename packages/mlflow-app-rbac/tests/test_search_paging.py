"""Searches return only readable items, in full pages, and their page tokens walk the readable set once.

Run against the uvicorn server (readable ids put in MLflow's filter), the static-prefix server
(uvicorn, MLFLOW_RBAC_SEARCH_IN_LIMIT=0: pages filled by scanning MLflow's pages) and the gunicorn
server (WSGI, ids in the filter); the admin's unfiltered answer restricted to the granted items is the
expected result, in the same order.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

EXP = "/api/2.0/mlflow/experiments/search"
MODELS = "/api/2.0/mlflow/registered-models/search"
VERSIONS = "/api/2.0/mlflow/model-versions/search"


@pytest.fixture(scope="session", params=["uvicorn", "static-prefix", "gunicorn"],
                ids=["uvicorn-ids-in-filter", "static-prefix-scan", "gunicorn-ids-in-filter"])
def srv(request, server, kit, idp, tmp_path_factory):
    if request.param == "uvicorn":
        server.ajax_url = server.url
        return server
    mode = kit.mode_server(tmp_path_factory, idp, request.param)
    mode.server.ajax_url = mode.base + mode.prefix  # MLflow 3.0 moved only /ajax-api under the prefix
    return mode.server


def _walk(srv, token: str, method: str, path: str, key: str, page: int, **params: Any) -> list[list[dict]]:
    pages: list[list[dict]] = []
    page_token = None
    for _ in range(200):
        args = {**params, "max_results": page, **({"page_token": page_token} if page_token else {})}
        if method == "GET":
            resp = srv.call("GET", path, token, params=args)
        else:
            resp = srv.call("POST", path, token, json=args)
        assert resp.status_code == 200, resp.text
        data = resp.json()
        pages.append(data.get(key, []))
        page_token = data.get("next_page_token")
        if not page_token:
            return pages
    raise AssertionError("the page tokens never ended")


def _check_pages(pages: list[list[dict]], page: int, expected: list[str], ident: Any) -> None:
    got = [ident(i) for p in pages for i in p]
    assert got == expected  # every readable item once, nothing else, in MLflow's order
    assert all(len(p) == page for p in pages[:-1]), [len(p) for p in pages]  # full pages
    assert len(pages) == max(1, -(-len(expected) // page)) or (len(pages[-1]) == 0 and len(expected) % page == 0)


def _experiments(srv, prefix: str, n: int) -> list[str]:
    return [srv.experiment(name=f"{prefix}-{i:03d}") for i in range(n)]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_experiment_pages_are_full_and_walk_the_readable_set_once(srv, idp, user, method):
    prefix = f"pg-{uuid.uuid4().hex[:10]}"
    exps = _experiments(srv, prefix, 60)
    readable = set(exps[::10]) | {exps[1], exps[2], exps[59]}  # 9 of 60, clustered and spread
    for e in readable:
        srv.grant("experiment", e, user, "READ")
    flt = f"name LIKE '{prefix}-%'"
    admin = _walk(srv, srv.admin_key, "GET", EXP, "experiments", 1000, filter=flt, order_by=["name ASC"])
    expected = [e["experiment_id"] for p in admin for e in p if e["experiment_id"] in readable]
    assert len(expected) == 9
    for page in (1, 2, 4, 9, 50):
        pages = _walk(srv, idp.token(user), method, EXP, "experiments", page, filter=flt, order_by=["name ASC"])
        _check_pages(pages, page, expected, lambda e: e["experiment_id"])


def test_experiments_through_the_ajax_api_like_the_ui(srv, idp, user, kit):
    prefix = f"ui-{uuid.uuid4().hex[:10]}"
    exps = _experiments(srv, prefix, 12)
    for e in exps[3:8]:
        srv.grant("experiment", e, user, "READ")
    ui = kit.Server(srv.ajax_url, srv.admin_key, idp)
    pages = _walk(ui, idp.token(user), "POST", "/ajax-api/2.0/mlflow/experiments/search", "experiments", 2,
                  filter=f"name ILIKE '%{prefix}%'", order_by=["last_update_time DESC"])
    got = [e["experiment_id"] for p in pages for e in p]
    assert sorted(got) == sorted(exps[3:8]) and len(got) == 5
    assert [len(p) for p in pages] == [2, 2, 1]


def test_registered_model_and_version_pages(srv, idp, user):
    prefix = f"pm-{uuid.uuid4().hex[:10]}"
    names = [f"{prefix}-{i:02d}" for i in range(14)]
    for n in names:
        resp = srv.call("POST", "/api/2.0/mlflow/registered-models/create", srv.admin_key, json={"name": n})
        assert resp.status_code == 200, resp.text
    readable = set(names[2:7]) | {names[13]}
    for n in readable:
        srv.grant("registered_model", n, user, "READ")
    run_id = srv.run(srv.experiment())
    for n in names[:8]:  # 2 versions each on 8 models: 5 readable models hold 10 versions
        for _ in range(2):
            resp = srv.call("POST", "/api/2.0/mlflow/model-versions/create", srv.admin_key,
                            json={"name": n, "source": f"runs:/{run_id}/m", "run_id": run_id})
            assert resp.status_code == 200, resp.text
    flt = f"name LIKE '{prefix}-%'"
    token = idp.token(user)
    admin = _walk(srv, srv.admin_key, "GET", MODELS, "registered_models", 1000, filter=flt)
    expected = [m["name"] for p in admin for m in p if m["name"] in readable]
    assert len(expected) == 6
    for page in (1, 4, 6):
        pages = _walk(srv, token, "GET", MODELS, "registered_models", page, filter=flt)
        _check_pages(pages, page, expected, lambda m: m["name"])
    admin_v = _walk(srv, srv.admin_key, "GET", VERSIONS, "model_versions", 1000, filter=flt)
    expected_v = [(v["name"], v["version"]) for p in admin_v for v in p if v["name"] in readable]
    assert len(expected_v) == 10
    for page in (3, 10):
        pages = _walk(srv, token, "GET", VERSIONS, "model_versions", page, filter=flt)
        _check_pages(pages, page, expected_v, lambda v: (v["name"], v["version"]))
    # the caller's own filter still narrows: one readable model asked by name
    one = srv.call("GET", VERSIONS, token, params={"filter": f"name = '{names[3]}'"}).json()
    assert {v["name"] for v in one["model_versions"]} == {names[3]}
    hidden = srv.call("GET", VERSIONS, token, params={"filter": f"name = '{names[0]}'"})
    assert hidden.status_code == 200 and hidden.json().get("model_versions", []) == []


def test_model_names_with_quotes_and_backslashes(srv, idp, user):
    tag = uuid.uuid4().hex[:8]
    names = [f"q-{tag}-it's", f'q-{tag}-say "hi"', f"q-{tag}-back\\slash", f"q-{tag}-plain"]
    for n in names:
        assert srv.call("POST", "/api/2.0/mlflow/registered-models/create", srv.admin_key,
                        json={"name": n}).status_code == 200
    for n in names[:3]:
        srv.grant("registered_model", n, user, "READ")
    pages = _walk(srv, idp.token(user), "GET", MODELS, "registered_models", 2, filter=f"name LIKE 'q-{tag}-%'")
    assert sorted(m["name"] for p in pages for m in p) == sorted(names[:3])


def test_run_search_pages_over_readable_experiments(srv, idp, user):
    exps = [srv.experiment() for _ in range(3)]
    runs = {e: [srv.run(e) for _ in range(4)] for e in exps}
    srv.grant("experiment", exps[0], user, "READ")
    srv.grant("experiment", exps[2], user, "READ")
    pages = _walk(srv, idp.token(user), "POST", "/api/2.0/mlflow/runs/search", "runs", 3, experiment_ids=exps)
    got = [r["info"]["run_id"] for p in pages for r in p]
    assert sorted(got) == sorted(runs[exps[0]] + runs[exps[2]]) and len(got) == 8
    assert [len(p) for p in pages] == [3, 3, 2]


def test_nothing_readable_is_an_empty_answer(srv, idp, user):
    srv.experiment()
    resp = srv.call("GET", EXP, idp.token(user), params={"max_results": 10})
    assert resp.status_code == 200 and resp.json() == {}


def test_bad_page_token_and_max_results_are_clear_400s(srv, idp, user):
    exp = srv.experiment()
    srv.grant("experiment", exp, user, "READ")
    token = idp.token(user)
    for params, words in [
        ({"max_results": 10, "page_token": "eyJvZmZzZXQiOiAxfQ=="}, "not issued by this server"),
        ({"max_results": 10, "page_token": "rbac1.!!!"}, "malformed"),
        ({"max_results": "ten"}, "max_results must be an integer"),
        ({"max_results": 0}, "max_results must be an integer"),
    ]:
        resp = srv.call("GET", EXP, token, params=params)
        assert resp.status_code == 400, (params, resp.text)
        assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE" and words in resp.json()["message"]
    # a bad filter is MLflow's own error, without the caller's id list pasted into it
    resp = srv.call("GET", EXP, token, params={"max_results": 10, "filter": "nme = 'x'"})
    assert resp.status_code == 400 and "experiment_id IN" not in resp.text


def test_admins_keep_mlflows_own_tokens(srv):
    resp = srv.call("GET", EXP, srv.admin_key, params={"max_results": 1})
    assert resp.status_code == 200
    assert not resp.json().get("next_page_token", "").startswith("rbac1.")
