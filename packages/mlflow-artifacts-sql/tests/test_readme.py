"""The README's settings table is the one the code declares."""

from pathlib import Path

from mlflow_artifacts_sql import settings

from mlflow_plugins_shared.settings import settings_table


def test_readme_lists_every_setting():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert settings_table(settings.ALL) in readme
