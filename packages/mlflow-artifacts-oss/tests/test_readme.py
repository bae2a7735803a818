"""The README's settings table is the one the code declares (no drift)."""

from pathlib import Path

from mlflow_artifacts_oss import settings

from mlflow_plugins_shared.settings import settings_table


def test_readme_settings_table_is_current():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert settings_table(settings.ALL) in readme
