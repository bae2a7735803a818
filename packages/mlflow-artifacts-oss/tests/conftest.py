"""Fixtures: the project's OSS test server (tools/testenv service `oss`) and repositories on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import mlflow
import oss2
import pytest
import requests

from mlflow_testenv import session_service

OSS_VARS = ("MLFLOW_OSS_ENDPOINT_URL", "MLFLOW_OSS_KEY_ID", "MLFLOW_OSS_KEY_SECRET", "MLFLOW_OSS_SECURITY_TOKEN",
            "MLFLOW_OSS_ECS_RAM_ROLE", "MLFLOW_OSS_ECS_METADATA_URL", "MLFLOW_OSS_REGION",
            "MLFLOW_OSS_SIGNATURE_VERSION", "MLFLOW_OSS_MULTIPART_THRESHOLD", "MLFLOW_OSS_PART_SIZE",
            "MLFLOW_OSS_DOWNLOAD_THRESHOLD", "MLFLOW_OSS_THREADS", "MLFLOW_OSS_CHECKPOINT_DIR",
            "MLFLOW_OSS_RETRIES", "MLFLOW_OSS_TIMEOUT")


@pytest.fixture(scope="session")
def oss_env(tmp_path_factory) -> dict[str, str]:
    return session_service("oss", tmp_path_factory)


@pytest.fixture
def oss_settings(monkeypatch, oss_env, tmp_path) -> Callable[..., None]:
    """Point the plugin at the test server; keyword arguments override MLFLOW_OSS_<NAME> (None unsets)."""

    def apply(**overrides: str | None) -> None:
        for var in OSS_VARS:
            monkeypatch.delenv(var, raising=False)
        base = {
            "ENDPOINT_URL": oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"],
            "KEY_ID": oss_env["MLFLOW_TESTENV_OSS_KEY_ID"],
            "KEY_SECRET": oss_env["MLFLOW_TESTENV_OSS_KEY_SECRET"],
            "CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
            "RETRIES": "4",
        }
        base.update(overrides)
        for name, value in base.items():
            if value is not None:
                monkeypatch.setenv(f"MLFLOW_OSS_{name}", value)

    apply()
    return apply


@pytest.fixture
def bucket_name(oss_env) -> str:
    return oss_env["MLFLOW_TESTENV_OSS_BUCKET"]


@pytest.fixture
def root_uri(bucket_name) -> str:
    return f"oss://{bucket_name}/tests/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def raw_bucket(oss_env, bucket_name) -> oss2.Bucket:
    """An oss2 client of our own, to look at what the plugin stored."""
    return oss2.Bucket(oss2.Auth(oss_env["MLFLOW_TESTENV_OSS_KEY_ID"], oss_env["MLFLOW_TESTENV_OSS_KEY_SECRET"]),
                       oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"], bucket_name)


@pytest.fixture
def inject_fault(oss_env):
    """Make the test server fail the next matching requests: inject_fault(status=503, count=2, ...)."""
    url = oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"] + "/_testenv/faults"

    def inject(**spec: object) -> None:
        requests.post(url, json=spec, timeout=10).raise_for_status()

    yield inject


E2E_PREFIX = "e2e-proxied"


@pytest.fixture(scope="session")
def proxied_server(oss_env, tmp_path_factory) -> str:
    """A real `mlflow server --artifacts-destination oss://...` on the OSS test server."""
    # the server process inherits these from os.environ when it starts: it builds OssArtifactRepository
    # from them. Put back afterwards so other packages' tests in the same session are not affected.
    settings = {
        "MLFLOW_OSS_ENDPOINT_URL": oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"],
        "MLFLOW_OSS_KEY_ID": oss_env["MLFLOW_TESTENV_OSS_KEY_ID"],
        "MLFLOW_OSS_KEY_SECRET": oss_env["MLFLOW_TESTENV_OSS_KEY_SECRET"],
        "MLFLOW_OSS_REGION": oss_env["MLFLOW_TESTENV_OSS_REGION"],
    }
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        dest = f"oss://{oss_env['MLFLOW_TESTENV_OSS_BUCKET']}/{E2E_PREFIX}"
        return session_service("mlflow", tmp_path_factory, ["--artifacts-destination", dest],
                               key="mlflow-oss")["MLFLOW_TESTENV_MLFLOW_URL"]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def proxied_prefix() -> str:
    """Where the proxied server keeps artifacts in the test bucket."""
    return E2E_PREFIX


@pytest.fixture
def tracking(proxied_server, oss_settings, monkeypatch):
    oss_settings(REGION="cn-hangzhou")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", proxied_server)
    mlflow.set_tracking_uri(proxied_server)
    yield proxied_server
    mlflow.set_tracking_uri(None)
