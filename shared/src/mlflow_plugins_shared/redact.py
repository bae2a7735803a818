"""Secret redaction for URIs, headers, and free text (exception messages, logs)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

SENSITIVE_KEYS = (
    "password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key",
    "access_key", "accesskey", "secret_key", "credential", "signature", "sig",
    "client_secret", "session", "authorization", "x-oss-security-token",
    "x-amz-security-token", "x-amz-signature", "private_key", "key_secret",
)
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
     "x-amz-security-token", "x-oss-security-token", "x-auth-token"}
)


def is_sensitive_key(key: str) -> bool:
    k = key.lower().replace("-", "_")
    return any(s.replace("-", "_") in k for s in SENSITIVE_KEYS)


def redact_uri(uri: str) -> str:
    """Mask the password in the netloc and every sensitive query parameter."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return redact_text(uri)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if is_sensitive_key(k) else v) for k, v in pairs], safe="*+/:"
        )
    if netloc == parts.netloc and query == parts.query:
        return uri  # nothing to hide: keep it byte for byte (urlunsplit drops `//` of sqlite:////abs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        k: (MASK if k.lower() in SENSITIVE_HEADERS or is_sensitive_key(k) else v)
        for k, v in headers.items()
    }


_KEY = r"[\"']?[\w.-]*(?i:password|passwd|secret|token|api[_-]?key|access[_-]?key|signature|credential)[\w.-]*"

# A key that names a kind of credential rather than holding one: `MLFLOW_OSS_SIGNATURE_VERSION=v4`,
# `token_type=bearer`, `MLFLOW_OAUTH2_TOKEN_URL=https://...` (credentials in a URL's userinfo are masked by
# the first pattern either way).
_SETTING_SUFFIX = re.compile(r"(?i)[_.-](version|type|method|algorithm|url|uri|endpoint|file|path|command)[\"']?$")


def _mask_value(m: re.Match[str]) -> str:
    key = m.group("key").rstrip(" =:\"'")
    if not _SETTING_SUFFIX.search(key):
        return f"{m.group('key')}{MASK}"
    value = m.group("val")
    return m.group("key") + (redact_uri(value) if "://" in value else value)


_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    # scheme://user:password@host
    (re.compile(r"(?P<pre>[a-zA-Z][\w+.-]*://[^\s:/@]*:)[^\s@/]+(?P<post>@)"), r"\g<pre>***\g<post>"),
    # Authorization: Bearer xxx / Basic xxx / AWS4-HMAC-SHA256 ...
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/=]{8,}"), r"\1 ***"),
    (re.compile(r"\b(Token)\s+[A-Za-z0-9\-._~+/=]{8,}"), r"\1 ***"),
    (re.compile(r"(?i)(Signature=)[0-9a-f]{16,}"), r"\1***"),
    # Sensitive keys: `key=value` and quoted `"key": "value"` always; unquoted `key: value` only
    # when the value looks like a credential (digits, capitals or symbols), so that prose such as
    # "'TOKEN': expected VAR" or "MLFLOW_X_TOKEN: is not set" stays readable.
    (re.compile(rf"(?P<key>{_KEY}\s*=\s*[\"']?)(?P<val>[^\s\"'&,;}}]+)"), _mask_value),
    (re.compile(rf"(?P<key>{_KEY}[\"']?\s*:\s*[\"'])(?P<val>[^\"']+)"), _mask_value),
    (re.compile(rf"(?P<key>{_KEY}\s*:\s*)(?P<val>(?=[^\s\"'&,;}}]*[0-9A-Z_+/=.~-])[^\s\"'&,;}}]{{6,}})"), _mask_value),
    # AWS access key ids
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), r"\1****************"),
    # JWTs
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "***jwt***"),
]


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace the given secret values, then known credential shapes, with a mask."""
    out = str(text)
    for s in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        out = out.replace(s, MASK)
    for pattern, repl in _PATTERNS:
        out = pattern.sub(repl, out)
    return out


class Secret:
    """A string that never shows itself in repr/str/logs. Use `.get()` to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
