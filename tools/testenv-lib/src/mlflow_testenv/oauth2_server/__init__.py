"""A real OAuth2 authorization server for tests, built on authlib (client-credentials grant).

Issues RS256 JWT access tokens (RFC 9068: iss, aud, exp, sub, client_id, scope, groups),
publishes its public keys at /jwks, counts token requests per client, and has a small
admin API (bearer admin token) to register/revoke clients and read the counters.
Run with `python -m mlflow_testenv.oauth2_server --workdir DIR --port N`.
"""
