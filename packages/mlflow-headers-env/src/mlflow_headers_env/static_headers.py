"""Static headers from MLFLOW_HEADERS and MLFLOW_HEADERS_FILE (the file re-read when it changes)."""

from __future__ import annotations

import os
import threading

from mlflow_headers_env import settings
from mlflow_headers_env.validation import check_static
from mlflow_plugins_shared.errors import config_error
from mlflow_plugins_shared.settings import SettingValueError, parse_mapping


def from_env_value(raw: str | None, *, allow_authorization: bool) -> dict[str, str]:
    if raw is None or not raw.strip():
        return {}
    try:
        mapping = parse_mapping(raw)
    except SettingValueError as e:
        # Only JSON errors are shown (they hold a position, not text): values may be credentials.
        problem = str(e) if raw.strip().startswith("{") else (
            "expected a JSON object or `Name=value` pairs separated by commas, and an item has no '=' "
            "or an empty name (use JSON for values that contain commas)"
        )
        raise config_error(settings.HEADERS.env, f"cannot parse: {problem}") from None
    return check_static(mapping, settings.HEADERS.env, allow_authorization=allow_authorization)


def parse_file_text(text: str, source: str) -> dict[str, str]:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return parse_mapping(stripped)
        except SettingValueError as e:
            raise config_error(source, f"cannot parse the JSON object: {e}") from None
    headers: dict[str, str] = {}
    # Only LF (or CRLF) ends a line: a lone CR, VT, FF or NEL stays in the value and is refused there,
    # where str.splitlines() would quietly turn it into a second header.
    for number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.removesuffix("\r").strip(" \t")
        if not line or line.startswith("#"):
            continue
        cut = _separator(line)
        if cut < 0:
            raise config_error(source, f"line {number}: expected `Name=value` or `Name: value`")
        name = line[:cut].strip()
        if name in headers:
            raise config_error(source, f"line {number}: header {name!r} is given twice")
        headers[name] = line[cut + 1:].strip()
    return headers


def _separator(line: str) -> int:
    positions = [p for p in (line.find("="), line.find(":")) if p > 0]
    return min(positions) if positions else -1


class HeadersFile:
    """The parsed headers of one file, reloaded when (mtime, size, inode) changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._key: tuple[bool, tuple[int, int, int] | None] | None = None
        self._headers: dict[str, str] = {}
        self._lock = threading.Lock()

    def headers(self, *, allow_authorization: bool) -> dict[str, str]:
        source = f"{settings.HEADERS_FILE.env} ({self.path})"
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise config_error(source, "file does not exist") from None
        except OSError as e:
            raise config_error(source, f"cannot read the file: {e.strerror}") from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        key = (allow_authorization, stamp)
        if key == self._key:
            return self._headers
        with self._lock:
            if key != self._key:
                try:
                    with open(self.path, encoding="utf-8", newline="") as f:  # keep lone CRs visible
                        text = f.read()
                except (OSError, UnicodeDecodeError) as e:
                    raise config_error(source, f"cannot read the file: {getattr(e, 'strerror', None) or type(e).__name__}") from None
                self._headers = check_static(parse_file_text(text, source), source, allow_authorization=allow_authorization)
                self._key = key
        return self._headers
