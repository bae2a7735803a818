"""A package README's fenced code blocks, for the tests that run every block as written."""

from __future__ import annotations

import re
from pathlib import Path

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.S | re.M)


def code_blocks(readme: str | Path) -> list[tuple[str, str]]:
    """``(language, code)`` for each fenced block of a README, given as its text or its path, in order."""
    text = readme.read_text(encoding="utf-8") if isinstance(readme, Path) else readme
    return _FENCE.findall(text)


def only_block(blocks: list[tuple[str, str]], first_line: str, lang: str | None = None) -> str:
    """The one block that starts with ``first_line`` (of language ``lang`` when given); fails unless exactly one."""
    found = [text for kind, text in blocks if (lang is None or kind == lang) and text.startswith(first_line)]
    what = "" if lang is None else f"{lang or 'plain'} "
    assert len(found) == 1, f"README {what}block starting with {first_line!r}: {len(found)} found"
    return found[0]


def swap(block: str, replacements: dict[str, str]) -> str:
    """``block`` with each example value replaced by the real one; fails if the README no longer has it."""
    for example, real in replacements.items():
        assert example in block, f"the README no longer says {example!r}; update this test"
        block = block.replace(example, real)
    return block
