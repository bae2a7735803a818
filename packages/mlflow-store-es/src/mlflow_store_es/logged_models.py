"""Logged models of the tracking store: create, get, search, finalize, tags, params, metrics,
delete, and run outputs (`log_outputs`)."""

from __future__ import annotations


class LoggedModelsMixin:
    """Mixed into EsTrackingStore (which provides `client`, `ix`, `_run_doc`, `_update_run`, ...)."""
