import pytest
from mlflow.exceptions import MlflowException

from mlflow_plugins_shared.settings import (
    Setting,
    as_bool,
    as_bytes,
    as_choice,
    as_float,
    as_int,
    as_json_object,
    as_list,
    as_secret,
    parse_mapping,
    settings_table,
)


def test_default_when_unset_and_blank():
    s = Setting("X_TIMEOUT", as_float(minimum=0.1), default=30.0)
    assert s.get({}) == 30.0
    assert s.get({"X_TIMEOUT": "  "}) == 30.0
    assert s.get({"X_TIMEOUT": "2.5"}) == 2.5


def test_required_setting_names_variable_and_doc():
    s = Setting("X_URL", str, required=True, doc="Set it to the token endpoint URL.")
    with pytest.raises(MlflowException) as e:
        s.get({})
    assert "X_URL" in e.value.message and "token endpoint" in e.value.message
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    ("parse", "raw", "fragment"),
    [
        (as_int(minimum=1), "0", "at least 1"),
        (as_int(), "ten", "integer"),
        (as_float(maximum=5), "9", "at most 5"),
        (as_float(), "nan", "NaN"),
        (as_bool, "maybe", "true/false"),
        (as_choice(["basic", "post"]), "digest", "basic, post"),
        (as_bytes(), "12 parsecs", "size"),
        (as_json_object, "[1]", "JSON object"),
        (as_json_object, "{bad", "not valid JSON"),
    ],
)
def test_bad_values_name_setting_and_problem(parse, raw, fragment):
    with pytest.raises(MlflowException) as e:
        Setting("X_SETTING", parse).get({"X_SETTING": raw})
    assert "X_SETTING" in e.value.message
    assert fragment in e.value.message


def test_required_secret_setting_message_is_readable():
    with pytest.raises(MlflowException) as e:
        Setting("MLFLOW_X_TOKEN_FILE", str, required=True, doc="Path of the token file.").get({})
    assert e.value.message == "MLFLOW_X_TOKEN_FILE: is not set. Path of the token file."


def test_secret_values_are_never_shown():
    s = Setting("X_SECRET_SIZE", as_int(), secret=True)
    with pytest.raises(MlflowException) as e:
        s.get({"X_SECRET_SIZE": "hunter2-secret"})
    assert "hunter2-secret" not in e.value.message
    assert "(hidden)" in e.value.message
    secret = Setting("X_TOKEN", as_secret).get({"X_TOKEN": "abc123token"})
    assert secret.get() == "abc123token"
    assert "abc123token" not in repr(secret) and "abc123token" not in str(secret)


def test_parsers():
    assert as_bool("YES") is True and as_bool("off") is False
    assert as_bytes()("4MiB") == 4 * 1024**2
    assert as_bytes()("512k") == 512 * 1024
    assert as_bytes()("100") == 100
    assert as_choice(["Basic"])("basic") == "Basic"
    assert as_list()(" a, b,,c ") == ["a", "b", "c"]


def test_parse_mapping_json_and_pairs():
    assert parse_mapping('{"X-Team": "ml", "n": 3, "none": null}') == {"X-Team": "ml", "n": "3", "none": ""}
    assert parse_mapping("a=1, b = two=2 ,") == {"a": "1", "b": "two=2"}
    assert parse_mapping("") == {}
    with pytest.raises(ValueError, match="key=value") as e:
        parse_mapping("a=1,s3cr3t-token-value")
    assert "item 2" in str(e.value) and "s3cr3t" not in str(e.value)
    with pytest.raises(ValueError, match="empty key") as e:
        parse_mapping("=hunter2")
    assert "hunter2" not in str(e.value)


def test_settings_table_lists_each_variable():
    table = settings_table([Setting("A_B", str, default="x", doc="first"), Setting("C_D", str, required=True, doc="second")])
    assert "| `A_B` | `x` | first |" in table
    assert "| `C_D` | (required) | second |" in table
    listed = settings_table([Setting("E_F", as_list(), default=["RS256", "ES256"], doc="algs"), Setting("G", str, default=[])])
    assert "| `E_F` | `RS256,ES256` | algs |" in listed and "| `G` |  |" in listed
