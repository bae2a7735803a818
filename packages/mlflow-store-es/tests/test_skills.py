"""The skills registry (MLflow 3.18) on real engines: the shared conformance kit against SqlAlchemyStore,
plus what it cannot cover (concurrency, atomicity of bulk registration, docs of a cut-off batch)."""

from __future__ import annotations

import pytest

from mlflow_plugins_shared.testing.skill_store import HAS_SKILLS, SKIP_REASON, SkillStoreConformance

pytestmark = pytest.mark.skipif(not HAS_SKILLS, reason=SKIP_REASON)


class TestSkillConformance(SkillStoreConformance):
    @pytest.fixture
    def candidate_store(self, tracking_store):
        return tracking_store


def _code(excinfo: pytest.ExceptionInfo[Exception]) -> str:
    return str(getattr(excinfo.value, "error_code", ""))


def _git(name: str, digest: str = "a" * 64) -> dict[str, str]:
    return {"name": name, "source_type": "git", "source": "https://github.com/acme/skills.git", "ref": "v1",
            "subpath": f"skills/{name}", "digest": digest}


def test_no_skill_method_is_a_stub(tracking_store) -> None:
    from mlflow.store.tracking.skill_registry import SkillRegistryMixin

    declared = {n for n, v in vars(SkillRegistryMixin).items() if callable(v) and not n.startswith("_")}
    stubs = set(type(tracking_store).strict_stubbed_methods())
    assert declared and not declared & stubs, sorted(declared & stubs)


def test_concurrent_versions_get_distinct_numbers(tracking_store, store_uri: str, tmp_path) -> None:
    """8 writers (each its own store, as separate server processes would be) x 5 versions of one skill
    created at once: 40 distinct numbers 1..40, no version lost."""
    from concurrent.futures import ThreadPoolExecutor

    from mlflow_store_es.tracking_store import EsTrackingStore

    stores = [EsTrackingStore(store_uri, str(tmp_path)) for _ in range(8)]

    def register(store: EsTrackingStore) -> list[int]:
        return [store.create_skill_version("race", source_type="zip", source=f"https://x/{i}.zip").version
                for i in range(5)]

    with ThreadPoolExecutor(8) as pool:
        numbers = [n for chunk in pool.map(register, stores) for n in chunk]
    assert sorted(numbers) == list(range(1, 41))
    listed = tracking_store.search_skill_versions("race", max_results=100)
    assert [v.version for v in listed] == list(range(1, 41))
    assert tracking_store.get_skill("race").latest_version == 40


def test_bulk_registration_is_invisible_until_committed(tracking_store, store_uri: str, tmp_path) -> None:
    """Docs of a batch cut off before its commit doc stay invisible (and a skill doc it left is taken over
    once abandoned); a batch whose write collides undoes its other writes and retries."""
    from mlflow_store_es.skills import _skill_id, _version_id
    from mlflow_store_es.tracking_store import EsTrackingStore

    s = tracking_store
    # what a batch that died after its bulk write leaves: a marked skill and version, no batch doc
    ghost = s._new_skill_doc("ghost", "", None, 1, batch="cut-off-batch")
    s.client.index(s.ix.skills, _skill_id("", "ghost"), ghost, create=True)
    version = s._version_doc(ghost, 1, {"source_type": "zip", "source": "https://x/g.zip"}, "active", None, 1,
                             "cut-off-batch")
    s.client.index(s.ix.skill_versions, _version_id(ghost["skill_uid"], 1), version, create=True)
    with pytest.raises(Exception) as e:
        s.get_skill("ghost")
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert "ghost" not in [x.name for x in s.search_skills(max_results=100)]
    assert list(s.search_skill_versions("ghost")) == []
    assert s.create_skill("ghost").latest_version is None  # created 1 ms after the epoch: long abandoned
    assert list(s.search_skill_versions("ghost")) == []

    # a collision: another writer takes the version number the batch just read
    other = EsTrackingStore(store_uri, str(tmp_path))
    s.create_skill_version("taken")
    real_next = s._next_version
    interfered: list[int] = []

    def stale_next(uid: str) -> int:
        n = real_next(uid)
        if not interfered and n == 2:
            interfered.append(other.create_skill_version("taken").version)
        return n

    s._next_version = stale_next
    try:
        out = s.bulk_register_skills([_git("newcomer"), _git("taken")])
    finally:
        s._next_version = real_next
    assert interfered == [2]
    assert [(v.name, v.version) for v in out] == [("newcomer", 1), ("taken", 3)]
    assert [v.version for v in s.search_skill_versions("taken")] == [1, 2, 3]
    assert [v.version for v in s.search_skill_versions("newcomer")] == [1]
    s.client.refresh(s.ix.skills)
    marked = s.client.search(s.ix.skills, {"query": {"exists": {"field": "batch"}}})["hits"]["hits"]
    assert [h["_source"]["name"] for h in marked] == []  # committed batches drop their marks


def test_bulk_conflict_leaves_nothing(tracking_store) -> None:
    s = tracking_store
    s.create_skill("here")
    with pytest.raises(Exception) as e:
        s.bulk_register_skills([_git("aaa"), _git("here"), _git("zzz")], expected_parent_exists={"here": False})
    assert _code(e) == "RESOURCE_CONFLICT"
    assert sorted(x.name for x in s.search_skills(max_results=100)) == ["here"]
    assert list(s.search_skill_versions("here")) == []


def test_version_written_under_a_deleted_skill_is_removed(tracking_store, store_uri: str, tmp_path) -> None:
    """The skill is deleted between a writer's read of it and its version write: the writer finds its
    version orphaned, removes it and fails with RESOURCE_CONFLICT (SQL's foreign key); a later
    registration starts the skill again from version 1."""
    from mlflow_store_es.tracking_store import EsTrackingStore

    s = tracking_store
    other = EsTrackingStore(store_uri, str(tmp_path))
    s.create_skill_version("doomed")
    real_next = s._next_version

    def delete_then_next(uid: str) -> int:
        other.delete_skill("doomed")
        return real_next(uid)

    s._next_version = delete_then_next
    try:
        with pytest.raises(Exception) as e:
            s.create_skill_version("doomed")
    finally:
        s._next_version = real_next
    assert _code(e) == "RESOURCE_CONFLICT" and "deleted" in str(e.value)
    s.client.refresh(s.ix.skill_versions)
    left = s.client.search(s.ix.skill_versions, {"query": {"term": {"name": "doomed"}}})["hits"]["hits"]
    assert left == []
    assert s.create_skill_version("doomed").version == 1


def test_alias_set_while_its_version_is_deleted_is_undone(tracking_store, store_uri: str, tmp_path) -> None:
    from mlflow_store_es.tracking_store import EsTrackingStore

    s = tracking_store
    other = EsTrackingStore(store_uri, str(tmp_path))
    s.create_skill_version("aliased", status="draft")
    real_update = s._update_skill_doc

    def delete_first(*args, **kwargs):
        other.delete_skill_version("aliased", 1)  # draft -> deleted, between the check and the write
        return real_update(*args, **kwargs)

    s._update_skill_doc = delete_first
    try:
        with pytest.raises(Exception) as e:
            s.set_skill_alias("aliased", "prod", 1)
    finally:
        s._update_skill_doc = real_update
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert s.get_skill("aliased").aliases == {}


def test_many_skills_page_through(tracking_store) -> None:
    s = tracking_store
    names = [f"s-{i:03d}" for i in range(120)]
    s.bulk_register_skills([_git(n) for n in names], organization="big")
    seen, token = [], None
    while True:
        page = s.search_skills(filter_string="organization = 'big'", max_results=50, order_by=["name DESC"],
                               page_token=token)
        seen += [x.name for x in page]
        token = page.token
        if not token:
            break
    assert seen == sorted(names, reverse=True)


def _skill_archive(tmp_path, name: str):
    import io
    import tarfile

    archive = tmp_path / f"{name}.tar.gz"
    body = f"---\nname: {name}\ndescription: A skill uploaded through the server.\n---\n# {name}\n".encode()
    with tarfile.open(archive, "w:gz") as tar:
        for path, data in (("SKILL.md", body), ("scripts/run.sh", b"echo hi\n")):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


def test_skills_through_the_server(server_url: str, tmp_path) -> None:
    """`mlflow server --backend-store-uri elasticsearch://...|opensearch://...`: MLflow's client and the skills
    REST API end to end, an uploaded version's content stored by the server and reclaimed by the delete."""
    import uuid

    import requests
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=server_url)
    api = f"{server_url}/api/3.0/mlflow/skills"
    artifacts = f"{server_url}/api/2.0/mlflow-artifacts/artifacts"
    name = f"srv-{uuid.uuid4().hex[:8]}"
    uploaded = client.create_skill_version(name=name, source=str(_skill_archive(tmp_path, name)))
    assert (uploaded.version, str(uploaded.source_type), str(uploaded.status)) == (1, "mlflow", "active")
    owned = uploaded.source.artifact_path.removeprefix("mlflow-artifacts:/")
    assert owned.startswith(f"skills/{name}/")
    listed = requests.get(artifacts, params={"path": owned}, timeout=30).json().get("files", [])
    assert sorted(f["path"] for f in listed) == ["SKILL.md", "scripts"]

    git = client.create_skill_version(name=name, source="https://github.com/acme/skills.git", digest="c" * 64,
                                      status="draft")
    assert (git.version, str(git.source_type), str(git.status)) == (2, "git", "draft")
    client.set_skill_alias(name=name, alias="prod", version=1)
    client.set_skill_tag(name=name, key="team", value="vision")
    client.set_skill_version_tag(name=name, version=2, key="stage", value="qa")
    assert client.get_skill_version_by_alias(name=name, alias="prod").version == 1
    assert client.get_latest_skill_version(name=name).version == 1  # active wins over the newer draft
    skill = client.get_skill(name=name)
    assert (skill.latest_version, skill.aliases, skill.tags) == (1, {"prod": 1}, {"team": "vision"})
    found = client.search_skills(filter_string=f"name = '{name}' AND tags.team = 'vision'")
    assert [s.name for s in found] == [name]
    assert [v.version for v in client.search_skill_versions(name=name, filter_string="tags.stage = 'qa'")] == [2]
    assert client.update_skill_version(name=name, version=2, status="active").status == "active"

    r = requests.post(f"{api}/bulk-register", timeout=30, json={"skills": [
        {"name": f"{name}-b", "source": "https://github.com/acme/skills.git", "ref": "v1", "subpath": "b",
         "digest": "d" * 64}]})
    assert r.status_code == 200, r.text
    assert [v["version"] for v in r.json()["skill_versions"]] == [1]
    r = requests.get(f"{api}/{name}-b/versions/1", timeout=30)
    assert r.status_code == 200 and r.json()["source_type"] == "git"

    r = requests.get(f"{api}/{name}/versions/9", timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = requests.post(f"{api}/{name}/aliases", json={"alias": "latest", "version": 1}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.get(api, params={"filter_string": "nope = 'x'"}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    client.delete_skill(name=name)  # the server reclaims what the store says the versions owned
    assert requests.get(artifacts, params={"path": owned}, timeout=30).json().get("files", []) == []
    r = requests.get(f"{api}/{name}", timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    client.delete_skill(name=f"{name}-b")
