"""The README is what runs: every code block is run here as written against the real Elasticsearch
node of the session (the example cluster URL and password swapped for the test's, the S3 bucket
for the S3 test server's, `mlflow server` given a free local port)."""

from __future__ import annotations

import importlib.metadata
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlflow_plugins_shared.testing import entry_points
from mlflow_plugins_shared.testing.readme import code_blocks, collect_pytest_line, only_block, stop_session, swap
from mlflow_testenv import session_service
from mlflow_testenv.waiting import wait_until_answers

ROOT = Path(__file__).resolve().parents[3]
README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = code_blocks(README)
EXAMPLE_URI = "elasticsearch+https://es.internal:9200/?index_prefix=team_a"
PASSWORD = "readme-pw-5521"


def test_every_code_block_is_run_here():
    assert sorted((kind, text.splitlines()[0]) for kind, text in BLOCKS) == sorted([
        ("bash", "pip install mlflow-store-es                # Elasticsearch (uses the `elasticsearch` client)"),
        ("bash", "export MLFLOW_STORE_ES_USERNAME=mlflow MLFLOW_STORE_ES_PASSWORD=..."),
        ("bash", "mlflow gc --backend-store-uri 'elasticsearch+https://es.internal:9200/?index_prefix=team_a' \\"),
        ("bash", ".venv/bin/python -m pytest -n 2 packages/mlflow-store-es            "
                 "# Elasticsearch 8.19.21 and OpenSearch 3.6.0, started by tools/testenv"),
    ])


def test_install_block():
    """Mirrored (the package is not on an index here): the distribution and its `opensearch` extra
    are installed, and MLflow's registries build both stores from the four schemes' entry points."""
    block = only_block(BLOCKS, "pip install mlflow-store-es", "bash")
    assert "pip install 'mlflow-store-es[opensearch]'" in block
    assert importlib.metadata.distribution("mlflow-store-es").metadata["Name"] == "mlflow-store-es"
    import opensearchpy  # noqa: F401  (what the extra adds)

    for scheme in ("elasticsearch", "elasticsearch+https", "opensearch", "opensearch+https"):
        assert entry_points.tracking_store_builder(scheme).__name__ == "EsTrackingStore"
        assert entry_points.registry_store_builder(scheme).__name__ == "EsRegistryStore"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def readme_server(es_base: str, tmp_path_factory, tmp_path) -> Iterator[dict[str, str]]:
    """The README's Use block run in bash as written, on the session's Elasticsearch and S3."""
    s3 = session_service("s3", tmp_path_factory)
    bucket = f"readme-{uuid.uuid4().hex[:8]}"
    aws = {"AWS_ACCESS_KEY_ID": s3["MLFLOW_TESTENV_S3_ACCESS_KEY_ID"],
           "AWS_SECRET_ACCESS_KEY": s3["MLFLOW_TESTENV_S3_SECRET_ACCESS_KEY"],
           "AWS_DEFAULT_REGION": s3["MLFLOW_TESTENV_S3_REGION"], "MLFLOW_S3_ENDPOINT_URL": s3["MLFLOW_TESTENV_S3_URL"]}
    boto3.client("s3", endpoint_url=s3["MLFLOW_TESTENV_S3_URL"], aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
                 region_name=aws["AWS_DEFAULT_REGION"]).create_bucket(Bucket=bucket)
    port = _free_port()
    store_uri = f"elasticsearch://{urlsplit(es_base).netloc}/?index_prefix=readme{uuid.uuid4().hex[:8]}"
    block = swap(only_block(BLOCKS, "export MLFLOW_STORE_ES_USERNAME=", "bash"), {
        EXAMPLE_URI: store_uri,  # the test node speaks plain HTTP, security off (it ignores the password)
        "MLFLOW_STORE_ES_PASSWORD=...": f"MLFLOW_STORE_ES_PASSWORD={PASSWORD}",
        "s3://bucket/mlflow": f"s3://{bucket}/mlflow",
        # a free local port, one worker, no job execution: like every test server on a 2-core VM
        "\nmlflow server ": f"\nmlflow server --host 127.0.0.1 --port {port} --workers 1 ",
    })
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}, **aws,
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["bash", "-c", block], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(f"{url}/health", proc, timeout=180, what="the README's mlflow server", log=log)
        yield {"url": url, "store_uri": store_uri, "bucket": bucket, "log": str(log), **aws,
               "s3_url": s3["MLFLOW_TESTENV_S3_URL"]}
    finally:
        stop_session(proc)


def _s3_keys(server: dict[str, str]) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=server["s3_url"], aws_access_key_id=server["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=server["AWS_SECRET_ACCESS_KEY"], region_name=server["AWS_DEFAULT_REGION"])
    return [o["Key"] for o in s3.list_objects_v2(Bucket=server["bucket"]).get("Contents", [])]


def test_use_block_serves_the_store_and_the_gc_block_collects(readme_server, tmp_path):
    """The server of the Use block keeps runs in the cluster and artifacts in the bucket; then the
    gc block, as written (`--older-than 30d`), keeps a run deleted just now, and the same command
    with `--older-than 1s` removes it with its artifacts from the cluster and the bucket."""
    from mlflow_store_es.tracking_store import EsTrackingStore

    client = MlflowClient(readme_server["url"])
    eid = client.create_experiment(f"readme-{uuid.uuid4().hex[:6]}")
    run = client.create_run(eid)
    client.log_metric(run.info.run_id, "m", 1.5)
    (tmp_path / "note.txt").write_text("kept in s3")
    client.log_artifact(run.info.run_id, str(tmp_path / "note.txt"))
    client.set_terminated(run.info.run_id)
    store = EsTrackingStore(readme_server["store_uri"], str(tmp_path))  # what is in the cluster itself
    assert store.get_run(run.info.run_id).data.metrics == {"m": 1.5}
    assert any(k.endswith(f"{run.info.run_id}/artifacts/note.txt") for k in _s3_keys(readme_server))
    assert PASSWORD not in Path(readme_server["log"]).read_text()

    client.delete_run(run.info.run_id)
    gc_block = swap(only_block(BLOCKS, "mlflow gc --backend-store-uri", "bash"), {
        EXAMPLE_URI: readme_server["store_uri"], "https://mlflow.internal": readme_server["url"]})
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))},
           **{k: readme_server[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")},
           "MLFLOW_S3_ENDPOINT_URL": readme_server["s3_url"],
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    as_written = subprocess.run(["bash", "-c", gc_block], env=env, capture_output=True, text=True, timeout=300)
    assert as_written.returncode == 0, as_written.stderr[-2000:]
    assert store.get_run(run.info.run_id).info.lifecycle_stage == "deleted"  # deleted < 30 days ago: kept

    time.sleep(2)
    now = subprocess.run(["bash", "-c", swap(gc_block, {"--older-than 30d": "--older-than 1s"})], env=env,
                         capture_output=True, text=True, timeout=300)
    assert now.returncode == 0, now.stderr[-2000:]
    with pytest.raises(MlflowException, match="not found|RESOURCE_DOES_NOT_EXIST|does not exist"):
        store.get_run(run.info.run_id)
    assert not any(run.info.run_id in k for k in _s3_keys(readme_server))


def test_tests_block_collects():
    """Mirrored: the Tests block's first command collects this package's tests on both engines
    (running it for real here would run this test inside itself); the other lines need a real
    outside cluster, which the suite's `external` engine covers when MLFLOW_STORE_ES_TEST_URL is set."""
    listing = collect_pytest_line(only_block(BLOCKS, ".venv/bin/python -m pytest", "bash").splitlines()[0], ROOT)
    assert "[es]" in listing and "[opensearch]" in listing
