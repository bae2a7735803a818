"""Bearer JWTs (validated against the test's JWKS endpoint), API keys and the bootstrap admin."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

WHOAMI = "/api/2.0/rbac/whoami"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_no_credentials_is_401_with_www_authenticate(server):
    resp = server.call("GET", "/api/2.0/mlflow/experiments/search?max_results=1")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith('Bearer realm="mlflow"')
    assert resp.json()["error_code"] == "UNAUTHENTICATED"


def test_valid_token_authenticates_user_and_groups(server, idp, user):
    resp = server.call("GET", WHOAMI, idp.token(user, ["team-a", "team-b"]))
    assert resp.status_code == 200, resp.text
    me = resp.json()
    assert {k: me[k] for k in ("principal", "groups", "is_admin", "kind", "key_id")} == {
        "principal": user, "groups": ["team-a", "team-b"], "is_admin": False, "kind": "user", "key_id": None}
    assert me["expires_at"] > time.time()


def test_admin_group_claim_makes_an_admin(server, idp, user):
    assert server.call("GET", WHOAMI, idp.token(user, ["mlflow-admins"])).json()["is_admin"] is True


@pytest.mark.parametrize("case, make, why", [
    ("expired", lambda idp, u: idp.token(u, lifetime=-60), "expired"),
    ("not-yet-valid", lambda idp, u: idp.token(u, nbf=int(time.time()) + 600), "not valid yet"),
    ("wrong-issuer", lambda idp, u: idp.token(u, iss="https://evil.test"), "issuer"),
    ("wrong-audience", lambda idp, u: idp.token(u, aud="another-app"), "audience"),
    ("no-exp", lambda idp, u: idp.token(u, exp=None), "'exp'"),
    ("unpublished-key", lambda idp, u: idp.sign_with_unpublished_key(u), "signature"),
    ("unknown-kid", lambda idp, u: idp.sign_with_unpublished_key(u, kid="nobody"), "unknown kid"),
    ("garbage", lambda idp, u: "not-a-jwt", "malformed"),
])
def test_bad_tokens_are_refused(server, idp, user, case, make, why):
    token = make(idp, user)
    resp = server.call("GET", WHOAMI, token)
    assert resp.status_code == 401, (case, resp.text)
    assert why in resp.json()["message"]
    assert "WWW-Authenticate" in resp.headers
    assert token not in resp.text


def test_alg_none_is_always_refused(server, idp, user):
    now = int(time.time())
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'iss': idp.issuer, 'aud': idp.audience, 'sub': user, 'exp': now + 300})}."
    resp = server.call("GET", WHOAMI, token)
    assert resp.status_code == 401
    assert "'none' is not allowed" in resp.json()["message"]


def test_hs256_signed_with_the_public_key_is_refused(server, idp, user):
    """Algorithm confusion: HS256 'signed' with the RSA public key must not pass."""
    jwks = json.loads((idp.dir / "jwks.json").read_text())
    public_pem = jwt.PyJWK(jwks["keys"][0]).key.public_bytes(
        encoding=__import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.PEM,
        format=__import__("cryptography.hazmat.primitives.serialization", fromlist=["PublicFormat"]).PublicFormat.SubjectPublicKeyInfo,
    )
    now = int(time.time())
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": "k1"})
    body = _b64({"iss": idp.issuer, "aud": idp.audience, "sub": user, "exp": now + 300})
    import hashlib
    import hmac
    sig = base64.urlsafe_b64encode(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    resp = server.call("GET", WHOAMI, f"{header}.{body}.{sig}")
    assert resp.status_code == 401
    assert "HS256" in resp.json()["message"]


def test_basic_auth_scheme_is_refused(server):
    resp = server.call("GET", WHOAMI, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert resp.status_code == 401
    assert "scheme" in resp.json()["message"]


def test_jwks_is_cached_and_refetched_for_an_unknown_kid(server, idp, user):
    server.call("GET", WHOAMI, idp.token(user))  # warm the cache
    before = idp.hits()
    for _ in range(3):  # distinct tokens, same known kid: no refetch
        assert server.call("GET", WHOAMI, idp.token(user)).status_code == 200
    assert idp.hits() == before
    kid = f"rotated-{user}"
    idp.add_key(kid)
    token = idp.token(user, kid=kid)
    # Tests on other workers share this server: a JWKS fetch they started just before add_key() can
    # still answer the old key set (seen once in CI); the new kid must be picked up by a later fetch.
    deadline = time.monotonic() + 30
    while (resp := server.call("GET", WHOAMI, token)).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert resp.status_code == 200, resp.text
    assert idp.hits() >= before + 1


def test_api_key_shown_once_stored_hashed_and_revocable(server, user):
    key_id, key = server.api_key(user, groups=["svc"])
    assert key.startswith(f"mlrbac_{key_id}_")
    who = server.call("GET", WHOAMI, key)
    assert who.status_code == 200
    me = who.json()
    assert {k: me[k] for k in ("principal", "groups", "is_admin", "kind", "key_id", "expires_at")} == {
        "principal": user, "groups": ["svc"], "is_admin": False, "kind": "api_key", "key_id": key_id, "expires_at": None}
    listed = server.admin("GET", "/api/2.0/rbac/api-keys").text
    assert key_id in listed and key not in listed and key.split("_", 2)[2] not in listed
    server.admin("DELETE", f"/api/2.0/rbac/api-keys/{key_id}")
    resp = server.call("GET", WHOAMI, key)
    assert resp.status_code == 401
    assert "revoked" in resp.json()["message"]


def test_made_up_api_key_is_refused(server, user):
    key_id, key = server.api_key(user)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    resp = server.call("GET", WHOAMI, forged)
    assert resp.status_code == 401
    assert "unknown API key" in resp.json()["message"]


def test_non_admin_cannot_use_admin_api(server, idp, user):
    resp = server.call("POST", "/api/2.0/rbac/api-keys", idp.token(user), json={"principal": user, "is_admin": True})
    assert resp.status_code == 403
    resp = server.call("GET", "/api/2.0/rbac/audit", idp.token(user))
    assert resp.status_code == 403


def test_bootstrap_admin_is_admin(server):
    resp = server.call("GET", WHOAMI, server.admin_key)
    assert resp.json()["principal"] == "bootstrap-admin" and resp.json()["is_admin"] is True
