"""User tags from MLFLOW_CONTEXT_TAGS and a file, under `context.tag.`; bad input never breaks the run."""

from __future__ import annotations

import logging
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
        ({"MLFLOW_CONTEXT_TAGS": "team"}, "MLFLOW_CONTEXT_TAGS: expected key=value"),
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
