"""Configuration by file and environment: clear errors naming the setting, secrets never shown."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow_app_rbac.config import ALL_SETTINGS, load_config
from mlflow_app_rbac.permissions import Permission

from mlflow_plugins_shared.settings import settings_table

BASE = {"MLFLOW_RBAC_JWKS_URL": "http://idp/jwks.json", "MLFLOW_RBAC_JWT_ISSUER": "https://idp",
        "MLFLOW_RBAC_JWT_AUDIENCE": "mlflow"}


def test_environment_settings():
    cfg = load_config({**BASE, "MLFLOW_RBAC_ADMIN_GROUPS": "a, b", "MLFLOW_RBAC_DEFAULT_PERMISSION": "read"})
    assert cfg.admin_groups == {"a", "b"} and cfg.default_permission is Permission.READ
    assert cfg.algorithms == ["RS256", "ES256"] and cfg.jwt_enabled


def test_file_then_environment_override(tmp_path):
    f = tmp_path / "rbac.toml"
    f.write_text('jwks_url = "http://file/jwks.json"\njwt_issuer = "https://file"\njwt_audience = ["a", "b"]\n'
                 'admin_users = ["root"]\npublic_ui = false\n')
    cfg = load_config({"MLFLOW_RBAC_CONFIG_FILE": str(f), "MLFLOW_RBAC_JWT_ISSUER": "https://env"})
    assert (cfg.jwks_url, cfg.issuer, cfg.audience) == ("http://file/jwks.json", "https://env", ["a", "b"])
    assert cfg.admin_users == {"root"} and cfg.public_ui is False


@pytest.mark.parametrize("env, names", [
    ({**BASE, "MLFLOW_RBAC_JWT_ALGORITHMS": "none"}, ["MLFLOW_RBAC_JWT_ALGORITHMS", "'none'"]),
    ({**BASE, "MLFLOW_RBAC_JWT_ALGORITHMS": "RS256,HS256"}, ["MLFLOW_RBAC_JWT_ALGORITHMS", "HS"]),
    ({**BASE, "MLFLOW_RBAC_JWT_LEEWAY_SECONDS": "-1"}, ["MLFLOW_RBAC_JWT_LEEWAY_SECONDS", "at least"]),
    ({**BASE, "MLFLOW_RBAC_DEFAULT_PERMISSION": "OWNER"}, ["MLFLOW_RBAC_DEFAULT_PERMISSION", "READ"]),
    ({"MLFLOW_RBAC_JWKS_URL": "http://idp/jwks.json", "MLFLOW_RBAC_JWT_AUDIENCE": "m"}, ["MLFLOW_RBAC_JWT_ISSUER"]),
    ({"MLFLOW_RBAC_JWKS_URL": "http://idp/jwks.json", "MLFLOW_RBAC_JWT_ISSUER": "i"}, ["MLFLOW_RBAC_JWT_AUDIENCE"]),
    ({}, ["nobody could ever authenticate"]),
    ({"MLFLOW_RBAC_CONFIG_FILE": "/nonexistent/rbac.toml"}, ["MLFLOW_RBAC_CONFIG_FILE", "does not exist"]),
])
def test_bad_settings_name_the_variable(env, names):
    with pytest.raises(MlflowException) as e:
        load_config(env)
    for n in names:
        assert n in e.value.message


def test_unknown_file_key_is_named(tmp_path):
    f = tmp_path / "rbac.toml"
    f.write_text('jwks_uri = "http://x"\n')
    with pytest.raises(MlflowException) as e:
        load_config({"MLFLOW_RBAC_CONFIG_FILE": str(f)})
    assert "'jwks_uri'" in e.value.message and "jwks_url" in e.value.message


def test_invalid_toml_is_reported(tmp_path):
    f = tmp_path / "rbac.toml"
    f.write_text("jwks_url = \n")
    with pytest.raises(MlflowException, match="not valid TOML"):
        load_config({"MLFLOW_RBAC_CONFIG_FILE": str(f)})


def test_short_bootstrap_key_refused_without_showing_it():
    with pytest.raises(MlflowException) as e:
        load_config({"MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY": "short-secret-value"})
    assert "MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY" in e.value.message
    assert "short-secret-value" not in e.value.message


def test_secrets_hidden_in_repr():
    cfg = load_config({"MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY": "k" * 30,
                       "MLFLOW_RBAC_DATABASE_URI": "postgresql://u:hunter2@db/rbac"})
    assert "k" * 30 not in repr(cfg) and "hunter2" not in repr(cfg)


def test_bad_database_uri_is_named_and_redacted():
    from mlflow_app_rbac.store import RbacStore

    from mlflow_plugins_shared.redact import Secret

    with pytest.raises(MlflowException) as e:
        RbacStore(Secret("nosuchdb://u:hunter2@h/x"))
    assert "MLFLOW_RBAC_DATABASE_URI" in e.value.message and "hunter2" not in e.value.message


def test_readme_documents_every_setting():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert settings_table(ALL_SETTINGS) in readme
