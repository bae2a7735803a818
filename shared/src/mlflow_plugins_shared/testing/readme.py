"""A package README's fenced code blocks, for the tests that run every block as written."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
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


def stop_session(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Stop everything a README block started in its own session (``start_new_session=True``): the
    shell, the server it ran and that server's workers; SIGKILL what is left after ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def collect_pytest_line(line: str, root: Path) -> str:
    """A README's ``.venv/bin/python -m pytest -n 2 <paths>`` line, collected rather than run (the README
    test is part of what it runs), from the repository root; returns pytest's listing, failing unless
    the collection succeeds."""
    argv = line.split("#", 1)[0].split()
    assert argv[:3] == [".venv/bin/python", "-m", "pytest"], f"not a pytest command line: {line!r}"
    args = argv[3:]
    if args[:1] == ["-n"]:
        args = args[2:]
    done = subprocess.run([sys.executable, "-m", "pytest", *args, "--collect-only", "-q", "-p", "no:xdist",
                           "-p", "no:cacheprovider"], cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout
