"""`mlflow-rbac` CLI against the real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mlflow_app_rbac.cli import main
from mlflow_app_rbac.mlflow_compat import has_skills


def _run(capsys, monkeypatch, server, token, *args):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    code = main(["--url", server.url, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_grant_list_revoke(server, idp, user, capsys, monkeypatch):
    exp_id = server.experiment()
    get = f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}"
    code, out, _ = _run(capsys, monkeypatch, server, server.admin_key, "grant", "experiment", exp_id, "--user", user, "READ")
    assert code == 0 and json.loads(out)["grant"]["permission"] == "READ"
    assert server.call("GET", get, idp.token(user)).status_code == 200
    code, out, _ = _run(capsys, monkeypatch, server, server.admin_key, "list", "--principal", user)
    assert [(g["resource_id"], g["permission"]) for g in json.loads(out)["grants"]] == [(exp_id, "READ")]
    code, out, _ = _run(capsys, monkeypatch, server, server.admin_key, "revoke", "experiment", exp_id, "--user", user)
    assert code == 0 and json.loads(out) == {"removed": True}
    assert server.call("GET", get, idp.token(user)).status_code == 403


def test_create_and_revoke_key(server, user, capsys, monkeypatch):
    code, out, _ = _run(capsys, monkeypatch, server, server.admin_key, "create-key", user, "--group", "svc")
    data = json.loads(out)
    key, key_id = data["key"], data["api_key"]["key_id"]
    assert server.call("GET", "/api/2.0/rbac/whoami", key).json()["groups"] == ["svc"]
    code, out, _ = _run(capsys, monkeypatch, server, server.admin_key, "list-keys")
    assert key_id in out and key not in out
    assert _run(capsys, monkeypatch, server, server.admin_key, "revoke-key", key_id)[0] == 0
    assert server.call("GET", "/api/2.0/rbac/whoami", key).status_code == 401


def test_non_admin_gets_a_clear_error_without_the_token(server, idp, user, capsys, monkeypatch):
    token = idp.token(user)
    code, _, err = _run(capsys, monkeypatch, server, token, "list-keys")
    assert code == 1 and "HTTP 403" in err and token not in err


def test_missing_url_and_token_are_explained(capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    assert main(["list"]) == 2
    assert "MLFLOW_TRACKING_URI" in capsys.readouterr().err
    assert main(["--url", "http://127.0.0.1:9", "list"]) == 2
    assert "MLFLOW_TRACKING_TOKEN" in capsys.readouterr().err


# --- the CLI as a user runs it: the installed `mlflow-rbac` script in its own process -----------------
SCRIPT = Path(sys.executable).parent / "mlflow-rbac"


@dataclass
class Ran:
    code: int
    out: str
    err: str  # without -X importtime's lines
    modules: set[str]  # every module the process imported

    def json(self) -> Any:
        return json.loads(self.out)


CA_VARS = ("MLFLOW_TRACKING_SERVER_CERT_PATH", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


def cli(*args: str, token: str | None = None, url: str | None = None, env_extra: dict[str, str] | None = None) -> Ran:
    """Run `mlflow-rbac ARGS` under `python -X importtime` (which lists every module it imports)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", *CA_VARS)}
    env.update(env_extra or {})
    if token is not None:
        env["MLFLOW_TRACKING_TOKEN"] = token
    if url is not None:
        env["MLFLOW_TRACKING_URI"] = url
    done = subprocess.run([sys.executable, "-X", "importtime", str(SCRIPT), *args], env=env,
                          capture_output=True, text=True, timeout=120)
    err, modules = [], set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":  # the header line
                modules.add(name)
        else:
            err.append(line)
    assert "Traceback" not in done.stderr, done.stderr
    return Ran(done.returncode, done.stdout, "\n".join(err), modules)


def _mlflow_modules(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "mlflow" or m.startswith("mlflow."))


def test_the_cli_never_imports_mlflow(server, idp, user):
    """Importing MLflow costs ~5 s; no command needs it (the server does the lookups)."""
    exp_name = f"cli-{uuid.uuid4().hex[:10]}"
    server.experiment(name=exp_name)
    runs = {
        "--help": cli("--help"),
        "no URL": cli("list"),
        "list": cli("list", "--principal", user, token=server.admin_key, url=server.url),
        "grant": cli("grant", "experiment", exp_name, "--user", user, "READ", token=server.admin_key, url=server.url),
        "refused grant": cli("grant", "experiment", "999999999", "--user", user, "READ",
                             token=server.admin_key, url=server.url),
        "whoami": cli("whoami", token=idp.token(user), url=server.url),
        "audit": cli("audit", "--max-results", "1", token=server.admin_key, url=server.url),
    }
    assert [r.code for r in runs.values()] == [0, 2, 0, 0, 1, 0, 0], {k: r.err for k, r in runs.items()}
    for what, ran in runs.items():
        assert "mlflow_app_rbac.cli" in ran.modules, what  # the importtime listing works
        assert _mlflow_modules(ran.modules) == [], f"`mlflow-rbac {what}` imported MLflow"
        assert "mlflow_plugins_shared" not in ran.modules, what  # its __init__ imports MLflow
        assert "requests" not in ran.modules, what  # 0.1-0.6 s here; the standard library makes the one call


def test_grant_by_experiment_name_resolves_to_its_id(server, idp, user):
    group = f"ds-{user}"
    name = f"alice-exp-{uuid.uuid4().hex[:8]}"
    exp_id = server.experiment(name=name)
    ran = cli("grant", "experiment", name, "--group", group, "EDIT", token=server.admin_key, url=server.url)
    assert ran.code == 0, ran.err
    grant = ran.json()["grant"]
    assert (grant["resource_id"], grant["principal_type"], grant["permission"]) == (exp_id, "group", "EDIT")
    assert f"experiment name {name!r} resolved to experiment id {exp_id}" in ran.err
    # the grant has its effect: a member of the group reads and edits the experiment
    token = idp.token(user, [group])
    assert server.call("GET", f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}", token).status_code == 200
    assert server.call("POST", "/api/2.0/mlflow/runs/create", token, json={"experiment_id": exp_id}).status_code == 200
    # listing and revoking by name mean the same experiment
    listed = cli("list", "--resource-type", "experiment", "--resource-id", name, token=server.admin_key, url=server.url)
    assert [(g["resource_id"], g["principal"]) for g in listed.json()["grants"] if g["principal_type"] == "group"] \
        == [(exp_id, group)]
    ran = cli("revoke", "experiment", name, "--group", group, token=server.admin_key, url=server.url)
    assert ran.code == 0 and ran.json() == {"removed": True}
    assert server.call("GET", f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}", token).status_code == 403


def _grants_of(server, principal: str) -> list[tuple[str, str]]:
    rows = server.admin("GET", "/api/2.0/rbac/grants", params={"principal": principal}).json()["grants"]
    return [(g["resource_type"], g["resource_id"]) for g in rows]


def test_grant_on_a_name_that_is_no_experiment_is_refused(server, user):
    name = f"alice-exp-{uuid.uuid4().hex[:8]}"  # no experiment has this name
    for extra in ([], ["--allow-missing"]):  # pre-provisioning is for ids: a name cannot be resolved yet
        ran = cli("grant", "experiment", name, "--group", "data-science", "EDIT", *extra,
                  token=server.admin_key, url=server.url)
        assert ran.code == 1 and ran.out == ""
        assert "HTTP 404 RESOURCE_DOES_NOT_EXIST" in ran.err
        assert f"no experiment is named {name!r}" in ran.err and "experiment's id (e.g. '42')" in ran.err
    assert ("experiment", name) not in _grants_of(server, "data-science")


def test_grant_on_a_missing_experiment_id_needs_allow_missing(server, user):
    ran = cli("grant", "experiment", "999999", "--user", user, "EDIT", token=server.admin_key, url=server.url)
    assert ran.code == 1 and ran.out == ""
    assert "experiment '999999' does not exist" in ran.err and "--allow-missing" in ran.err
    assert _grants_of(server, user) == []
    ran = cli("grant", "experiment", "999999", "--user", user, "EDIT", "--allow-missing",
              token=server.admin_key, url=server.url)
    assert ran.code == 0, ran.err
    data = ran.json()
    assert data["resource_exists"] is False and data["grant"]["resource_id"] == "999999"
    assert "does not exist yet" in ran.err  # the note, on stderr as well
    assert _grants_of(server, user) == [("experiment", "999999")]


def test_an_experiment_id_is_stored_the_way_mlflow_spells_it(server, idp, user):
    exp_id = server.experiment()
    ran = cli("grant", "experiment", f"00{exp_id}", "--user", user, "READ", token=server.admin_key, url=server.url)
    assert ran.code == 0, ran.err
    assert ran.json()["grant"]["resource_id"] == exp_id
    assert server.call("GET", f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}",
                       idp.token(user)).status_code == 200


@pytest.mark.parametrize("prompt", [False, True], ids=["model", "prompt"])
def test_grant_on_a_registered_model_or_prompt_checks_it_exists(server, idp, user, prompt):
    name = f"churn-{uuid.uuid4().hex[:8]}"
    ran = cli("grant", "registered_model", name, "--user", user, "READ", token=server.admin_key, url=server.url)
    assert ran.code == 1 and f"registered model or prompt {name!r} does not exist" in ran.err
    assert "--allow-missing" in ran.err and _grants_of(server, user) == []
    body: dict[str, Any] = {"name": name}
    if prompt:
        body["tags"] = [{"key": "mlflow.prompt.is_prompt", "value": "true"}]
    server.admin("POST", "/api/2.0/mlflow/registered-models/create", json=body)
    ran = cli("grant", "registered_model", name, "--user", user, "READ", token=server.admin_key, url=server.url)
    assert ran.code == 0 and ran.json()["resource_exists"] is True, ran.err
    assert server.call("GET", f"/api/2.0/mlflow/registered-models/get?name={name}", idp.token(user)).status_code == 200
    other = f"{name}-later"
    ran = cli("grant", "registered_model", other, "--user", user, "READ", "--allow-missing",
              token=server.admin_key, url=server.url)
    assert ran.code == 0 and ran.json()["resource_exists"] is False


@pytest.mark.skipif(not has_skills(), reason="this MLflow has no Skills registry (added in 3.18)")
def test_grant_on_a_skill_checks_it_exists_and_an_organization_is_a_namespace(server, user):
    org, name = f"org{uuid.uuid4().hex[:8]}.io", f"s{uuid.uuid4().hex[:10]}"
    ran = cli("grant", "skill", f"@{org}/{name}", "--user", user, "EDIT", token=server.admin_key, url=server.url)
    assert ran.code == 1 and f"skill '@{org}/{name}' does not exist" in ran.err
    # an organization without skills yet: granting EDIT on it is how someone may create its first skill
    ran = cli("grant", "skill_organization", org, "--user", user, "EDIT", token=server.admin_key, url=server.url)
    assert ran.code == 0 and ran.json()["resource_exists"] is True, ran.err
    server.admin("POST", "/api/3.0/mlflow/skills", json={"name": name, "organization": org})
    ran = cli("grant", "skill", f"@{org}/{name}", "--user", user, "EDIT", token=server.admin_key, url=server.url)
    assert ran.code == 0, ran.err


def test_whoami_for_a_user_token(server, idp, user):
    server.grant("experiment", server.experiment(), user, "READ")
    token = idp.token(user, ["data-science"], lifetime=600)
    ran = cli("whoami", token=token, url=server.url)
    assert ran.code == 0, ran.err
    me = ran.json()
    assert (me["principal"], me["kind"], me["groups"], me["is_admin"]) == (user, "user", ["data-science"], False)
    assert me["admin_because"] == [] and me["key_id"] is None
    assert time.time() + 500 < me["expires_at"] <= time.time() + 600
    assert [g["permission"] for g in me["grants"]] == ["READ"]
    assert me["server"] == server.url and me["credential_from"] == "MLFLOW_TRACKING_TOKEN"
    assert token not in ran.out + ran.err


def test_whoami_says_why_someone_is_an_admin(server, idp, user):
    me = cli("whoami", token=idp.token(user, ["mlflow-admins"]), url=server.url).json()
    assert me["is_admin"] is True and me["admin_because"] == ["group(s) mlflow-admins in MLFLOW_RBAC_ADMIN_GROUPS"]
    me = cli("whoami", token=server.admin_key, url=server.url).json()
    assert (me["principal"], me["kind"]) == ("bootstrap-admin", "bootstrap")
    assert me["admin_because"] == ["the bootstrap admin key (MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY)"]
    key_id, key = server.api_key(f"ci-{user}", groups=["svc"], is_admin=True)
    me = cli("whoami", token=key, url=server.url).json()
    assert (me["principal"], me["kind"], me["key_id"], me["groups"]) == (f"ci-{user}", "api_key", key_id, ["svc"])
    assert me["admin_because"] == [f"API key {key_id} was created as an admin key (is_admin)"]


def test_whoami_with_a_bad_or_no_credential_says_so(server, idp, user):
    ran = cli("whoami", token=idp.token(user, lifetime=-60), url=server.url)
    assert ran.code == 1 and "HTTP 401 UNAUTHENTICATED" in ran.err and "expired" in ran.err
    ran = cli("whoami", url=server.url)
    assert ran.code == 2 and "set MLFLOW_TRACKING_TOKEN to your bearer token or API key" in ran.err


def test_errors_name_the_problem_without_secrets(server, idp):
    secret = "s3cr3t-password"
    ran = cli("--url", "http://127.0.0.1:9", "list", token="tok-" + secret)
    assert ran.code == 1
    assert ran.err == "mlflow-rbac: cannot reach http://127.0.0.1:9/api/2.0/rbac/grants: connection refused " \
                      "(ConnectionRefusedError)"
    assert secret not in ran.err + ran.out
    ran = cli("--url", f"http://admin:{secret}@127.0.0.1:9", "list", token="tok-" + secret)
    assert ran.code == 2 and "--url must not hold credentials (got http://127.0.0.1:9 with a user name)" in ran.err
    assert secret not in ran.err + ran.out
    ran = cli("--url", f"{server.url}/?token={secret}", "list", token=server.admin_key)
    assert ran.code == 2 and "--url must be the server's root URL, without a query string" in ran.err
    assert secret not in ran.err + ran.out
    not_rbac = idp.url.rsplit("/", 1)[0]  # the test IdP's JWKS server answers 404 (HTML) elsewhere
    ran = cli("--url", not_rbac, "list-keys", token=server.admin_key)
    assert ran.code == 1 and "does not serve the rbac admin API" in ran.err and server.admin_key not in ran.err


# --- TLS and redirects, against a small HTTPS server with a self-signed certificate -----------------------
@pytest.fixture
def https_whoami(tmp_path):
    """An HTTPS server on 127.0.0.1 answering `whoami`, and `redirect` with a 302 elsewhere; its cert file."""
    import datetime
    import ipaddress
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            if self.path.startswith("/redirect/"):
                self.send_response(302)
                self.send_header("Location", "https://elsewhere.example/api/2.0/rbac/whoami?sig=abc")
                self.end_headers()
                return
            body = json.dumps({"principal": "tls-user", "auth": self.headers.get("Authorization")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", str(cert_file), seen
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("variable", ["MLFLOW_TRACKING_SERVER_CERT_PATH", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_tls_is_verified_against_the_bundle_the_environment_names(https_whoami, variable):
    url, cert, _ = https_whoami
    ran = cli("whoami", token="t0ken", url=url, env_extra={variable: cert})
    assert ran.code == 0, ran.err
    assert ran.json()["principal"] == "tls-user" and ran.json()["auth"] == "Bearer t0ken"


def test_an_unknown_certificate_is_refused(https_whoami):
    url, _, seen = https_whoami
    ran = cli("whoami", token="t0ken", url=url)
    assert ran.code == 1 and ran.err.startswith(f"mlflow-rbac: cannot reach {url}/api/2.0/rbac/whoami: its TLS "
                                                "certificate is not trusted; set MLFLOW_TRACKING_SERVER_CERT_PATH")
    assert ran.err.endswith("(SSLCertVerificationError)")
    assert seen == []


def test_redirects_are_not_followed(https_whoami):
    url, cert, seen = https_whoami
    ran = cli("--url", f"{url}/redirect", "whoami", token="t0ken", env_extra={"REQUESTS_CA_BUNDLE": cert})
    assert ran.code == 1 and "redirects to https://elsewhere.example/api/2.0/rbac/whoami;" in ran.err
    assert "does not follow redirects" in ran.err and "sig=abc" not in ran.err and "t0ken" not in ran.err
    assert seen == ["/redirect/api/2.0/rbac/whoami"]
