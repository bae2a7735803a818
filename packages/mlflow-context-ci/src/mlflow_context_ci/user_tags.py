"""User tags from MLFLOW_CONTEXT_TAGS and MLFLOW_CONTEXT_TAGS_FILE, placed under `context.tag.`.

A bad entry (an invalid key, a line or item without `=`) costs only that entry: it is left out and
named in a problem message; the other tags are kept. Only a value that cannot be read at all (invalid
JSON, an unreadable file) costs its source's tags. Messages name the variable and the key, never a
value (values may be credentials).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass

from mlflow_context_ci import settings, tag_keys
from mlflow_plugins_shared.errors import config_error
from mlflow_plugins_shared.settings import SettingValueError, parse_mapping

# MLflow's tag-name rule (portable subset: no colon, which Windows servers refuse), 250 characters.
_KEY = re.compile(r"^[\w.\- /]+$")
MAX_KEY_LENGTH = 250
_SHOWN_KEY_CHARS = 60


@dataclass(frozen=True)
class UserTags:
    tags: dict[str, str]
    problems: tuple[str, ...]  # `<VARIABLE>: <what was left out and why>`, one per bad entry or source


def _shown(key: str) -> str:
    return repr(key if len(key) <= _SHOWN_KEY_CHARS else key[:_SHOWN_KEY_CHARS] + "...")


def key_problem(key: str) -> str | None:
    """Why `key` cannot be a user tag key, or None."""
    if not _KEY.match(key) or posixpath.normpath(key) != key or key.startswith(("/", ".")):
        return (f"tag key {_shown(key)} may only hold letters, digits, _ - . / and spaces, and no empty, '.' or "
                "'..' path segments; it may not start with '/' or '.'")
    if len(tag_keys.USER_TAG_PREFIX + key) > MAX_KEY_LENGTH:
        return f"tag key {_shown(key)} is longer than {MAX_KEY_LENGTH - len(tag_keys.USER_TAG_PREFIX)} characters"
    return None


def _problem(source: str, text: str) -> str:
    return config_error(source, text).message  # redacted like every configuration error


def _entries(text: str, *, lines: bool) -> tuple[dict[str, str], list[str]]:
    """Raw key -> value, and what was left out. Raises SettingValueError when nothing can be read."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return parse_mapping(stripped), []
    raw: dict[str, str] = {}
    bad: list[str] = []
    if lines:
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "=" not in line or not line.split("=", 1)[0].strip():
                bad.append(f"line {number} left out: expected key=value")
                continue
            key, value = line.split("=", 1)
            raw[key.strip()] = value.strip()
        return raw, bad
    for position, item in enumerate(stripped.split(","), start=1):
        try:
            raw.update(parse_mapping(item))  # one `key=value` item, by the shared rules
        except SettingValueError:
            bad.append(f"item {position} left out: expected key=value")  # the item itself may be a secret
    return raw, bad


def parse_tags(text: str, source: str, *, lines: bool) -> UserTags:
    try:
        raw, bad = _entries(text, lines=lines)
    except SettingValueError as e:
        return UserTags({}, (_problem(source, f"{e}; no tags taken from it"),))
    problems = [_problem(source, b) for b in bad]
    tags: dict[str, str] = {}
    for key, value in raw.items():
        why = key_problem(key)
        if why is None:
            tags[tag_keys.USER_TAG_PREFIX + key] = value
        else:
            problems.append(_problem(source, f"{why}; left out, the other tags are set"))
    return UserTags(tags, tuple(problems))


def _file_tags() -> UserTags:
    path = settings.TAGS_FILE.get()
    if not path:
        return UserTags({}, ())
    source = f"{settings.TAGS_FILE.env} ({path})"
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            text = f.read(1_000_000)
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or type(e).__name__
        return UserTags({}, (_problem(source, f"cannot read the file: {reason}"),))
    return parse_tags(text, source, lines=True)


def user_tags() -> UserTags:
    """File tags, then MLFLOW_CONTEXT_TAGS over them; each source's problems cost only what they name."""
    from_file = _file_tags()
    env_value = settings.TAGS.get()
    from_env = parse_tags(env_value, settings.TAGS.env, lines=False) if env_value else UserTags({}, ())
    return UserTags({**from_file.tags, **from_env.tags}, from_file.problems + from_env.problems)
