"""Where the database URL ends and the artifact root begins.

The rule (also in the README):

* Server databases (``postgresql``, ``mysql``, ``mariadb``, ``mssql``):
  ``scheme://[user[:password]@]host[:port]/<database>[/<artifact root>][?<query>]``.
  The database is exactly the first path segment; every later segment is the artifact root
  inside that database; the query string always belongs to the database URL (MLflow appends
  ``/<experiment>/<run>/artifacts`` before the query string). A database segment of ``-`` means
  "the database comes from the DSN / ``odbc_connect`` / the login's default".
* SQLite: ``sqlite:///<file>[/<artifact root>][?<query>]`` (relative file) or
  ``sqlite:////<absolute file>[...]``. The database file ends at the single path segment whose
  name ends in ``.db``, ``.sqlite``, ``.sqlite3`` or ``.db3``. No such segment, or more than one,
  is an error. The forms MLflow produces when it appends to such URIs (``sqlite:/x.db/...`` and
  ``sqlite://tmp/x.db/...`` for ``sqlite:///x.db`` and ``sqlite:////tmp/x.db``) are understood.
* No fragment (``#``) anywhere; no ``..``/empty segments in the artifact root.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy.engine import URL, make_url

from mlflow_plugins_shared.errors import invalid_parameter
from mlflow_plugins_shared.redact import redact_text
from mlflow_plugins_shared.uris import validate_artifact_path

SERVER_SCHEMES = (
    "mssql+pyodbc", "mssql+pymssql", "postgresql", "postgresql+psycopg", "postgresql+psycopg2",
    "mysql+pymysql", "mariadb+pymysql",
)
SQLITE_SCHEMES = ("sqlite",)
SCHEMES = SERVER_SCHEMES + SQLITE_SCHEMES
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db3")
NO_DATABASE = "-"


@dataclass(frozen=True)
class Location:
    """A database URL (credentials included, never shown) plus the artifact root inside it."""

    url: URL
    root: str

    @property
    def password(self) -> str | None:
        return self.url.password if isinstance(self.url.password, str) else None


def display_url(url: URL) -> str:
    """The database URL for messages: password and sensitive query values masked."""
    text = url.render_as_string(hide_password=True)
    return redact_text(text, [url.password] if isinstance(url.password, str) else [])


def _bad(uri: str, problem: str) -> Exception:
    return invalid_parameter(f"Invalid SQL artifact URI {redact_text(uri)!r}: {problem}")


def _root(uri: str, segments: list[str]) -> str:
    raw = "/".join(unquote(s) for s in segments)
    if any(s == "" for s in segments):
        raise _bad(uri, "the artifact root has an empty path segment ('//')")
    try:
        return validate_artifact_path(raw)
    except Exception as e:
        raise _bad(uri, f"bad artifact root: {getattr(e, 'message', e)}") from None


def _sqlite(uri: str, netloc: str, path: str, query: str) -> Location:
    # MLflow's append_to_uri_path turns sqlite:////abs/x.db into sqlite://abs/x.db/... and
    # sqlite:///x.db into sqlite:/x.db/...; rebuild the original path first.
    full = f"//{netloc}{path}" if netloc else path
    if not full.startswith("/"):
        raise _bad(uri, "expected sqlite:///relative/file.db or sqlite:////absolute/file.db")
    body = full[1:]
    absolute = body.startswith("/")
    segments = body.lstrip("/").split("/") if body.strip("/") else []
    ends = [i for i, s in enumerate(segments) if unquote(s).lower().endswith(SQLITE_SUFFIXES)]
    if not ends:
        raise _bad(
            uri,
            "cannot tell where the SQLite file ends: its name must end in "
            f"{', '.join(SQLITE_SUFFIXES)} (in-memory databases are not supported)",
        )
    if len(ends) > 1:
        names = ", ".join(repr(unquote(segments[i])) for i in ends)
        raise _bad(uri, f"ambiguous: more than one path segment looks like a SQLite file ({names})")
    cut = ends[0] + 1
    file_segments = segments[:cut]
    if any(s == "" for s in file_segments[:-1]):
        raise _bad(uri, "the SQLite file path has an empty segment ('//')")
    file_path = ("/" if absolute else "") + "/".join(unquote(s) for s in file_segments)
    url = make_url(f"sqlite:///{quote(file_path, safe='/')}" + (f"?{query}" if query else ""))
    url = url.set(database=file_path)
    return Location(url=url, root=_root(uri, segments[cut:]))


def _server(uri: str, scheme: str, netloc: str, path: str, query: str) -> Location:
    if not netloc:
        raise _bad(uri, "no host: expected scheme://[user[:password]@]host[:port]/database[/root]")
    segments = path.lstrip("/").split("/") if path.strip("/") else []
    if path.startswith("//") or not segments or segments[0] == "":
        raise _bad(uri, f"no database name after the host (use '/{NO_DATABASE}' when the DSN or "
                        "odbc_connect names it)")
    database = unquote(segments[0])
    try:
        url = make_url(f"{scheme}://{netloc}" + (f"?{query}" if query else ""))
    except Exception as e:
        raise _bad(uri, f"not a valid database URL ({type(e).__name__})") from None
    if database != NO_DATABASE:
        url = url.set(database=database)
    return Location(url=url, root=_root(uri, segments[1:]))


def parse_location(uri: str) -> Location:
    """Split an artifact URI into the database URL and the artifact root (see module doc)."""
    if not isinstance(uri, str) or not uri.strip():
        raise invalid_parameter("SQL artifact URI is empty")
    if "\x00" in uri:
        raise invalid_parameter("SQL artifact URI contains a NUL byte")
    try:
        parts = urlsplit(uri)
    except ValueError as e:
        raise _bad(uri, str(e)) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise _bad(uri, f"unsupported scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    if parts.fragment or uri.endswith("#"):
        raise _bad(uri, "a fragment ('#') is ambiguous here; percent-encode '#' as %23")
    if scheme in SQLITE_SCHEMES:
        return _sqlite(uri, parts.netloc, parts.path, parts.query)
    return _server(uri, scheme, parts.netloc, parts.path, parts.query)
