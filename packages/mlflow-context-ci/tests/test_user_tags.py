"""User tags from MLFLOW_CONTEXT_TAGS and a file, under `context.tag.`; bad input never breaks the run."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest


def _user(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith("context.tag.")}


def test_env_json_and_key_value(monkeypatch: pytest.MonkeyPatch, outside_git, run_tags) -> None:
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS", '{"team": "vision", "cost/center": 4711}')
    assert _user(run_tags()) == {"context.tag.team": "vision", "context.tag.cost/center": "4711"}
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS", "team=nlp, ticket=ML-1=2")
    assert _user(run_tags()) == {"context.tag.team": "nlp", "context.tag.ticket": "ML-1=2"}


def test_file_then_env_over_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside_git, run_tags) -> None:
    f = tmp_path / "tags.conf"
    f.write_text("# set by the platform team\nteam = platform\nowner=alice, bob\n")
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS_FILE", str(f))
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS", "team=override")
    assert _user(run_tags()) == {"context.tag.team": "override", "context.tag.owner": "alice, bob"}
    f.write_text('{"project": "churn"}')
    monkeypatch.delenv("MLFLOW_CONTEXT_TAGS")
    assert _user(run_tags()) == {"context.tag.project": "churn"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"MLFLOW_CONTEXT_TAGS": '{"team": '}, "MLFLOW_CONTEXT_TAGS: not valid JSON"),
        ({"MLFLOW_CONTEXT_TAGS": "team"}, "MLFLOW_CONTEXT_TAGS: item 1 left out: expected key=value"),
        ({"MLFLOW_CONTEXT_TAGS": "../escape=1"}, "tag key '../escape'"),
        ({"MLFLOW_CONTEXT_TAGS": "bad*key=1"}, "tag key 'bad*key'"),
        ({"MLFLOW_CONTEXT_TAGS": "k" * 300 + "=1"}, "is longer than"),
        ({"MLFLOW_CONTEXT_TAGS_FILE": "/nonexistent/tags.conf"}, "MLFLOW_CONTEXT_TAGS_FILE (/nonexistent/tags.conf): cannot read"),
    ],
)
def test_bad_user_tags_warn_and_the_run_keeps_its_other_tags(
    env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch, outside_git, run_tags,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with caplog.at_level(logging.WARNING, logger="mlflow_context_ci"):
        tags = run_tags()
    assert expected in caplog.text
    assert _user(tags) == {}
    assert tags["context.host.python"]


SECRET = "s3cr3t-Value-9f8e7d"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("mlflow_context_ci") and r.levelno == logging.WARNING]


def test_one_bad_key_costs_only_itself_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, outside_git, run_tags, caplog: pytest.LogCaptureFixture
) -> None:
    bad = f"bad*key-{uuid.uuid4().hex[:8]}"  # unique: the warning is once per process
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS", json.dumps({"team": "vision", bad: SECRET, "cost_center": "4711"}))
    with caplog.at_level(logging.DEBUG, logger="mlflow_context_ci"):
        first = run_tags()
        second = run_tags()
    expected = {"context.tag.team": "vision", "context.tag.cost_center": "4711"}
    assert _user(first) == expected and _user(second) == expected
    (warning,) = _warnings(caplog)  # one warning for two runs
    assert warning.startswith("mlflow-context-ci: MLFLOW_CONTEXT_TAGS: tag key ") and repr(bad) in warning
    assert "left out, the other tags are set" in warning
    assert SECRET not in caplog.text


def test_bad_items_and_keys_in_key_value_form(
    monkeypatch: pytest.MonkeyPatch, outside_git, run_tags, caplog: pytest.LogCaptureFixture
) -> None:
    bad = f"../up-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS", f"team=nlp, {SECRET}, {bad}={SECRET}, ticket=ML-1")
    with caplog.at_level(logging.WARNING, logger="mlflow_context_ci"):
        tags = run_tags()
    assert _user(tags) == {"context.tag.team": "nlp", "context.tag.ticket": "ML-1"}
    warnings = _warnings(caplog)
    assert len(warnings) == 2
    assert "MLFLOW_CONTEXT_TAGS: item 2 left out: expected key=value" in warnings[0]
    assert repr(bad) in warnings[1]
    assert SECRET not in caplog.text


def test_a_secret_shaped_key_is_named_redacted(
    monkeypatch: pytest.MonkeyPatch, outside_git, run_tags, caplog: pytest.LogCaptureFixture
) -> None:
    token = f"Zq9{uuid.uuid4().hex}"
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS", json.dumps({"team": "x", f"Authorization: Bearer {token}": "v"}))
    with caplog.at_level(logging.WARNING, logger="mlflow_context_ci"):
        tags = run_tags()
    assert _user(tags) == {"context.tag.team": "x"}
    (warning,) = _warnings(caplog)
    assert "tag key 'Authorization: Bearer ***'" in warning
    assert token not in caplog.text


def test_file_bad_lines_and_keys_keep_the_rest_and_the_env_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside_git, run_tags, caplog: pytest.LogCaptureFixture
) -> None:
    bad = f"/abs-{uuid.uuid4().hex[:8]}"
    f = tmp_path / "tags.conf"
    f.write_text(f"team = platform\n{SECRET}\n{bad} = {SECRET}\nowner = alice\n")
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS_FILE", str(f))
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS", '{"project": "churn"}')
    with caplog.at_level(logging.WARNING, logger="mlflow_context_ci"):
        tags = run_tags()
    assert _user(tags) == {"context.tag.team": "platform", "context.tag.owner": "alice", "context.tag.project": "churn"}
    warnings = _warnings(caplog)
    assert len(warnings) == 2
    assert f"MLFLOW_CONTEXT_TAGS_FILE ({f}): line 2 left out: expected key=value" in warnings[0]
    assert repr(bad) in warnings[1]
    assert SECRET not in caplog.text


def test_an_unreadable_file_keeps_the_env_tags(
    monkeypatch: pytest.MonkeyPatch, outside_git, run_tags, caplog: pytest.LogCaptureFixture
) -> None:
    missing = f"/nonexistent/{uuid.uuid4().hex}.conf"
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS_FILE", missing)
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS", "team=vision")
    with caplog.at_level(logging.WARNING, logger="mlflow_context_ci"):
        tags = run_tags()
    assert _user(tags) == {"context.tag.team": "vision"}
    assert f"MLFLOW_CONTEXT_TAGS_FILE ({missing}): cannot read the file" in caplog.text
