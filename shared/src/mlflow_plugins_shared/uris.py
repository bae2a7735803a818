"""URI parsing and artifact path helpers."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from mlflow_plugins_shared.errors import invalid_parameter
from mlflow_plugins_shared.redact import redact_uri


@dataclass(frozen=True)
class ParsedUri:
    scheme: str
    host: str | None
    port: int | None
    username: str | None
    password: str | None
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)

    def option(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


def parse_uri(uri: str, *, schemes: tuple[str, ...] | None = None, what: str = "URI") -> ParsedUri:
    """Parse `scheme://[user[:password]@]host[:port][/path][?query]` with clear errors."""
    if not isinstance(uri, str) or not uri.strip():
        raise invalid_parameter(f"{what} is empty")
    if "\x00" in uri:
        raise invalid_parameter(f"{what} contains a NUL byte")
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as e:
        raise invalid_parameter(f"Malformed {what} {redact_uri(uri)!r}: {e}") from None
    scheme = parts.scheme.lower()
    if schemes is not None and scheme not in schemes:
        raise invalid_parameter(
            f"Unsupported {what} scheme {scheme!r} in {redact_uri(uri)!r}; "
            f"expected one of {', '.join(schemes)}"
        )
    return ParsedUri(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        path=parts.path,
        query=parse_qs(parts.query, keep_blank_values=True),
    )


def strip_credentials(url: str) -> str:
    """Remove user:password@ from a URL (for tags, logs). Non-URLs pass through."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc or not parts.scheme:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=host).geturl()


def validate_artifact_path(path: str | None, *, max_length: int | None = None, allow_empty: bool = True) -> str:
    """Normalise a relative artifact path; reject `..`, absolute paths, NUL bytes, empty names.

    Returns the path with forward slashes and no leading/trailing slash ('' for the root).
    """
    if path is None:
        if allow_empty:
            return ""
        raise invalid_parameter("Artifact path must not be empty")
    if not isinstance(path, str):
        raise invalid_parameter(f"Artifact path must be a string, got {type(path).__name__}")
    if "\x00" in path:
        raise invalid_parameter("Artifact path contains a NUL byte")
    p = path.replace("\\", "/")
    if p.startswith("/") or (len(p) > 1 and p[1] == ":"):
        raise invalid_parameter(f"Artifact path must be relative, got {path!r}")
    segments = [s for s in p.split("/") if s not in ("", ".")]
    if any(s == ".." for s in segments):
        raise invalid_parameter(f"Artifact path must not contain '..' segments: {path!r}")
    if p.strip("/") and not segments:
        raise invalid_parameter(f"Artifact path has no name: {path!r}")
    if any(s.strip() == "" for s in segments):
        raise invalid_parameter(f"Artifact path has an empty (blank) segment: {path!r}")
    norm = "/".join(segments)
    if not norm and not allow_empty:
        raise invalid_parameter("Artifact path must not be empty")
    if max_length is not None and len(norm.encode("utf-8")) > max_length:
        raise invalid_parameter(
            f"Artifact path is {len(norm.encode('utf-8'))} bytes long; the limit is {max_length}"
        )
    return norm


def join_artifact_path(*parts: str | None) -> str:
    return posixpath.join(*[p.strip("/") for p in parts if p and p.strip("/")]) if any(
        p and p.strip("/") for p in parts
    ) else ""
