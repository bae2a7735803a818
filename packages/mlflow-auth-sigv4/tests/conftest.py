"""Real servers: moto (IAM auth on, STS) for credentials, an `mlflow server`, and a SigV4-verifying gateway.

The verifier (SigV4Check) is independent of the plugin: it looks the key id up in moto's own store
(`/moto-api/data.json`: IAM access keys and STS sessions), the way AWS does, and recomputes the
signature of the request as received with botocore's canonical request and key derivation.
"""

from __future__ import annotations

import datetime
import hmac
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
import requests
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from mlflow_auth_sigv4.provider import forget_signers

from mlflow_testenv import session_service, start_service
from mlflow_testenv.oauth2_server.gateway import Denial, Gateway, Received

REGION = "eu-west-1"
_ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
_TRUST = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}


_AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
                   r"/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$")


class SigV4Check:
    def __init__(self, moto_url: str, region: str, service: str = "execute-api") -> None:
        self.moto_url = moto_url
        self.region = region
        self.service = service
        self.key_ids: list[str] = []
        self.signatures: list[str] = []

    def _secret(self, akid: str) -> tuple[str, str | None] | None:
        data = requests.get(f"{self.moto_url}/moto-api/data.json", timeout=10).json()
        for k in data.get("iam", {}).get("AccessKey", []):
            if k["access_key_id"] == akid and k.get("status", "Active") == "Active":
                return k["secret_access_key"], None
        for r in data.get("sts", {}).get("AssumedRole", []):
            if r["access_key_id"] == akid:
                return r["secret_access_key"], r["session_token"]
        return None

    def __call__(self, got: Received) -> Denial | None:
        h = {k.lower(): v for k, v in got.headers.items()}
        m = _AUTH.match(h.get("authorization", ""))
        if not m:
            return Denial(403, "MissingAuthenticationToken")
        if (m["region"], m["service"]) != (self.region, self.service):
            return Denial(403, f"wrong credential scope {m['region']}/{m['service']}")
        stamp = h.get("x-amz-date", "")
        try:
            when = datetime.datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return Denial(403, "bad X-Amz-Date")
        if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 300 or stamp[:8] != m["date"]:
            return Denial(403, "RequestExpired")
        found = self._secret(m["akid"])
        if found is None:
            return Denial(403, "InvalidClientTokenId")
        secret, session_token = found
        if session_token is not None and h.get("x-amz-security-token") != session_token:
            return Denial(403, "InvalidToken")
        signed = m["signed"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return Denial(403, "host and x-amz-date must be signed")
        headers = {name: h.get(name, "") for name in signed}
        aws = AWSRequest(method=got.method, url=f"http://{h['host']}{got.path}", data=got.body, headers=headers)
        aws.context["timestamp"] = stamp
        auth = SigV4Auth(ReadOnlyCredentials(m["akid"], secret, session_token), self.service, self.region)
        if auth.signed_headers(auth.headers_to_sign(aws)) != m["signed"]:
            return Denial(403, "SignedHeaders do not match the headers received")
        expected = auth.signature(auth.string_to_sign(aws, auth.canonical_request(aws)), aws)
        if not hmac.compare_digest(expected, m["sig"]):
            return Denial(403, "SignatureDoesNotMatch")
        self.key_ids.append(m["akid"])
        self.signatures.append(m["sig"])
        return None


@dataclass
class Iam:
    url: str
    key_id: str
    secret: str
    role_arn: str
    denied_key_id: str  # a user with no policy: may not assume the role
    denied_secret: str


@pytest.fixture(scope="session")
def iam() -> Iterator[Iam]:
    """A private moto server (IAM auth is process-wide in moto, so not the shared `s3` service)."""
    srv = start_service("s3", parent_pid=os.getpid(), record=False)
    url = srv.exports["MLFLOW_TESTENV_S3_URL"]
    try:
        client = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup",
                              aws_secret_access_key="setup")
        client.create_user(UserName="mlflow")
        key = client.create_access_key(UserName="mlflow")["AccessKey"]
        client.put_user_policy(UserName="mlflow", PolicyName="all", PolicyDocument=json.dumps(_ALLOW_ALL))
        client.create_user(UserName="nobody")
        nobody = client.create_access_key(UserName="nobody")["AccessKey"]
        role = client.create_role(RoleName="mlflow-client", AssumeRolePolicyDocument=json.dumps(_TRUST))["Role"]
        # From now on moto verifies every signature and IAM policy.
        requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        yield Iam(url, key["AccessKeyId"], key["SecretAccessKey"], role["Arn"], nobody["AccessKeyId"],
                  nobody["SecretAccessKey"])
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def mlflow_url(tmp_path_factory) -> str:
    return session_service("mlflow", tmp_path_factory)["MLFLOW_TESTENV_MLFLOW_URL"]


@pytest.fixture
def make_check():
    """SigV4Check for another moto server (the class lives here: conftest is not importable)."""
    return SigV4Check


@pytest.fixture
def trust_policy() -> dict:
    return _TRUST


@pytest.fixture
def check(iam) -> SigV4Check:
    return SigV4Check(iam.url, REGION)


@pytest.fixture
def verifier(mlflow_url, check) -> Iterator[Gateway]:
    gw = Gateway(mlflow_url, check).start()
    yield gw
    gw.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path) -> Iterator[None]:
    """No ambient AWS configuration leaks in; each test sets what it needs."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "MLFLOW_SIGV4_")) or name in ("MLFLOW_TRACKING_AUTH", "MLFLOW_TRACKING_TOKEN"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    forget_signers()
    yield
    forget_signers()


@pytest.fixture
def use_keys(monkeypatch):
    def use(key_id: str, secret: str, **extra: str) -> None:
        monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "sigv4")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        monkeypatch.setenv("MLFLOW_SIGV4_REGION", REGION)
        for k, v in extra.items():
            monkeypatch.setenv(k, v)

    return use
