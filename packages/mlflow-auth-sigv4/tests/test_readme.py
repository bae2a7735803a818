"""The README's settings table is the declared settings (no drift)."""

from pathlib import Path

from mlflow_auth_sigv4 import settings as s

from mlflow_plugins_shared.settings import settings_table


def test_settings_table_matches_the_code():
    assert settings_table(s.ALL) in (Path(__file__).parents[1] / "README.md").read_text()
