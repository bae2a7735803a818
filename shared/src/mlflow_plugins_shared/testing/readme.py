"""A package README's fenced code blocks, for the tests that run every block as written."""

from __future__ import annotations

import re
from pathlib import Path

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.S | re.M)


def code_blocks(readme: str | Path) -> list[tuple[str, str]]:
    """``(language, code)`` for each fenced block of a README, given as its text or its path, in order."""
    text = readme.read_text(encoding="utf-8") if isinstance(readme, Path) else readme
    return _FENCE.findall(text)
