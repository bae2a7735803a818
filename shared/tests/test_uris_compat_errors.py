import pytest
from mlflow.exceptions import MlflowException

from mlflow_plugins_shared import compat, errors
from mlflow_plugins_shared.uris import join_artifact_path, parse_uri, strip_credentials, validate_artifact_path


def test_parse_uri_parts_and_options():
    p = parse_uri("elasticsearch+https://u:p%2Fw@es.local:9243/?index_prefix=a&index_prefix=b&timeout=5")
    assert (p.scheme, p.host, p.port, p.username, p.password) == ("elasticsearch+https", "es.local", 9243, "u", "p/w")
    assert p.option("index_prefix") == "b" and p.option("missing", "d") == "d"


@pytest.mark.parametrize("bad", ["", "   ", "es://host:notaport", "x://a\x00b"])
def test_parse_uri_errors_are_clear(bad):
    with pytest.raises(MlflowException) as e:
        parse_uri(bad, what="tracking URI")
    assert "tracking URI" in e.value.message


def test_parse_uri_scheme_check_redacts_password():
    with pytest.raises(MlflowException) as e:
        parse_uri("ftp://u:topsecret@h/", schemes=("elasticsearch",))
    assert "topsecret" not in e.value.message and "elasticsearch" in e.value.message


def test_strip_credentials():
    assert strip_credentials("https://user:token@github.com/org/repo.git") == "https://github.com/org/repo.git"
    assert strip_credentials("git@github.com:org/repo.git") == "git@github.com:org/repo.git"
    assert strip_credentials("https://github.com/x") == "https://github.com/x"


@pytest.mark.parametrize(
    ("raw", "norm"),
    [(None, ""), ("", ""), ("a/b", "a/b"), ("a//b/", "a/b"), ("./a/./b", "a/b"), ("a\\b", "a/b"), ("ünï/cødé", "ünï/cødé")],
)
def test_validate_artifact_path_normalises(raw, norm):
    assert validate_artifact_path(raw) == norm


@pytest.mark.parametrize("bad", ["../x", "a/../../b", "/etc/passwd", "C:/x", "a\x00b", "a/ /b", "."])
def test_validate_artifact_path_rejects(bad):
    with pytest.raises(MlflowException) as e:
        validate_artifact_path(bad, allow_empty=False)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_validate_artifact_path_length():
    with pytest.raises(MlflowException, match="limit is 10"):
        validate_artifact_path("a" * 11, max_length=10)


def test_join_artifact_path():
    assert join_artifact_path("a/", None, "/b", "") == "a/b"
    assert join_artifact_path(None, "") == ""


def test_version_gates():
    assert compat.MLFLOW_3_PLUS == (compat.MLFLOW_VERSION.major >= 3)
    assert compat.mlflow_at_least("1.0")
    assert not compat.mlflow_at_least("99.0")


def test_error_helpers_codes_and_redaction():
    e = errors.config_error("MLFLOW_X_URL", "cannot reach https://u:pw12345@h/")
    assert e.error_code == "INVALID_PARAMETER_VALUE" and "pw12345" not in e.message and "MLFLOW_X_URL" in e.message
    e = errors.config_error("MLFLOW_BEARER_TOKEN_FILE", "is not set; point it at the token file")
    assert e.message == "MLFLOW_BEARER_TOKEN_FILE: is not set; point it at the token file"
    assert errors.unavailable("down").error_code == "TEMPORARILY_UNAVAILABLE"
    assert errors.unauthenticated("who", "tok-abc").error_code == "UNAUTHENTICATED"
    assert errors.not_found("x").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert errors.invalid_parameter("bad sekrit", "sekrit").message == "bad ***"
    assert errors.not_implemented("Store", "m").get_http_status_code() == 501
