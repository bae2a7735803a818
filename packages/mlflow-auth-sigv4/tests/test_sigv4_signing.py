"""sigv4 end to end: MLflow client -> provider -> independent SigV4 verifier -> real mlflow server."""

from __future__ import annotations

import io
import logging
import time
import uuid

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow_auth_sigv4.provider import Sigv4AuthProvider


def test_verifier_refuses_unsigned_requests(verifier):
    r = requests.get(f"{verifier.url}/api/2.0/mlflow/experiments/search", params={"max_results": 1}, timeout=10)
    assert r.status_code == 403


def test_client_logs_runs_and_every_request_verifies(verifier, check, iam, use_keys):
    use_keys(iam.key_id, iam.secret)
    mc = MlflowClient(tracking_uri=verifier.url)
    exp_id = mc.create_experiment(f"sigv4-{uuid.uuid4().hex}")
    run = mc.create_run(exp_id, tags={"note": "naïve ✓ – unicode body"})
    mc.log_param(run.info.run_id, "p", "a b/c?d=e&f")
    mc.log_metric(run.info.run_id, "m", 1.5)
    mc.set_terminated(run.info.run_id)
    found = mc.search_runs([exp_id], filter_string="params.p = 'a b/c?d=e&f'")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    assert found[0].data.tags["note"] == "naïve ✓ – unicode body"
    assert verifier.denied == [] and verifier.passed >= 6
    assert set(check.key_ids) == {iam.key_id}


def test_wrong_secret_fails_verification(verifier, iam, use_keys):
    use_keys(iam.key_id, "not-the-secret-0123456789")
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert "403" in str(e.value) or "SignatureDoesNotMatch" in str(e.value)
    assert [d.message for d in verifier.denied] == ["SignatureDoesNotMatch"]
    assert verifier.passed == 0


def test_artifact_upload_signed_over_the_file_bytes(verifier, iam, use_keys, tmp_path, monkeypatch):
    use_keys(iam.key_id, iam.secret)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", verifier.url)  # MLflow 2.x resolves mlflow-artifacts:/ with it
    mc = MlflowClient(tracking_uri=verifier.url)
    run = mc.create_run(mc.create_experiment(f"sigv4-{uuid.uuid4().hex}"))
    f = tmp_path / "model.bin"
    f.write_bytes(bytes(range(256)) * 64)
    mc.log_artifact(run.info.run_id, str(f))  # PUT with a file body through the proxied artifact store
    assert [a.path for a in mc.list_artifacts(run.info.run_id)] == ["model.bin"]
    (tmp_path / "back").mkdir()  # MLflow 2.x wants the destination to exist
    back = mc.download_artifacts(run.info.run_id, "model.bin", str(tmp_path / "back"))
    assert open(back, "rb").read() == f.read_bytes()
    assert verifier.denied == []


def test_signature_covers_the_exact_body(verifier, iam, use_keys):
    use_keys(iam.key_id, iam.secret)
    signer = Sigv4AuthProvider().get_auth()
    url = f"{verifier.url}/api/2.0/mlflow/experiments/create"
    name = f"sigv4-é-{uuid.uuid4().hex}"
    ok = requests.post(url, data=f'{{"name": "{name}"}}', headers={"Content-Type": "application/json"},
                       auth=signer, timeout=10)  # a str body with non-ASCII text: signed and sent as UTF-8
    assert ok.status_code == 200, ok.text
    assert MlflowClient(tracking_uri=verifier.url).get_experiment_by_name(name) is not None
    streamed = requests.post(url, data=iter([b'{"name": "', uuid.uuid4().hex.encode(), b'"}']),
                             headers={"Content-Type": "application/json"}, auth=signer, timeout=10)
    assert streamed.status_code == 200, streamed.text
    prepared = requests.Request("POST", url, data=b'{"name": "x-original"}', auth=signer,
                                headers={"Content-Type": "application/json"}).prepare()
    prepared.body = b'{"name": "x-tampered"}'  # same length, different bytes
    with requests.Session() as s:
        tampered = s.send(prepared, timeout=10)
    assert tampered.status_code == 403 and tampered.text == "SignatureDoesNotMatch"


def test_no_secret_or_signature_in_logs_or_repr(verifier, check, iam, use_keys, caplog):
    use_keys(iam.key_id, iam.secret)
    with caplog.at_level(logging.DEBUG):
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
        provider = Sigv4AuthProvider()
        shown = repr(provider) + repr(provider.get_auth()) + repr(provider.get_auth().__dict__)
    assert check.signatures
    for secret in (iam.secret, *check.signatures):
        assert secret not in caplog.text
        assert secret not in shown


def test_other_service_and_region_scopes(verifier, check, iam, use_keys):
    check.region, check.service = "us-west-2", "sagemaker"
    use_keys(iam.key_id, iam.secret, MLFLOW_SIGV4_REGION="us-west-2", MLFLOW_SIGV4_SERVICE="sagemaker")
    MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert verifier.denied == []
    check.region = "eu-west-1"
    with pytest.raises(MlflowException):
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert verifier.denied and "wrong credential scope" in verifier.denied[0].message


def test_region_from_aws_region_when_setting_unset(verifier, iam, use_keys, monkeypatch):
    use_keys(iam.key_id, iam.secret)
    monkeypatch.delenv("MLFLOW_SIGV4_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert verifier.denied == [] and verifier.passed == 1


def test_credentials_from_a_profile(verifier, iam, monkeypatch, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"[team]\naws_access_key_id = {iam.key_id}\naws_secret_access_key = {iam.secret}\n"
                     "region = eu-west-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "sigv4")
    monkeypatch.setenv("MLFLOW_SIGV4_PROFILE", "team")
    monkeypatch.setenv("MLFLOW_SIGV4_REGION", "eu-west-1")
    MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert verifier.denied == [] and verifier.passed == 1


def test_time_stamp_is_fresh_per_request(verifier, check, iam, use_keys):
    use_keys(iam.key_id, iam.secret)
    mc = MlflowClient(tracking_uri=verifier.url)
    mc.search_experiments(max_results=1)
    time.sleep(1.1)
    mc.search_experiments(max_results=1)
    assert len(set(check.signatures)) == 2 and verifier.denied == []


def test_seekable_body_is_rewound_after_hashing(verifier, iam, use_keys):
    use_keys(iam.key_id, iam.secret)
    name = f"sigv4-{uuid.uuid4().hex}"
    body = io.BytesIO(f'{{"name": "{name}"}}'.encode())
    r = requests.post(f"{verifier.url}/api/2.0/mlflow/experiments/create", data=body, auth=Sigv4AuthProvider().get_auth(),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 200, r.text
