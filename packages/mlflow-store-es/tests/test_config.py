import pytest
from mlflow.exceptions import MlflowException
from mlflow_store_es.config import SETTINGS, parse_store_uri

from mlflow_plugins_shared.settings import settings_table


def test_defaults(monkeypatch):
    monkeypatch.delenv("MLFLOW_STORE_ES_RETRY_SECONDS", raising=False)
    cfg = parse_store_uri("elasticsearch://es.local")
    assert (cfg.engine, cfg.url, cfg.index_prefix, cfg.shards, cfg.replicas, cfg.refresh, cfg.timeout) == (
        "elasticsearch", "http://es.local:9200", "mlflow", 1, 0, "true", 30.0)
    assert cfg.retry_seconds == 60.0  # rides out a single node's restart (25-45 s measured here)


def test_options_and_https():
    cfg = parse_store_uri("opensearch+https://os.local:9243/?index_prefix=team_a&shards=3&replicas=2&refresh=wait_for&timeout=5")
    assert (cfg.engine, cfg.url, cfg.index_prefix, cfg.shards, cfg.replicas, cfg.refresh, cfg.timeout) == (
        "opensearch", "https://os.local:9243", "team_a", 3, 2, "wait_for", 5.0)


@pytest.mark.parametrize("uri, fragment", [
    ("elasticsearch://", "has no host"),
    ("elasticsearch://h:notaport", "Malformed"),
    ("elasticsearch://h/some/path", "has a path"),
    ("elasticsearch://h/?shards=0", "shards"),
    ("elasticsearch://h/?replicas=-1", "replicas"),
    ("elasticsearch://h/?refresh=sometimes", "refresh"),
    ("elasticsearch://h/?timeout=abc", "timeout"),
    ("elasticsearch://h/?index_prefix=UPPER", "index_prefix"),
    ("elasticsearch://h/?index_prefix=a*b", "index_prefix"),
    ("elasticsearch://h/?colour=blue", "unknown option"),
    ("mongodb://h", "Unsupported"),
])
def test_malformed_uris(uri, fragment):
    with pytest.raises(MlflowException, match=fragment) as e:
        parse_store_uri(uri)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_credentials_from_uri_never_shown():
    with pytest.raises(MlflowException) as e:
        parse_store_uri("elasticsearch://admin:hunter2-secret@h:9200/?shards=x")
    assert "hunter2-secret" not in str(e.value)
    cfg = parse_store_uri("elasticsearch://admin:hunter2-secret@h:9200")
    assert cfg.username == "admin" and cfg.password.get() == "hunter2-secret"
    assert "hunter2-secret" not in repr(cfg) and "hunter2" not in cfg.url


def test_credentials_from_env(monkeypatch):
    monkeypatch.setenv("MLFLOW_STORE_ES_USERNAME", "svc")
    monkeypatch.setenv("MLFLOW_STORE_ES_PASSWORD", "pw-from-env")
    monkeypatch.setenv("MLFLOW_STORE_ES_API_KEY", "a2V5OnNlY3JldA==")
    monkeypatch.setenv("MLFLOW_STORE_ES_CA_CERTS", "/etc/ssl/ca.pem")
    monkeypatch.setenv("MLFLOW_STORE_ES_VERIFY_CERTS", "false")
    cfg = parse_store_uri("elasticsearch+https://h")
    assert cfg.username == "svc" and cfg.password.get() == "pw-from-env" and cfg.api_key.get() == "a2V5OnNlY3JldA=="
    assert cfg.ca_certs == "/etc/ssl/ca.pem" and cfg.verify_certs is False
    assert "pw-from-env" not in repr(cfg) and "a2V5OnNlY3JldA" not in repr(cfg)


def test_bad_env_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("MLFLOW_STORE_ES_VERIFY_CERTS", "maybe")
    with pytest.raises(MlflowException, match="MLFLOW_STORE_ES_VERIFY_CERTS"):
        parse_store_uri("elasticsearch://h")


def test_readme_lists_every_setting():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert settings_table(SETTINGS) in readme
