"""The Flask app: authlib's AuthorizationServer with the client-credentials grant and JWT tokens."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import Flask, abort, jsonify, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from mlflow_testenv.oauth2_server.clients import ClientStore
from mlflow_testenv.oauth2_server.keys import load_or_create_key, public_jwks


class _ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class _JwtTokens(JWTBearerTokenGenerator):
    def __init__(self, issuer: str, key: dict[str, Any], audience: str, lifetime: int) -> None:
        super().__init__(issuer, alg="RS256", expires_generator=self._expires_in)
        self._key = key
        self.audience = audience
        self.lifetime = lifetime

    def _expires_in(self, client, grant_type) -> int:
        return client.token_lifetime or self.lifetime

    def get_jwks(self) -> dict[str, Any]:
        return {"keys": [self._key]}

    def get_extra_claims(self, client, grant_type, user, scope) -> dict[str, Any]:
        asked = request.form.get("audience") or request.form.get("resource")
        return {"aud": asked or client.audience or self.audience, "groups": list(client.groups)}


def _claimed_client_id() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            return unquote(base64.b64decode(header[6:]).decode().split(":", 1)[0])
        except Exception:
            return None
    return request.form.get("client_id")


def create_app(workdir: Path, *, issuer: str, audience: str, lifetime: int, admin_token: str) -> Flask:
    app = Flask("mlflow_testenv.oauth2_server")
    key = load_or_create_key(workdir)
    jwks = public_jwks(key)
    verify_keys = KeySet.import_key_set(jwks)
    store = ClientStore(workdir / "clients.json")
    tokens = _JwtTokens(issuer, key, audience, lifetime)
    server = AuthorizationServer(app, query_client=store.get, save_token=lambda token, req: None)
    server.register_token_generator("default", tokens)
    server.register_grant(_ClientCredentials)
    app.config["store"] = store

    def require_admin() -> None:
        if not secrets.compare_digest(request.headers.get("Authorization", ""), f"Bearer {admin_token}"):
            abort(401)

    faults: dict[str, dict[str, Any]] = {}  # client id -> {status, count, body}
    faults_lock = threading.Lock()

    @app.post("/token")
    def token():
        claimed = _claimed_client_id()
        store.count_request(claimed)
        with faults_lock:
            fault = faults.get(claimed or "")
            if fault and fault["count"] > 0:
                fault["count"] -= 1
                return fault["body"] or "injected fault", fault["status"], {"Content-Type": "text/plain"}
        return server.create_token_response()

    @app.post("/admin/faults")
    def set_faults():
        """Make the next `count` token requests of `client_id` answer `status` with a plain-text `body`."""
        require_admin()
        body = request.get_json(silent=True) or {}
        with faults_lock:
            faults[str(body.get("client_id", ""))] = {"status": int(body.get("status", 503)),
                                                      "count": int(body.get("count", 1)),
                                                      "body": str(body.get("body", ""))}
        return "", 204

    @app.get("/jwks")
    def jwks_endpoint():
        return jsonify(jwks)

    @app.get("/.well-known/openid-configuration")
    @app.get("/.well-known/oauth-authorization-server")
    def metadata():
        base = request.host_url.rstrip("/")
        return jsonify({
            "issuer": issuer,
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "introspection_endpoint": f"{base}/introspect",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })

    @app.post("/introspect")
    def introspect():
        """RFC 7662, simplified: any caller; active only if signed by us, unexpired, client not revoked."""
        raw = request.form.get("token", "")
        try:
            claims = jwt.decode(raw, verify_keys, algorithms=["RS256"]).claims
        except (JoseError, ValueError):
            return jsonify({"active": False})
        active = claims.get("exp", 0) > time.time() and store.get(claims.get("client_id")) is not None
        return jsonify({"active": True, **claims} if active else {"active": False})

    @app.get("/health")
    def health():
        return "OK"

    @app.post("/admin/clients")
    def register_client():
        require_admin()
        body = request.get_json(silent=True) or {}
        allowed = {"client_id", "client_secret", "groups", "scope", "token_lifetime", "audience"}
        c = store.register(**{k: v for k, v in body.items() if k in allowed})
        return jsonify({"client_id": c.client_id, "client_secret": c.client_secret}), 201

    @app.delete("/admin/clients/<client_id>")
    def revoke_client(client_id: str):
        require_admin()
        return ("", 204) if store.revoke(client_id) else ("", 404)

    @app.get("/admin/stats")
    def stats():
        require_admin()
        return jsonify(store.stats())

    return app
