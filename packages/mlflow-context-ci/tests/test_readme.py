"""The README documents exactly the declared settings, each with its current default and text."""

from __future__ import annotations

import re
from pathlib import Path

from mlflow_context_ci import settings

from mlflow_plugins_shared.settings import settings_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_row_is_in_the_readme_and_nothing_else() -> None:
    text = README.read_text()
    rows = settings_table(settings.ALL).splitlines()[2:]
    missing = [row for row in rows if row not in text]
    assert not missing, f"README rows out of date: {missing}"
    documented = set(re.findall(r"^\| `(MLFLOW_CONTEXT_[A-Z_]+)` \|", text, flags=re.M))
    assert documented == {s.env for s in settings.ALL}
