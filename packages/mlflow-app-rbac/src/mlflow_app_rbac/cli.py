"""`mlflow-rbac`: grant/revoke/list permissions, manage API keys, read the audit log (via the REST API)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import requests

from mlflow_app_rbac.permissions import RESOURCE_TYPES
from mlflow_plugins_shared.redact import redact_text, redact_uri


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlflow-rbac", description=__doc__)
    p.add_argument("--url", default=os.environ.get("MLFLOW_TRACKING_URI"),
                   help="server URL (default: $MLFLOW_TRACKING_URI)")
    p.add_argument("--token-env", default="MLFLOW_TRACKING_TOKEN",
                   help="environment variable holding the admin's bearer token or API key")
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("grant", "revoke"):
        g = sub.add_parser(name)
        g.add_argument("resource_type", choices=list(RESOURCE_TYPES))
        g.add_argument("resource_id", help="experiment id, model name, skill ('name' or '@organization/name') "
                                           "or organization")
        who = g.add_mutually_exclusive_group(required=True)
        who.add_argument("--user")
        who.add_argument("--group")
        if name == "grant":
            g.add_argument("permission", choices=["READ", "EDIT", "MANAGE"])
    ls = sub.add_parser("list")
    ls.add_argument("--resource-type")
    ls.add_argument("--resource-id")
    ls.add_argument("--principal")
    ck = sub.add_parser("create-key")
    ck.add_argument("principal")
    ck.add_argument("--group", action="append", default=[])
    ck.add_argument("--admin", action="store_true")
    ck.add_argument("--description")
    rk = sub.add_parser("revoke-key")
    rk.add_argument("key_id")
    sub.add_parser("list-keys")
    au = sub.add_parser("audit")
    au.add_argument("--max-results", type=int, default=50)
    au.add_argument("--page-token")
    au.add_argument("--principal")
    au.add_argument("--outcome", choices=["allowed", "denied", "failed"])
    return p


def _call(args: argparse.Namespace, token: str) -> tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]:
    c = args.command
    if c in ("grant", "revoke"):
        body = {"resource_type": args.resource_type, "resource_id": args.resource_id,
                "principal_type": "group" if args.group else "user", "principal": args.group or args.user}
        if c == "grant":
            body["permission"] = args.permission
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
    q = {k: v for k, v in (("max_results", str(args.max_results)), ("page_token", args.page_token),
                           ("principal", args.principal), ("outcome", args.outcome)) if v}
    return "GET", "audit", q, None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.url or not args.url.startswith(("http://", "https://")):
        print("mlflow-rbac: --url (or MLFLOW_TRACKING_URI) must be the server's http(s) URL", file=sys.stderr)
        return 2
    token = os.environ.get(args.token_env, "")
    if not token:
        print(f"mlflow-rbac: set {args.token_env} to an admin's bearer token or API key", file=sys.stderr)
        return 2
    method, path, query, body = _call(args, token)
    url = f"{args.url.rstrip('/')}/api/2.0/rbac/{path}"
    try:
        resp = requests.request(method, url, params=query, json=body, timeout=30,
                                headers={"Authorization": f"Bearer {token}"})
    except requests.RequestException as e:
        print(f"mlflow-rbac: cannot reach {redact_uri(url)}: {type(e).__name__}", file=sys.stderr)
        return 1
    try:
        data = resp.json()
    except ValueError:
        data = {"status": resp.status_code, "body": resp.text[:500]}
    out = json.dumps(data, indent=2, sort_keys=True)
    if resp.status_code >= 400:
        print(f"mlflow-rbac: HTTP {resp.status_code}: {redact_text(out, [token])}", file=sys.stderr)
        return 1
    print(out)  # a created key is printed once, here, on purpose
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
