"""A static JWKS file instead of a URL (no identity provider reachable from the server)."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from mlflow_app_rbac.config import load_config
from mlflow_app_rbac.identity import Authenticator, AuthError
from mlflow_app_rbac.store import RbacStore


@pytest.fixture
def setup(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "ec1", "use": "sig"})
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [public]}))
    cfg = load_config({"MLFLOW_RBAC_JWKS_FILE": str(tmp_path / "jwks.json"), "MLFLOW_RBAC_JWT_ISSUER": "https://i",
                       "MLFLOW_RBAC_JWT_AUDIENCE": "a", "MLFLOW_RBAC_GROUPS_CLAIM": "realm_access.roles",
                       "MLFLOW_RBAC_ADMIN_USERS": "root"})
    authn = Authenticator(cfg, RbacStore(cfg.database_uri.__class__(f"sqlite:///{tmp_path / 'r.db'}")))

    def token(**claims):
        now = int(time.time())
        body = {"iss": "https://i", "aud": "a", "sub": "alice", "exp": now + 60, **claims}
        return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="ES256", headers={"kid": "ec1"})
    return authn, token


def test_es256_token_from_a_static_key_set_with_nested_groups_claim(setup):
    authn, token = setup
    p = authn.authenticate(f"Bearer {token(realm_access={'roles': ['ds', 'ml']})}")
    assert (p.name, sorted(p.groups), p.is_admin) == ("alice", ["ds", "ml"], False)
    assert authn.authenticate(f"Bearer {token(sub='root')}").is_admin


def test_clock_skew_is_allowed_up_to_the_leeway(setup):
    authn, token = setup
    assert authn.authenticate(f"Bearer {token(exp=int(time.time()) - 10)}").name == "alice"  # leeway 30 s
    with pytest.raises(AuthError, match="expired"):
        authn.authenticate(f"Bearer {token(exp=int(time.time()) - 120)}")


def test_unknown_kid_with_a_static_key_set(setup):
    authn, _ = setup
    other = ec.generate_private_key(ec.SECP256R1())
    t = jwt.encode({"iss": "https://i", "aud": "a", "sub": "x", "exp": int(time.time()) + 60}, other,
                   algorithm="ES256", headers={"kid": "nope"})
    with pytest.raises(AuthError, match="unknown kid"):
        authn.authenticate(f"Bearer {t}")


def test_bad_key_file_is_named(tmp_path):
    (tmp_path / "jwks.json").write_text("{not json")
    cfg = load_config({"MLFLOW_RBAC_JWKS_FILE": str(tmp_path / "jwks.json"), "MLFLOW_RBAC_JWT_ISSUER": "i",
                       "MLFLOW_RBAC_JWT_AUDIENCE": "a"})
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="MLFLOW_RBAC_JWKS_FILE"):
        Authenticator(cfg, RbacStore(cfg.database_uri.__class__(f"sqlite:///{tmp_path / 'r.db'}")))
