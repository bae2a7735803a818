import logging

import pytest

from mlflow_plugins_shared.logs import get_logger, register_secret
from mlflow_plugins_shared.redact import Secret, redact_headers, redact_text, redact_uri


def test_redact_uri_password_and_query_secrets():
    out = redact_uri("postgresql://user:p%40ss@db:5432/x?sslmode=require&password=abc&api_key=k")
    assert "p%40ss" not in out and "abc" not in out and "=k" not in out
    assert out.startswith("postgresql://user:***@db:5432/x?")
    assert "sslmode=require" in out


@pytest.mark.parametrize("uri", ["elasticsearch://localhost:9200/?index_prefix=mlflow", "sqlite:////abs/x.db/a",
                                 "sqlite:///rel.db", "mssql+pyodbc://h/db?driver=ODBC+Driver+18+for+SQL+Server"])
def test_redact_uri_without_secrets_is_unchanged(uri):
    assert redact_uri(uri) == uri


def test_redact_headers():
    h = redact_headers({"Authorization": "Bearer abc", "X-Api-Key": "k", "Accept": "json"})
    assert h == {"Authorization": "***", "X-Api-Key": "***", "Accept": "json"}


def test_redact_text_patterns():
    text = (
        "connect https://bob:hunter2@host/x failed; Authorization: Bearer abcdef123456; "
        "password=swordfish token: tok_123 AKIAABCDEFGHIJKLMNOP "
        "Signature=0123456789abcdef0123456789abcdef jwt eyJhbGciOi.eyJzdWIiOiJ4In0.sig"
    )
    out = redact_text(text)
    for secret in ("hunter2", "abcdef123456", "swordfish", "tok_123", "ABCDEFGHIJKLMNOP", "0123456789abcdef0123", "eyJzdWIiOiJ4In0"):
        assert secret not in out, secret
    assert "bob" in out  # user names are not secrets


@pytest.mark.parametrize("prose", [
    "'TOKEN': expected VAR: 'secret-name/key', got 'no-key'",
    "MLFLOW_BEARER_TOKEN_FILE: is not set",
    "the token: expired",
])
def test_redact_text_keeps_prose_after_sensitive_names(prose):
    assert redact_text(prose) == prose


@pytest.mark.parametrize(("text", "hidden"), [
    ('{"client_secret": "plain words too"}', "plain words too"),
    ("api_key=abc", "abc"),
    ("token: Zx9_long", "Zx9_long"),
])
def test_redact_text_masks_credential_values(text, hidden):
    assert hidden not in redact_text(text)


def test_redact_text_known_secret_values():
    assert redact_text("boom: s3cr3t-value in text", secrets=["s3cr3t-value", None, ""]) == "boom: *** in text"


def test_secret_repr():
    s = Secret("abc")
    assert repr(s) == "Secret('***')" and str(s) == "Secret('***')"
    assert s.get() == "abc" and bool(s) and not Secret("")
    assert s == Secret("abc") and hash(s) == hash(Secret("abc"))


def test_logger_scrubs_secrets(caplog):
    logger = get_logger("mlflow_fake_plugin.sub")
    register_secret("mlflow_fake_plugin", "literal-secret-99")
    with caplog.at_level(logging.DEBUG, logger="mlflow_fake_plugin"):
        logger.warning("token=%s and %s", "abc123", "literal-secret-99")
    assert "abc123" not in caplog.text and "literal-secret-99" not in caplog.text
    assert "token=***" in caplog.text


def test_settings_that_name_a_kind_of_credential_stay_readable():
    from mlflow_plugins_shared.redact import redact_text

    msg = "MLFLOW_OSS_REGION: is required for signature V4 (MLFLOW_OSS_SIGNATURE_VERSION=v4). Set it."
    assert redact_text(msg) == msg
    assert redact_text("token_type=bearer, MLFLOW_OAUTH2_TOKEN_URL=https://idp/t") == \
        "token_type=bearer, MLFLOW_OAUTH2_TOKEN_URL=https://idp/t"
    # the value of such a setting is still a URI: credentials and secret query parameters in it are masked
    out = redact_text("MLFLOW_OAUTH2_TOKEN_URL=https://u:hunter2pw@idp/t?token=s3cr3tvalue")
    assert "hunter2pw" not in out and "s3cr3tvalue" not in out
    # and real secrets beside it are not
    assert "hunter2x" not in redact_text("MLFLOW_X_SIGNATURE_VERSION=v4 password=hunter2x")
