"""MLFLOW_HEADERS_FILE: parsed, validated, and re-read when it changes (seen on the wire)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow_headers_env.provider import EnvHeaderProvider


def _rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    # Coarse file-system clocks: make sure the change is visible even within one tick.
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_file_reread_when_it_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, client: MlflowClient, proxy, unique_name: str
) -> None:
    f = tmp_path / "headers.conf"
    f.write_text("# gateway routing\nX-Route: blue\nX-Tenant=acme\n")
    monkeypatch.setenv("MLFLOW_HEADERS_FILE", str(f))
    monkeypatch.setenv("MLFLOW_HEADERS", "X-Route=from-env,X-Only-Env=1")

    client.create_experiment(unique_name)
    first = proxy.api_requests()[-1].headers
    assert first["x-route"] == "blue"  # the file wins over MLFLOW_HEADERS
    assert first["x-tenant"] == "acme"
    assert first["x-only-env"] == "1"

    _rewrite(f, '{"X-Route": "green"}')
    client.get_experiment_by_name(unique_name)
    second = proxy.api_requests()[-1].headers
    assert second["x-route"] == "green"
    assert "x-tenant" not in second


def test_file_problems_name_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = tmp_path / "missing.conf"
    monkeypatch.setenv("MLFLOW_HEADERS_FILE", str(f))
    provider = EnvHeaderProvider()
    with pytest.raises(MlflowException, match=r"MLFLOW_HEADERS_FILE \(.*missing.conf\): file does not exist"):
        provider.request_headers()

    _rewrite(f, "X-Ok: 1\njust-a-line\n")
    with pytest.raises(MlflowException, match="line 2: expected `Name=value` or `Name: value`"):
        provider.request_headers()

    _rewrite(f, "Authorization: Bearer abcdefgh\n")
    with pytest.raises(MlflowException, match="MLFLOW_HEADERS_ALLOW_AUTHORIZATION") as info:
        provider.request_headers()
    assert "abcdefgh" not in str(info.value)

    _rewrite(f, "X-Ok: 1\n")
    assert provider.request_headers()["X-Ok"] == "1"


@pytest.mark.parametrize("breaker", ["\r", "\x0b", "\x0c", "\x1c", "\x85"])
def test_only_newline_ends_a_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, breaker: str) -> None:
    f = tmp_path / "headers.conf"
    f.write_text(f"X-Ok: 1\r\nX-Route: blue{breaker}X-Evil: 1\n", encoding="utf-8", newline="")
    monkeypatch.setenv("MLFLOW_HEADERS_FILE", str(f))
    with pytest.raises(MlflowException, match="header 'X-Route' has a CR, LF or other control character"):
        EnvHeaderProvider().request_headers()
