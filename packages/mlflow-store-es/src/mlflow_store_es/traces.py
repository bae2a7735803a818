"""Traces of the tracking store: trace infos, tags, search, delete, spans (`log_spans`,
`batch_get_traces`) and links to runs."""

from __future__ import annotations


class TracesMixin:
    """Mixed into EsTrackingStore (which provides `client`, `ix`, `_run_doc`, ...)."""
