"""Remote URLs read straight from the repository's `config` file.

Saves spawning a second git process per run (the provider's time is almost all process start-up).
Covers plain repositories, `.git` files (submodules, worktrees with `commondir`) and `GIT_DIR`;
`[include]`d files and `url.<base>.insteadOf` rewrites are not followed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_SECTION = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$')
_URL = re.compile(r"^\s*url\s*=\s*(.*?)\s*$", re.IGNORECASE)


def find_git_dir(start: str) -> Path | None:
    explicit = os.environ.get("GIT_DIR")
    if explicit:
        return Path(start, explicit)
    here = Path(start).resolve()
    for directory in (here, *here.parents):
        dot_git = directory / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                return directory / text[len("gitdir:"):].strip()
            return None
    return None


def config_file(git_dir: Path) -> Path:
    commondir = git_dir / "commondir"  # linked worktrees share the main repository's config
    if commondir.is_file():
        return git_dir / commondir.read_text(encoding="utf-8").strip() / "config"
    return git_dir / "config"


def _value(raw: str) -> str:
    if raw.startswith('"'):
        end = raw.find('"', 1)
        return raw[1:end] if end > 0 else raw[1:]
    return re.split(r"\s+[#;]", raw, maxsplit=1)[0]


def remote_urls(text: str) -> dict[str, str]:
    """`{remote name: first url}` in file order."""
    remotes: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        section = _SECTION.match(line)
        if section:
            current = section.group(2) if section.group(1).lower() == "remote" else None
            line = section.group(3)
        if current is None:
            continue
        url = _URL.match(line)
        if url and current not in remotes:
            remotes[current] = _value(url.group(1))
    return remotes


def read_remote_urls(start: str) -> dict[str, str]:
    git_dir = find_git_dir(start)
    if git_dir is None:
        return {}
    try:
        return remote_urls(config_file(git_dir).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return {}
