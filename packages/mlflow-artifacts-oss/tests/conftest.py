"""Fixtures: the project's OSS test server (tools/testenv service `oss`) and repositories on it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

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
