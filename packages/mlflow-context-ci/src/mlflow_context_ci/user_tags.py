"""User tags from MLFLOW_CONTEXT_TAGS and MLFLOW_CONTEXT_TAGS_FILE, placed under `context.tag.`."""

from __future__ import annotations

import os
import posixpath
import re

from mlflow_context_ci import settings, tag_keys
from mlflow_plugins_shared.errors import config_error
from mlflow_plugins_shared.logs import get_logger
from mlflow_plugins_shared.settings import SettingValueError, parse_mapping

_logger = get_logger(__name__)

# MLflow's tag-name rule (portable subset: no colon, which Windows servers refuse), 250 characters.
_KEY = re.compile(r"^[\w.\- /]+$")
MAX_KEY_LENGTH = 250


def _check_key(key: str, source: str) -> str:
    full = tag_keys.USER_TAG_PREFIX + key
    if not _KEY.match(key) or posixpath.normpath(key) != key or key.startswith(("/", ".")):
        raise config_error(source, f"tag key {key!r} may only hold letters, digits, _ - . / and spaces, "
                                   "and no empty, '.' or '..' path segments; it may not start with '/' or '.'")
    if len(full) > MAX_KEY_LENGTH:
        raise config_error(source, f"tag key {key!r} is longer than {MAX_KEY_LENGTH - len(tag_keys.USER_TAG_PREFIX)} characters")
    return full


def parse_tags(text: str, source: str, *, lines: bool) -> dict[str, str]:
    stripped = text.strip()
    try:
        if stripped.startswith("{") or not lines:
            raw = parse_mapping(stripped)
        else:
            raw = {}
            for number, line in enumerate(text.splitlines(), start=1):
                line = line.strip()
                if line and not line.startswith("#"):
                    if "=" not in line:
                        raise SettingValueError(f"line {number}: expected key=value")
                    key, value = line.split("=", 1)
                    raw[key.strip()] = value.strip()
    except SettingValueError as e:
        raise config_error(source, str(e)) from None
    return {_check_key(k, source): v for k, v in raw.items()}


def user_tags() -> dict[str, str]:
    """File tags, then MLFLOW_CONTEXT_TAGS over them. Raises an MlflowException naming the variable."""
    tags: dict[str, str] = {}
    path = settings.TAGS_FILE.get()
    if path:
        source = f"{settings.TAGS_FILE.env} ({path})"
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as f:
                text = f.read(1_000_000)
        except (OSError, UnicodeDecodeError) as e:
            raise config_error(source, f"cannot read the file: {getattr(e, 'strerror', None) or type(e).__name__}") from None
        tags.update(parse_tags(text, source, lines=True))
    env_value = settings.TAGS.get()
    if env_value:
        tags.update(parse_tags(env_value, settings.TAGS.env, lines=False))
    return tags
