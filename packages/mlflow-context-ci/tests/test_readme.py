"""The README's settings table is the one generated from the declared settings."""

from __future__ import annotations

from pathlib import Path

from mlflow_context_ci import settings

from mlflow_plugins_shared.settings import settings_table


def test_readme_settings_table_is_current() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("<!-- settings-table", 1)[1].split("-->", 1)[1].split("<!-- /settings-table -->", 1)[0]
    assert block.strip() == settings_table(settings.ALL)
