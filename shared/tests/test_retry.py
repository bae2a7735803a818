import pytest

from mlflow_plugins_shared.retry import call_with_retry, http_status_is_transient, retrying


class Flaky(Exception):
    pass


def test_retries_transient_then_succeeds():
    calls = []

    def fn():
        calls.append(1)
        if len(calls) < 3:
            raise Flaky()
        return "ok"

    assert call_with_retry(fn, lambda e: isinstance(e, Flaky), initial=0.001, maximum=0.01) == "ok"
    assert len(calls) == 3


def test_non_transient_raises_at_once():
    calls = []

    def fn():
        calls.append(1)
        raise ValueError("no")

    with pytest.raises(ValueError):
        call_with_retry(fn, lambda e: isinstance(e, Flaky), initial=0.001)
    assert len(calls) == 1


def test_gives_up_with_original_exception():
    calls = []

    def fn():
        calls.append(1)
        raise Flaky("still down")

    with pytest.raises(Flaky, match="still down"):
        retrying(lambda e: True, attempts=4, initial=0.001, maximum=0.002)(fn)
    assert len(calls) == 4


@pytest.mark.parametrize(("status", "transient"), [(429, True), (503, True), (500, True), (501, False), (404, False), (None, False)])
def test_http_status_is_transient(status, transient):
    assert http_status_is_transient(status) is transient
