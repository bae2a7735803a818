"""The README's settings tables are the declared settings (no drift)."""

from pathlib import Path

from mlflow_auth_oauth2 import settings as s

from mlflow_plugins_shared.settings import settings_table

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_settings_tables_match_the_code():
    for group in (s.OAUTH2_SETTINGS, s.FILE_SETTINGS, [s.TOKEN_COMMAND, s.COMMAND_TIMEOUT, s.COMMAND_TTL]):
        assert settings_table(group) in README
