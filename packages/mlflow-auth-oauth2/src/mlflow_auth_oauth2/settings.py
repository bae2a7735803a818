"""Every environment variable this package reads, declared once (read with `setting_errors.read`)."""

from __future__ import annotations

from typing import Any

from mlflow_plugins_shared.settings import Setting, as_choice, as_float, as_secret, as_str

TOKEN_URL = Setting("MLFLOW_OAUTH2_TOKEN_URL", as_str,
                    doc="Required. Token endpoint of the OAuth2 server (client-credentials grant).")
CLIENT_ID = Setting("MLFLOW_OAUTH2_CLIENT_ID", as_str, doc="Required. OAuth2 client id.")
CLIENT_SECRET = Setting("MLFLOW_OAUTH2_CLIENT_SECRET", as_secret, secret=True,
                        doc="Required unless MLFLOW_OAUTH2_CLIENT_SECRET_FILE is set. OAuth2 client secret.")
CLIENT_SECRET_FILE = Setting("MLFLOW_OAUTH2_CLIENT_SECRET_FILE", as_str,
                             doc="File holding the client secret instead (read at every token request, so rotation works).")
SCOPE = Setting("MLFLOW_OAUTH2_SCOPE", as_str, doc="Space-separated scopes to request.")
AUDIENCE = Setting("MLFLOW_OAUTH2_AUDIENCE", as_str, doc="`audience` form parameter to send.")
CLIENT_AUTH = Setting("MLFLOW_OAUTH2_CLIENT_AUTH", as_choice(["basic", "post"]), default="basic",
                      doc="How the client authenticates: `basic` (HTTP Basic header) or `post` (form fields).")
TIMEOUT = Setting("MLFLOW_OAUTH2_TIMEOUT", as_float(minimum=0.1), default=10.0,
                  doc="Timeout in seconds of one token request.")
REFRESH_MARGIN = Setting("MLFLOW_OAUTH2_REFRESH_MARGIN", as_float(minimum=0), default=60.0,
                         doc="Refresh this many seconds before `expires_in` runs out (at most a fifth of the lifetime).")
DEFAULT_EXPIRES_IN = Setting("MLFLOW_OAUTH2_DEFAULT_EXPIRES_IN", as_float(minimum=1), default=300.0,
                             doc="Lifetime assumed when the server sends no `expires_in` and the token is not a JWT.")

TOKEN_FILE = Setting("MLFLOW_BEARER_TOKEN_FILE", as_str,
                     doc="Required. File holding the bearer token; re-read when it changes (inode, size or mtime).")

TOKEN_COMMAND = Setting("MLFLOW_BEARER_TOKEN_COMMAND", as_str,
                        doc="Required. Command (split like a shell, run without one) printing a token, or JSON with `token`/`access_token` and "
                            "`expires_in`/`expires_at`, or a Kubernetes ExecCredential.")
COMMAND_TIMEOUT = Setting("MLFLOW_BEARER_TOKEN_COMMAND_TIMEOUT", as_float(minimum=0.1), default=30.0,
                          doc="Seconds the command may run.")
COMMAND_TTL = Setting("MLFLOW_BEARER_TOKEN_COMMAND_TTL", as_float(minimum=0), default=300.0,
                      doc="Cache time when the output states no expiry (0: run the command for every request).")

OAUTH2_SETTINGS: list[Setting[Any]] = [TOKEN_URL, CLIENT_ID, CLIENT_SECRET, CLIENT_SECRET_FILE, SCOPE, AUDIENCE, CLIENT_AUTH,
                   TIMEOUT, REFRESH_MARGIN, DEFAULT_EXPIRES_IN]
FILE_SETTINGS: list[Setting[Any]] = [TOKEN_FILE]
COMMAND_SETTINGS: list[Setting[Any]] = [TOKEN_COMMAND, COMMAND_TIMEOUT, COMMAND_TTL, REFRESH_MARGIN]
