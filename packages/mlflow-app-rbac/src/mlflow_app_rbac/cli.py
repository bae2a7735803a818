"""`mlflow-rbac`: grant/revoke/list permissions, manage API keys, read the audit log, show who you are
(all through the server's REST API, `/api/2.0/rbac/...`).

This module imports nothing from MLflow (nor `mlflow_plugins_shared`, whose package imports MLflow):
importing MLflow takes about 5 s, and every lookup the CLI needs (does this experiment exist, which
id has this name) is made by the server, in its own stores. Nor does it import `requests` (0.1-0.6 s
here): one call is made with the standard library, verifying TLS as `requests` did (certifi's bundle,
or `REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE`, or MLflow's `MLFLOW_TRACKING_SERVER_CERT_PATH` first),
through the `*_proxy` variables, and without following redirects (they could carry the token elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mlflow_app_rbac.permissions import RESOURCE_TYPES

ADMIN_COMMANDS = ("grant", "revoke", "list", "create-key", "revoke-key", "list-keys", "audit")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlflow-rbac", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default=os.environ.get("MLFLOW_TRACKING_URI"),
                   help="server URL (default: $MLFLOW_TRACKING_URI)")
    p.add_argument("--token-env", default="MLFLOW_TRACKING_TOKEN",
                   help="environment variable holding the bearer token or API key (default: MLFLOW_TRACKING_TOKEN)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, what in (("grant", "give a user or group a role on a resource (replaces their earlier one)"),
                       ("revoke", "remove a user's or group's grant on a resource")):
        g = sub.add_parser(name, help=what, description=what)
        g.add_argument("resource_type", choices=list(RESOURCE_TYPES))
        g.add_argument("resource_id", help="experiment id or name (a name is resolved to its id), registered model "
                                           "or prompt name, skill ('name' or '@organization/name') or organization")
        who = g.add_mutually_exclusive_group(required=True)
        who.add_argument("--user")
        who.add_argument("--group")
        if name == "grant":
            g.add_argument("permission", choices=["READ", "EDIT", "MANAGE"])
            g.add_argument("--allow-missing", action="store_true",
                           help="grant on an experiment id, model, prompt or skill that does not exist yet "
                                "(pre-provisioning); without it such a grant is refused")
    ls = sub.add_parser("list", help="list grants (admins)")
    ls.add_argument("--resource-type", choices=list(RESOURCE_TYPES))
    ls.add_argument("--resource-id", help="an experiment name is resolved to its id")
    ls.add_argument("--principal")
    ck = sub.add_parser("create-key", help="create a service-account API key (printed once)")
    ck.add_argument("principal")
    ck.add_argument("--group", action="append", default=[])
    ck.add_argument("--admin", action="store_true")
    ck.add_argument("--description")
    rk = sub.add_parser("revoke-key", help="revoke an API key by its id")
    rk.add_argument("key_id")
    sub.add_parser("list-keys", help="list API keys (never the keys themselves)")
    au = sub.add_parser("audit", help="read the audit log, newest first")
    au.add_argument("--max-results", type=int, default=50)
    au.add_argument("--page-token")
    au.add_argument("--principal")
    au.add_argument("--outcome", choices=["allowed", "denied", "failed"])
    sub.add_parser("whoami", help="who the server takes your credential for, whether you are an admin and why, "
                                  "and your grants (any user)",
                   description="Ask the server who the credential in --token-env is: the principal, its kind "
                               "(user: a JWT; api_key; bootstrap), groups, admin status and why, the API key id "
                               "or the token's expiry, and the caller's effective grants.")
    return p


def _call(args: argparse.Namespace) -> tuple[str, str, dict[str, str] | None, dict[str, Any] | None]:
    c = args.command
    if c in ("grant", "revoke"):
        body: dict[str, Any] = {"resource_type": args.resource_type, "resource_id": args.resource_id,
                                "principal_type": "group" if args.group else "user",
                                "principal": args.group or args.user}
        if c == "grant":
            body["permission"] = args.permission
            if args.allow_missing:
                body["allow_missing"] = True
        return ("POST" if c == "grant" else "DELETE"), "grants", None, body
    if c == "list":
        q = {k: v for k, v in (("resource_type", args.resource_type), ("resource_id", args.resource_id),
                               ("principal", args.principal)) if v}
        return "GET", "grants", q, None
    if c == "create-key":
        return "POST", "api-keys", None, {"principal": args.principal, "groups": args.group,
                                           "is_admin": args.admin, "description": args.description}
    if c == "revoke-key":
        return "DELETE", f"api-keys/{args.key_id}", None, None
    if c == "list-keys":
        return "GET", "api-keys", None, None
    if c == "whoami":
        return "GET", "whoami", None, None
    q = {k: v for k, v in (("max_results", str(args.max_results)), ("page_token", args.page_token),
                           ("principal", args.principal), ("outcome", args.outcome)) if v}
    return "GET", "audit", q, None


def _shown_url(url: str) -> str:
    """`url` without credentials or query string: safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return urlunsplit((parts.scheme, host + (f":{port}" if port else ""), parts.path, "", ""))


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text


def _fail(message: str, code: int = 1) -> int:
    print(f"mlflow-rbac: {message}", file=sys.stderr)
    return code


CA_BUNDLE_VARS = ("MLFLOW_TRACKING_SERVER_CERT_PATH", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class _Answer:
    def __init__(self, status: int, text: str, location: str | None = None) -> None:
        self.status, self.text, self.location = status, text, location


class CallError(Exception):
    """The server could not be reached; the message names the reason's kind, never a secret."""


_REASONS = {
    "ConnectionRefusedError": "connection refused",
    "gaierror": "host name not found",
    "TimeoutError": "timed out after 30 s",
    "timeout": "timed out after 30 s",
    "SSLCertVerificationError": "its TLS certificate is not trusted; set MLFLOW_TRACKING_SERVER_CERT_PATH "
                                "(or REQUESTS_CA_BUNDLE) to the CA bundle that signed it",
}


def _reason(kind: str) -> str:
    return f"{_REASONS[kind]} ({kind})" if kind in _REASONS else kind


def _tls_context() -> Any:
    import ssl

    where = next((os.environ[v] for v in CA_BUNDLE_VARS if os.environ.get(v)), None)
    if where is None:
        try:
            import certifi  # what requests verified against

            where = certifi.where()
        except ImportError:  # pragma: no cover - certifi comes with requests
            return ssl.create_default_context()
    if os.path.isdir(where):
        return ssl.create_default_context(capath=where)
    return ssl.create_default_context(cafile=where)


def _request(method: str, url: str, query: dict[str, str] | None, body: dict[str, Any] | None,
             token: str) -> _Answer:
    import http.client
    import urllib.error
    import urllib.request
    from urllib.parse import urlencode

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # urllib then raises HTTPError with the 3xx answer

    if not url.startswith(("http://", "https://")):
        raise CallError("not an http(s) URL")
    if query:
        url = f"{url}?{urlencode(query)}"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    handlers: list[Any] = [NoRedirect()]
    if url.startswith("https://"):
        handlers.append(urllib.request.HTTPSHandler(context=_tls_context()))
    opener = urllib.request.build_opener(*handlers)
    try:
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - http(s) only
        with opener.open(request, timeout=30) as r:
            return _Answer(r.status, r.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as e:
        return _Answer(e.code, e.read().decode("utf-8", "replace"), e.headers.get("Location"))
    except urllib.error.URLError as e:
        reason = e.reason
        raise CallError(_reason(type(reason).__name__ if isinstance(reason, BaseException) else "URLError")) from None
    except (OSError, http.client.HTTPException) as e:
        raise CallError(_reason(type(e).__name__)) from None


def _error_line(status: int, data: Any, text: str, url: str) -> str:
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return f"HTTP {status} {data.get('error_code', '')}: {data['message']}".replace(" :", ":")
    if status == 404:
        return (f"HTTP 404 from {_shown_url(url)}: this server does not serve the rbac admin API "
                "(is it `mlflow server --app-name rbac`, and is --url its root URL?)")
    return f"HTTP {status}: {json.dumps(data, sort_keys=True) if data is not None else text[:500]}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.url or not args.url.startswith(("http://", "https://")):
        return _fail("--url (or MLFLOW_TRACKING_URI) must be the server's http(s) URL", 2)
    if "@" in urlsplit(args.url).netloc:
        return _fail(f"--url must not hold credentials (got {_shown_url(args.url)} with a user name): the token "
                     f"comes from {args.token_env}", 2)
    if urlsplit(args.url).query or urlsplit(args.url).fragment:
        return _fail(f"--url must be the server's root URL, without a query string or fragment "
                     f"(got {_shown_url(args.url)}?...)", 2)
    token = os.environ.get(args.token_env, "")
    if not token:
        whose = "an admin's" if args.command in ADMIN_COMMANDS else "your"
        return _fail(f"set {args.token_env} to {whose} bearer token or API key", 2)
    method, path, query, body = _call(args)
    url = f"{args.url.rstrip('/')}/api/2.0/rbac/{path}"
    try:
        resp = _request(method, url, query, body, token)
    except CallError as e:
        return _fail(f"cannot reach {_shown_url(url)}: {e}")
    try:
        data: Any = json.loads(resp.text)
    except ValueError:
        data = None
    if 300 <= resp.status < 400:
        where = _shown_url(resp.location) if resp.location else "elsewhere"
        return _fail(f"HTTP {resp.status}: {_shown_url(url)} redirects to {where}; give the server's own URL as "
                     "--url (the CLI does not follow redirects, which could carry the token to another host)")
    if resp.status >= 400:
        return _fail(_scrub(_error_line(resp.status, data, resp.text, url), token))
    if not isinstance(data, dict):
        return _fail(f"unexpected answer from {_shown_url(url)} (HTTP {resp.status}, not a JSON object)")
    if args.command == "whoami":
        data = {**data, "server": _shown_url(args.url), "credential_from": args.token_env}
    for note in data.get("notes", []) if isinstance(data.get("notes"), list) else []:
        print(f"mlflow-rbac: note: {_scrub(str(note), token)}", file=sys.stderr)
    print(json.dumps(data, indent=2, sort_keys=True))  # a created key is printed once, here, on purpose
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
