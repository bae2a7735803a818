"""Header name/value rules: RFC 9110 tokens, no CR/LF/control characters, protected names.

Errors name the header and the setting but never show a value (values may be credentials).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from mlflow_plugins_shared.errors import config_error

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE_CHAR = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # C0 (but TAB), DEL, C1

CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
# Set by the HTTP client or generated per request by this plugin: a static value would break
# framing or make every request look the same.
RESERVED_HEADERS = frozenset({
    "host", "content-length", "content-type", "transfer-encoding", "connection", "te", "upgrade",
    "expect", "trailer", "keep-alive", "x-request-id", "traceparent", "tracestate",
})


def check_name(name: str, source: str) -> str:
    if not isinstance(name, str) or not _TOKEN.match(name):
        shown = repr(name) if isinstance(name, str) and not _BAD_VALUE_CHAR.search(name) else "(hidden)"
        raise config_error(
            source, f"invalid header name {shown}: use letters, digits and !#$%&'*+-.^_`|~ only"
            + ("" if shown != "(hidden)" else " (it contains a control character such as CR/LF)")
        )
    return name


def check_value(name: str, value: str, source: str) -> str:
    if not isinstance(value, str):
        raise config_error(source, f"header {name!r} must have a string value")
    if _BAD_VALUE_CHAR.search(value):
        raise config_error(source, f"header {name!r} has a CR, LF or other control character in its value")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise config_error(source, f"header {name!r} has a value that is not ISO-8859-1 text") from None
    return value.strip()


def check_static(headers: dict[str, str], source: str, *, allow_authorization: bool) -> dict[str, str]:
    """Validate user-given headers; raise the first problem as an MlflowException naming `source`."""
    seen: dict[str, str] = {}
    out: dict[str, str] = {}
    for raw_name, value in headers.items():
        name = check_name(raw_name.strip() if isinstance(raw_name, str) else raw_name, source)
        lower = name.lower()
        if lower in seen:
            raise config_error(source, f"header {name!r} is given twice (as {seen[lower]!r} too)")
        if lower in CREDENTIAL_HEADERS and not allow_authorization:
            raise config_error(
                source, f"refusing to set {name!r}: set MLFLOW_HEADERS_ALLOW_AUTHORIZATION=true to allow it "
                "(MLflow's own MLFLOW_TRACKING_TOKEN/auth providers are the usual way)"
            )
        if lower in RESERVED_HEADERS:
            raise config_error(source, f"header {name!r} is set by the HTTP client or per request; it cannot be static")
        seen[lower] = name
        out[name] = check_value(name, value, source)
    return out


def safe_value(value: str) -> str:
    """A computed value (host name, user) made safe to send: controls dropped, non-Latin-1 escaped."""
    cleaned = _BAD_VALUE_CHAR.sub("", value).strip()
    try:
        cleaned.encode("latin-1")
        return cleaned
    except UnicodeEncodeError:
        return quote(cleaned, safe=" !#$&'()*+,-./:;=?@[]^_`{|}~")

