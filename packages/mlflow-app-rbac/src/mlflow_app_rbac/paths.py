"""Path canonicalisation: one spelling per route, anything ambiguous refused.

Refused (400) rather than "fixed": encoded slashes/backslashes/dots (`%2F`, `%5C`, `%2E`),
backslashes, empty segments (`//api`), `.`/`..` segments, NUL and control characters. A trailing
slash or different case simply does not match any row of the route table and is denied.
"""

from __future__ import annotations

import re

_ENCODED_BAD = re.compile(r"%(2[fF]|5[cC]|2[eE]|00|25)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadPath(Exception):
    pass


def check_raw(raw_path: str) -> None:
    """`raw_path` is the path as sent, before percent-decoding."""
    if _ENCODED_BAD.search(raw_path):
        raise BadPath("encoded '/', '\\', '.', '%' or NUL in the path")


def canonical(path: str, static_prefix: str) -> str:
    """`path` is percent-decoded. Returns the path as the route table spells it."""
    if not path.startswith("/"):
        raise BadPath("path must start with '/'")
    if "\\" in path or _CONTROL.search(path):
        raise BadPath("backslash or control character in the path")
    segments = path.split("/")[1:]
    if any(s in (".", "..") for s in segments):
        raise BadPath("'.' or '..' segment in the path")
    if "" in segments[:-1]:
        raise BadPath("empty segment ('//') in the path")
    if static_prefix and (path == static_prefix or path.startswith(static_prefix + "/")):
        path = path[len(static_prefix):] or "/"
    if path.startswith("/ajax-api/"):
        path = "/api/" + path[len("/ajax-api/"):]
    return path
